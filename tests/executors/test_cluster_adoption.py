"""The head may die: outflow killed with SIGKILL while its jobs run on the
real one-node Slurm (sbatch; slurm-drmaa when DRMAA_LIBRARY_PATH names it)
and Grid Engine (DRMAA); the next outflow
adopts the jobs still queued or running, records those that ended
meanwhile, runs again only what died with nothing to show, and submits
nothing twice. Jobs are counted by the job names of our own runs (other
tests may share the scheduler)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DrmaaTarget
from outflowtest import cache_rows, make_project, outflow, outflow_command

# Item 1 ends at once; the others run long enough to be adopted.
SIX = """
config:
    items: list = [1, 2, 3, 4, 5, 6]

task nap(item: int):
    output: out = "nap/{item}.txt"
    shell: "if [ {item} -eq 1 ]; then sleep 1; else sleep 25; fi; echo {item} > {output.out}"

task total(out: list):
    output: total = "total.txt"
    shell: "cat {out} > {output.total}"

workflow all:
    map(items -> item) { nap } | total
"""

SLURM = ["--cluster", "slurm", "--cluster-submit", "sbatch"]


def _wait_for(predicate: Callable[[], object], timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.3)


def _slurm_jobs(name: str, ended_too: bool = True) -> dict[str, str]:
    """Our jobs (array elements one by one) under one job name: id -> state."""
    argv = ["squeue", "-h", "-r", f"--name={name}", "-o", "%i %T"]
    if ended_too:
        argv.insert(2, "--states=all")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in out.splitlines())


def _start(p: Path, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full = dict(os.environ) | (env or {})
    full.pop("OUTFLOW_DB", None)
    return subprocess.Popen(outflow_command() + args, cwd=p, env=full, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_head(run: subprocess.Popen[str]) -> None:
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=30)
    assert run.returncode == -signal.SIGKILL


def _scheduled(p: Path) -> list[tuple]:
    return cache_rows(p, "SELECT job_id, scheduler_id, array_index, name, adopted_from "
                         "FROM scheduled ORDER BY job_id")


def _assert_all_recorded(p: Path) -> None:
    assert (p / "total.txt").read_text().split() == ["1", "2", "3", "4", "5", "6"]
    statuses = cache_rows(p, "SELECT task, status FROM jobs ORDER BY id")
    done = [t for t, s in statuses if s == "done"]
    assert sorted(done) == ["nap"] * 6 + ["total"], statuses


@pytest.mark.usefixtures("slurm")
def test_kill_9_of_the_head_then_the_next_run_adopts_its_slurm_jobs(tmp_path: Path) -> None:
    p = make_project(tmp_path, SIX)
    first = _start(p, SLURM)
    name = f"outflow-{first.pid}"
    _wait_for(lambda: sum(s == "RUNNING" for s in _slurm_jobs(name).values()) == 6)
    _kill_head(first)
    jobs = _slurm_jobs(name)
    assert len(jobs) == 6 and all(j.startswith(next(iter(jobs)).split("_")[0]) for j in jobs)
    # The cache knows them by their ids: an array, elements 1 to 6.
    recorded = _scheduled(p)
    assert sorted(r[1] for r in recorded) == sorted(jobs)
    assert sorted(r[2] for r in recorded) == [1, 2, 3, 4, 5, 6]
    assert {r[3] for r in recorded} == {name}
    # Item 1 ends on its own; item 6 dies without a report (its id is gone).
    element = {r[2]: r[1] for r in recorded}
    _wait_for(lambda: _slurm_jobs(name).get(element[1]) == "COMPLETED")
    subprocess.run(["scancel", element[6]], check=True)
    _wait_for(lambda: _slurm_jobs(name).get(element[6]) not in ("RUNNING", "COMPLETING"))

    dry = outflow(p, "-n", *SLURM)
    ids = ", ".join(element[i] for i in (2, 3, 4, 5))
    assert (f"the next run adopts 4 jobs of run 1 still queued or running on the cluster "
            f"(slurm ids {ids}); 1 job of run 1 that ended on the cluster meanwhile, "
            "rather than run them again") in dry.stdout
    assert not (p / "total.txt").exists()

    second = _start(p, SLURM)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert f"adopting 4 jobs of run 1 still queued or running on the cluster (slurm ids {ids})" \
        in out
    _assert_all_recorded(p)
    # Submitted by the second run: nap item=6 (its job died with nothing to
    # show) and total; nothing of the first run's was submitted again.
    again = _slurm_jobs(f"outflow-{second.pid}")
    assert len(again) == 2, again
    rows = _scheduled(p)
    assert len(rows) == 8 and len({r[1] for r in rows}) == 8
    adopted = cache_rows(p, "SELECT j.task, s.adopted_from, j.run_id FROM scheduled s "
                            "JOIN jobs j ON j.id = s.job_id WHERE s.adopted_from IS NOT NULL")
    assert sorted(adopted) == [("nap", 1, 2)] * 5
    summary = outflow(p, "--summary").stdout
    assert summary.count("adopted from run 1") == 5


# Item 2 runs until the test lets it end (a file "go" in the project).
HELD = SIX.replace("[1, 2, 3, 4, 5, 6]", "[2]").replace(
    "sleep 25", "while [ ! -e go ]; do sleep 0.2; done")


@pytest.mark.usefixtures("slurm")
def test_without_the_cluster_touch_and_clean_refuse_while_a_dead_runs_jobs_still_run(
    tmp_path: Path,
) -> None:
    """A run without --cluster, --touch and --clean refuse while the job
    runs; once it ended, --touch records it as the next run would."""
    p = make_project(tmp_path, HELD)
    first = _start(p, SLURM)
    name = f"outflow-{first.pid}"
    _wait_for(lambda: "RUNNING" in _slurm_jobs(name).values())
    _kill_head(first)
    try:
        job_id = next(iter(_slurm_jobs(name)))
        proc = outflow(p, check=2)
        assert (f"error: 1 job of an earlier run still runs on the cluster (slurm ids {job_id})"
                in proc.stderr)
        assert f"run with --cluster to adopt them, or cancel them first (scancel {job_id})" \
            in proc.stderr
        for command, *more in (["--touch"], ["--clean", "--yes"]):
            proc = outflow(p, command, *more, check=2)
            assert (f"error: {command}: 1 job of run 1 is still queued or running on the "
                    f"cluster (slurm ids {job_id}), and may still write the outputs"
                    in proc.stderr), proc.stderr
            assert ("wait for them to end, or run outflow with --cluster to adopt them, or "
                    f"cancel them (scancel {job_id}); then {command} again") in proc.stderr
        assert not (p / "nap").exists() or not any((p / "nap").iterdir())
        assert cache_rows(p, "SELECT status FROM jobs") == [("running",)]
    finally:
        (p / "go").touch()
    _wait_for(lambda: _slurm_jobs(name, ended_too=False) == {})
    dry = outflow(p, "--touch", "-n", check=1)
    assert ("--touch first records 1 job of run 1 that ended on the cluster meanwhile, "
            "as a run would") in dry.stdout
    assert "removes 1 partial output" not in dry.stdout, dry.stdout
    proc = outflow(p, "--touch", check=1)  # total cannot be touched: it has not run
    assert "adopting 1 job of run 1 that ended on the cluster meanwhile" in proc.stdout
    assert "not touched total" in proc.stdout
    assert (p / "nap" / "2.txt").read_text() == "2\n"
    jobs = cache_rows(p, "SELECT j.task, j.status, j.run_id, s.adopted_from FROM jobs j "
                         "JOIN scheduled s ON s.job_id = j.id")
    assert jobs == [("nap", "done", 2, 1)]
    # Recorded with its files: the next run (here, on this host) runs total only.
    outflow(p)
    assert (p / "total.txt").read_text() == "2\n"
    assert cache_rows(p, "SELECT task, status FROM jobs ORDER BY id") == [
        ("nap", "done"), ("total", "done")]
    assert len(_slurm_jobs(name)) == 1


def test_kill_9_of_the_head_then_the_next_run_adopts_its_drmaa_jobs(
    tmp_path: Path, drmaa: DrmaaTarget
) -> None:
    """Through Grid Engine's DRMAA library, or Slurm's own (slurm-drmaa) when
    DRMAA_LIBRARY_PATH names it; the jobs are counted with qstat or squeue."""
    p = make_project(tmp_path, SIX)
    first = _start(p, drmaa.args, drmaa.env)
    env = os.environ | drmaa.env

    def queued() -> dict[str, str]:
        if not drmaa.sge:
            return _slurm_jobs(f"outflow-{first.pid}", ended_too=False)
        ids = {r[1] for r in _scheduled(p)} if (p / ".outflow" / "outflow.db").exists() else set()
        out = subprocess.run(["qstat", "-g", "d"], capture_output=True, text=True, env=env)
        found = {}
        for line in out.stdout.splitlines()[2:]:
            parts = line.split()
            key = f"{parts[0]}.{parts[-1]}"
            if key in ids:
                found[key] = parts[4]
        return found

    running = "r" if drmaa.sge else "RUNNING"
    _wait_for(lambda: len(_scheduled(p)) == 6 if (p / ".outflow" / "outflow.db").exists()
              else False)
    _wait_for(lambda: sum(s == running for s in queued().values()) >= 5)
    _kill_head(first)
    assert len(queued()) >= 5
    second = _start(p, drmaa.args, drmaa.env)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    flavour = "sge" if drmaa.sge else "slurm-drmaa"
    assert "adopting" in out and f"({flavour} ids " in out
    _assert_all_recorded(p)
    rows = _scheduled(p)
    # Only total was submitted again: 6 naps once each, then total.
    assert len(rows) == 7 and len({r[1] for r in rows}) == 7
    assert {r[3] for r in rows} == {f"outflow-{first.pid}", f"outflow-{second.pid}"}
    assert sum(1 for r in rows if r[3] == f"outflow-{second.pid}") == 1
    if not drmaa.sge:  # and Slurm ran 7 jobs under the two names, no more
        assert len(_slurm_jobs(f"outflow-{first.pid}")) == 6
        assert len(_slurm_jobs(f"outflow-{second.pid}")) == 1
