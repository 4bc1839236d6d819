"""A job on a cluster node:
``python -m outflowfile.executors.cluster.nodejob --workdir DIR [--db URL] ROW``,
or, as an element of a job array, ``... --rows ROW,ROW,...``: the element
runs the row at its index (Slurm's SLURM_ARRAY_TASK_ID or Grid Engine's
SGE_TASK_ID, counted from 1).

Reads its ``JobSpec`` from the cache database, where the cluster executor
stored it under the job's row ``ROW`` (``Cache.read_spec``), runs the task
in the project directory with the cores the scheduler gave it, writes its
report of how it ended (value outputs, error, exit status, host, CPU time,
peak memory) into that row (``Cache.node_finished``), and exits with the
task's status. The row stays ``running``: the outflow that submitted the job
reads the report (``Cache.node_result``) when the scheduler says the job is
over, and its engine records the job done or failed. This is the one place a
job writes to the cache itself (why: see ``executor.py`` here).

It reaches the cache the fast way (``store.door.open_node_store``): no
SQLAlchemy is imported on a node, whose import alone would cost more CPU
than a small task. (Jobs on ``--workers`` do not come here: a worker runs
them on a local pool of its own, ``executors/workers/jobtask.py``.)

The cache's URL comes in a file (``--db-file``) rather than on the command
line, where other users could read its password; without one the cache is
the project's SQLite database.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from outflowfile.run.jobspec import JobResult, JobSpec, thread_env

# What a node job imports before its task's first line is what it needs and
# no more (each module costs every job its CPU): what only a shell job, a
# Python job or the command line uses is imported where it is used.

EXIT_NO_SPEC = 2


def allocated_cores(asked: int, environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The cores this job was given: Grid Engine's NSLOTS, Slurm's
    SLURM_CPUS_PER_TASK (absent for jobs sent through Slurm's DRMAA), else
    what the job asked for."""
    for name in ("NSLOTS", "SLURM_CPUS_PER_TASK"):
        value = environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return asked


def array_row(rows: str, environ: dict[str, str] | os._Environ[str] = os.environ) -> int | None:
    """The row of this array element: ``rows`` at the scheduler's index."""
    from outflowfile.executors.cluster.scheduler import ARRAY_INDEX_VARIABLES

    for name in ARRAY_INDEX_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit():
            listed = rows.split(",")
            index = int(value) - 1
            return int(listed[index]) if 0 <= index < len(listed) else None
    return None


def run_shell(spec: JobSpec, host: str) -> JobResult:
    from outflowfile.executors import scripts
    from outflowfile.executors.environments import EnvironmentFailure, Environments
    from outflowfile.executors.logs import close_capture, create, open_capture, writes_own_log
    from outflowfile.executors.spawn import start_job

    result = JobResult(id=spec.id, ok=False, host=host, started=time.time())
    log = os.path.join(spec.workdir, spec.log)
    own = writes_own_log(spec.kind, spec.code, spec.log)
    if own:
        out, made = open_capture(log)
    else:
        out = create(log)
    try:
        argv, env = Environments(sweep=False).shell(spec, *scripts.command(spec))
        # Through spawn.py, so that its peak memory is not this process's size.
        proc = start_job(argv, spec.workdir, dict(os.environ) | thread_env(spec.cpus) | env, out)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    except OSError as exc:  # the program is not there (Rscript on this node)
        result.ended = time.time()
        result.error = f"cannot start the job: {exc}"
        return result
    except EnvironmentFailure as exc:  # its image, modules or venv
        result.ended = time.time()
        result.error = str(exc)
        return result
    finally:
        scripts.remove_job_file(spec)
        if own:
            close_capture(log, out, made)
        else:
            os.close(out)
    result.ended = time.time()
    result.exit_status = proc.returncode
    result.ok = proc.returncode == 0
    result.cpu_seconds = usage.ru_utime + usage.ru_stime
    result.peak_mem = usage.ru_maxrss * 1024
    if not result.ok:
        result.error = f"command exited with status {proc.returncode}: {spec.code}"
    return result


def run_python(spec: JobSpec, host: str) -> JobResult:
    if spec.environment.get("container"):  # in a worker in its image, as on the local pool
        from outflowfile.executors.environments.nodeworker import run_in_image

        return run_in_image(spec, host)
    from outflowfile.executors.worker import run_job

    return run_job(spec, host, None)


OPTIONS = ("--workdir", "--db", "--db-file", "--rows")
USAGE = ("usage: python -m outflowfile.executors.cluster.nodejob --workdir DIR "
         "[--db URL | --db-file FILE] (ROW | --rows ROW,ROW,...)")


def parse_args(argv: list[str]) -> dict[str, str]:
    """The options (by name, without dashes) and ``row``; argparse would cost
    a node job more than all the rest of its command line. Raises
    ``ValueError`` for anything else."""
    args: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        name, eq, value = word.partition("=")
        if name in OPTIONS:
            args[name[2:]] = value if eq else next(words, "")
        elif word.isdigit() and "row" not in args:
            args["row"] = word
        else:
            raise ValueError(f"unexpected argument {word!r}")
    if not args.get("workdir"):
        raise ValueError("--workdir is required")
    return args


def _into_venv(spec: JobSpec, argv: list[str]) -> str | None:
    """A Python body with a venv: this process goes on in the venv's Python
    (the cache's connection closes with the exec). Why it cannot, or None."""
    if spec.kind not in ("run", "call") or not spec.environment.get("venv"):
        return None  # imports nothing more
    from outflowfile.executors.environments import EnvironmentFailure, exec_in_venv

    try:
        exec_in_venv(spec, "outflowfile.executors.cluster.nodejob", argv)
    except EnvironmentFailure as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        print(f"{USAGE}\noutflow job: {exc}", file=sys.stderr)
        return EXIT_NO_SPEC
    rows = args.get("rows")
    row = int(args["row"]) if rows is None and "row" in args else (
        array_row(rows) if rows is not None else None)
    if row is None:
        print("outflow job: no row, and no array index in the environment", file=sys.stderr)
        return EXIT_NO_SPEC

    # The fast way in: no SQLAlchemy on a node (store/nodestore.py says why).
    from outflowfile.store.door import open_node_store

    # The URL in a file (--db-file), so that its password is not on the command line.
    db = Path(args["db-file"]).read_text().strip() if args.get("db-file") else args.get("db")
    cache = open_node_store(Path(args["workdir"]), db)
    try:
        text = cache.read_spec(row)
        if text is None:
            print(f"outflow job: no job {row} in the cache {cache.where}", file=sys.stderr)
            return EXIT_NO_SPEC
        spec = JobSpec.from_text(text)
        failure = _into_venv(spec, sys.argv[1:] if argv is None else argv)
        spec.cpus = allocated_cores(spec.cpus)
        result = _run(spec, failure)
        cache.node_finished(row, _report(result))
    finally:
        cache.close()
    return _exit_status(result)


def _run(spec: JobSpec, failure: str | None = None) -> JobResult:
    """Run the job, or report ``failure`` (its environment could not be had)."""
    os.chdir(spec.workdir)
    host = os.uname().nodename  # socket.gethostname(), without importing socket
    if failure is not None:
        now = time.time()
        return JobResult(id=spec.id, ok=False, host=host, error=failure, started=now, ended=now)
    shell = spec.kind in ("shell", "script")
    return run_shell(spec, host) if shell else run_python(spec, host)


def _report(result: JobResult) -> dict[str, Any]:
    report = asdict(result)
    report.pop("output", None)
    return report


def _exit_status(result: JobResult) -> int:
    if result.error:
        print(result.error, file=sys.stderr)
    if result.ok:
        return 0
    code = result.exit_status or 1
    return code if 0 < code < 256 else 1


if __name__ == "__main__":
    sys.exit(main())
