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

The cache's URL comes in a file (``--db-file``) rather than on the command
line, where other users could read its password; without one the cache is
the project's SQLite database.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from outflowfile.executors import scripts
from outflowfile.executors.cluster.scheduler import ARRAY_INDEX_VARIABLES
from outflowfile.executors.environments import EnvironmentFailure, Environments, exec_in_venv
from outflowfile.executors.logs import close_capture, create, open_capture, writes_own_log
from outflowfile.run.jobspec import JobResult, JobSpec, thread_env

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
    for name in ARRAY_INDEX_VARIABLES:
        value = environ.get(name, "")
        if value.isdigit():
            listed = rows.split(",")
            index = int(value) - 1
            return int(listed[index]) if 0 <= index < len(listed) else None
    return None


def run_shell(spec: JobSpec, host: str) -> JobResult:
    result = JobResult(id=spec.id, ok=False, host=host, started=time.time())
    log = os.path.join(spec.workdir, spec.log)
    own = writes_own_log(spec.kind, spec.code, spec.log)
    if own:
        out, made = open_capture(log)
    else:
        out = create(log)
    try:
        argv, env = Environments().shell(spec, *scripts.command(spec))
        proc = subprocess.Popen(
            argv,
            cwd=spec.workdir,
            env=os.environ | thread_env(spec.cpus) | env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
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
    import psutil

    from outflowfile.executors.worker import run_job

    return run_job(spec, host, psutil.Process())


def _into_venv(spec: JobSpec, argv: list[str]) -> str | None:
    """A Python body with a venv: this process goes on in the venv's Python
    (the cache's connection closes with the exec). Why it cannot, or None."""
    try:
        exec_in_venv(spec, "outflowfile.executors.cluster.nodejob", argv)
    except EnvironmentFailure as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="outflowfile.executors.cluster.nodejob")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--db", default=None)
    # The URL in a file, so that its password is not on the command line.
    parser.add_argument("--db-file", default=None)
    parser.add_argument("row", type=int, nargs="?")
    parser.add_argument("--rows", default=None)
    args = parser.parse_args(argv)
    row = args.row if args.rows is None else array_row(args.rows)
    if row is None:
        print("outflow job: no row, and no array index in the environment", file=sys.stderr)
        return EXIT_NO_SPEC

    from outflowfile.store.door import open_store

    db = Path(args.db_file).read_text().strip() if args.db_file else args.db
    cache = open_store(Path(args.workdir), db).open_cache()
    try:
        text = cache.read_spec(row)
        if text is None:
            print(f"outflow job: no job {row} in the cache {cache.where}", file=sys.stderr)
            return EXIT_NO_SPEC
        spec = JobSpec.from_text(text)
        failure = _into_venv(spec, sys.argv[1:] if argv is None else argv)
        spec.cpus = allocated_cores(spec.cpus)
        os.chdir(spec.workdir)
        host = socket.gethostname()
        shell = spec.kind in ("shell", "script")
        if failure is not None:
            result = JobResult(id=spec.id, ok=False, host=host, error=failure,
                               started=time.time(), ended=time.time())
        else:
            result = run_shell(spec, host) if shell else run_python(spec, host)
        report = asdict(result)
        report.pop("output", None)
        cache.node_finished(row, report)
    finally:
        cache.close()
    if result.error:
        print(result.error, file=sys.stderr)
    if result.ok:
        return 0
    code = result.exit_status or 1
    return code if 0 < code < 256 else 1


if __name__ == "__main__":
    sys.exit(main())
