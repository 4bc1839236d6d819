"""A node job reaches its task without SQLAlchemy (nor psycopg): what it
imports is checked in real node job processes, on SQLite and PostgreSQL,
for a Python job (its body lists the modules loaded when it starts) and a
shell job (the modules loaded when the node job exits)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from outflowfile import valuecodec
from outflowfile.run.jobspec import JobSpec
from outflowfile.store.database import Cache

HEAVY = ("sqlalchemy", "psycopg")

LIST_MODULES = (
    "import sys\n"
    "return sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'psycopg'))\n"
)

# Runs the node job as `python -m` would, and writes the modules loaded at exit.
AT_EXIT = (
    "import atexit, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write('\\n'.join(sorted(sys.modules))))\n"
    "runpy.run_module('outflowfile.executors.cluster.nodejob', run_name='__main__')\n"
)


def _submit(tmp_path: Path, url: str | None, kind: str, code: str) -> int:
    spec = JobSpec(id=1, task="t", label="t", kind=kind, code=code, code_line=1,
                   outflowfile=str(tmp_path / "Outflowfile"), workdir=str(tmp_path), params={},
                   input_files={}, output_files={}, value_outputs=["mods"], cpus=1,
                   log="t.log")
    cache = Cache.open(tmp_path, url)
    try:
        run = cache.begin_run(["test"])
        row = cache.job_started(run, "k", "t", "s", "d", {}, [], "t.log", "h", time.time())
        cache.store_spec(row, spec.to_text())
        return row
    finally:
        cache.close()


def _node_argv(tmp_path: Path, url: str | None, row: int) -> list[str]:
    argv = ["--workdir", str(tmp_path)]
    if url:
        (tmp_path / "db.url").write_text(url)
        argv += ["--db-file", str(tmp_path / "db.url")]
    return argv + [str(row)]


def _report(tmp_path: Path, url: str | None, row: int) -> dict[str, object]:
    cache = Cache.open(tmp_path, url)
    try:
        report = cache.node_result(row)
    finally:
        cache.close()
    assert report is not None
    return report


def test_a_python_node_job_starts_its_task_without_sqlalchemy(
    tmp_path: Path, cache_url: str | None
) -> None:
    (tmp_path / "Outflowfile").write_text("\n")
    row = _submit(tmp_path, cache_url, "run", LIST_MODULES)
    argv = [sys.executable, "-m", "outflowfile.executors.cluster.nodejob"]
    proc = subprocess.run(argv + _node_argv(tmp_path, cache_url, row), capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    report = _report(tmp_path, cache_url, row)
    assert report["error"] is None
    assert report["values"] == {"mods": []}


def test_a_shell_node_job_never_imports_sqlalchemy(tmp_path: Path, cache_url: str | None) -> None:
    row = _submit(tmp_path, cache_url, "shell", "echo ran > ran.txt")
    modules = tmp_path / "modules.txt"
    argv = [sys.executable, "-c", AT_EXIT, str(modules)]
    proc = subprocess.run(argv + _node_argv(tmp_path, cache_url, row), capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ran.txt").read_text() == "ran\n"
    report = _report(tmp_path, cache_url, row)
    assert report["exit_status"] == 0 and report["error"] is None
    loaded = modules.read_text().split()
    assert "outflowfile.store.nodestore" in loaded  # the check saw the node job reach the cache
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    assert valuecodec.decode(valuecodec.encode(report["values"])) == {}
