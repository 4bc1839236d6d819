"""What a node job costs before its task's first line: CPU of the node job
process from its start to the first line of a ``run:`` body, on the
project's SQLite cache and on PostgreSQL.

    python benchmarks/bench_nodestart.py [--repeat 7] [--pg URL] [--source DIR]

A real node job (``python -m outflowfile.executors.cluster.nodejob``) runs a
job whose spec was stored in a fresh cache the way the cluster executor
stores it; the job's body returns ``resource.getrusage(RUSAGE_SELF)`` (its
process's user+system CPU so far), and the whole process's CPU is read with
``RUSAGE_CHILDREN``. ``--source DIR`` runs the node job of another checkout
(PYTHONPATH), to compare before and after. Medians of ``--repeat`` runs.
Also used by bench_cluster.py for its "node start cost" row.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FIRST_LINE = (
    "import resource\n"
    "r = resource.getrusage(resource.RUSAGE_SELF)\n"
    "return r.ru_utime + r.ru_stime\n"
)


def _store_job(workdir: Path, url: str | None) -> int:
    """A run, a job row and its spec in a fresh cache; the row."""
    from outflowfile.run.jobspec import JobSpec
    from outflowfile.store.door import open_store

    cache = open_store(workdir, url).open_cache()
    try:
        run = cache.begin_run(["bench"])
        row = cache.job_started(run, "k" * 64, "first", "first", "d" * 64, {}, [], "first.log",
                                "bench", time.time())
        spec = JobSpec(id=1, task="first", label="first", kind="run", code=FIRST_LINE,
                       code_line=1, outflowfile=str(workdir / "Outflowfile"),
                       workdir=str(workdir), params={}, input_files={}, output_files={},
                       value_outputs=["cpu"], cpus=1, log="first.log", row=row)
        cache.store_spec(row, spec.to_text())
        return row
    finally:
        cache.close()


def _first_line_cpu(workdir: Path, url: str | None, row: int) -> float:
    from outflowfile.store.door import open_store

    cache = open_store(workdir, url).open_cache()
    try:
        report = cache.node_result(row)
    finally:
        cache.close()
    assert report is not None and report["error"] is None, report
    return float(report["values"]["cpu"])


def node_start_cost(url: str | None, repeat: int = 7,
                    source: str | None = None) -> tuple[float, float]:
    """(CPU to the task's first line, CPU of the whole node job), medians, s."""
    first, whole = [], []
    env = dict(os.environ)
    if source:
        env["PYTHONPATH"] = source
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="outflow-nodestart-") as tmp:
            workdir = Path(tmp)
            (workdir / "Outflowfile").write_text("# bench\n")
            row = _store_job(workdir, url)
            argv = [sys.executable, "-m", "outflowfile.executors.cluster.nodejob",
                    "--workdir", str(workdir)]
            if url:
                (workdir / "db.url").write_text(url)
                argv += ["--db-file", str(workdir / "db.url")]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(argv + [str(row)], check=True, env=env, cwd=workdir)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            whole.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            first.append(_first_line_cpu(workdir, url, row))
    return statistics.median(first), statistics.median(whole)


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """``url`` in a fresh schema of its own (dropped afterwards): the bench
    leaves nothing in the database."""
    import uuid

    import psycopg
    from sqlalchemy import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        inside = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield inside.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def python_start_cost(repeat: int = 7) -> float:
    """CPU of ``python -c pass`` (the interpreter's own start), median, s."""
    costs = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        costs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(costs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--pg", default=os.environ.get("OUTFLOW_TEST_PG_URL"))
    ap.add_argument("--source", default=None, help="checkout whose node job to run")
    args = ap.parse_args()
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if args.pg:
        backends.append(("postgresql", args.pg))
    print(f"python -c pass: {python_start_cost(args.repeat) * 1000:.0f} ms CPU")
    for name, url in backends:
        if url:
            with pg_schema(url) as inside:
                first, whole = node_start_cost(inside, args.repeat, args.source)
        else:
            first, whole = node_start_cost(url, args.repeat, args.source)
        print(f"node start cost ({name}): {first * 1000:.0f} ms CPU to the task's first line, "
              f"{whole * 1000:.0f} ms for the whole node job")


if __name__ == "__main__":
    main()
