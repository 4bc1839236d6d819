"""The job a cluster node runs: python -m outflowfile.executors.cluster.nodejob reads its spec
from the cache (SQLite and PostgreSQL), runs, and reports in its row."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from outflowfile.executors.cluster.nodejob import allocated_cores
from outflowfile.run.jobspec import JobSpec
from outflowfile.store.database import Cache


def _spec(tmp_path: Path, kind: str, code: str, **extra: object) -> JobSpec:
    return JobSpec(
        id=1, task="t", label="t", kind=kind, code=code, code_line=3,
        outflowfile=str(tmp_path / "Outflowfile"), workdir=str(tmp_path), params={"x": 20},
        input_files={}, output_files={}, value_outputs=["y"], cpus=1, log=".outflow/logs/t.log",
        **extra,  # type: ignore[arg-type]
    )


def _submit(tmp_path: Path, url: str | None, spec: JobSpec) -> int:
    cache = Cache.open(tmp_path, url)
    run = cache.begin_run(["test"])
    row = cache.job_started(run, "k", "t", "s", "d", spec.params, [], spec.log, "h", time.time())
    spec.row = row
    cache.store_spec(row, spec.to_text())
    cache.close()
    return row


def _node(
    tmp_path: Path, url: str | None, row: int, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "outflowfile.executors.cluster.nodejob"]
    argv += ["--workdir", str(tmp_path)]
    argv += ["--db", url] if url else []
    return subprocess.run(argv + [str(row)], capture_output=True, text=True, env=env)


def test_python_job_reports_its_values(tmp_path: Path, cache_url: str | None) -> None:
    (tmp_path / "Outflowfile").write_text("\n\n\n")
    row = _submit(tmp_path, cache_url, _spec(tmp_path, "run", "print('hi')\nreturn x * 2"))
    proc = _node(tmp_path, cache_url, row)
    assert proc.returncode == 0, proc.stderr
    cache = Cache.open(tmp_path, cache_url)
    report = cache.node_result(row)
    cache.close()
    assert report is not None
    assert report["values"] == {"y": 40} and report["error"] is None
    assert report["exit_status"] == 0 and report["cpu_seconds"] is not None
    assert (tmp_path / ".outflow" / "logs" / "t.log").read_text() == "hi\n"


def test_shell_job_exit_status_and_cores(tmp_path: Path, cache_url: str | None) -> None:
    spec = _spec(tmp_path, "shell", "echo cores $OUTFLOW_CPUS; exit 3")
    row = _submit(tmp_path, cache_url, spec)
    import os

    proc = _node(tmp_path, cache_url, row, env=os.environ | {"NSLOTS": "4"})
    assert proc.returncode == 3
    assert "command exited with status 3" in proc.stderr
    cache = Cache.open(tmp_path, cache_url)
    report = cache.node_result(row)
    cache.close()
    assert report is not None and report["exit_status"] == 3
    assert (tmp_path / ".outflow" / "logs" / "t.log").read_text() == "cores 4\n"


def test_unknown_row(tmp_path: Path) -> None:
    Cache.open(tmp_path).close()
    proc = _node(tmp_path, None, 999)
    assert proc.returncode == 2
    assert "no job 999 in the cache" in proc.stderr


def test_allocated_cores() -> None:
    assert allocated_cores(5, {"NSLOTS": "2"}) == 2
    assert allocated_cores(5, {"SLURM_CPUS_PER_TASK": "3"}) == 3
    assert allocated_cores(5, {}) == 5
    assert allocated_cores(5, {"NSLOTS": "junk"}) == 5
