"""What the scheduler allows: the largest array and the jobs in flight,
read once per run (``scontrol show config``, ``qconf -sconf``), and the
pace of the run's scheduler commands.

The shared test cluster's own limits are not made small (that would disturb
every other run on it): the run is pointed at small limits through
``OUTFLOW_SCHEDULER_LIMITS``, documented as for testing only, while the
reading of the real configuration is checked against the real scheduler."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DrmaaTarget
from outflowtest import cache_rows, make_project, outflow_command

from outflowfile.executors.cluster.limits import Limits, limits_from, read_limits
from outflowfile.executors.cluster.rate import Bucket

TWELVE = """
config:
    items: list = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]

task nap(item: int):
    output: out = "nap/{item}.txt"
    shell: "sleep 2; echo {item} > {output.out}"

task total(out: list):
    output: total = "total.txt"
    shell: "cat {out} > {output.total}"

workflow all:
    map(items -> item) { nap } | total
"""


def _run_watching(p: Path, args: list[str], env: dict[str, str],
                  in_queue: Callable[[int], int]) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run outflow; the most of its jobs the scheduler held at once."""
    full = dict(os.environ) | env
    full.pop("OUTFLOW_DB", None)
    run = subprocess.Popen(outflow_command() + args, cwd=p, env=full, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    most = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            most[0] = max(most[0], in_queue(run.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out, err = run.communicate(timeout=600)
    finally:
        stop.set()
        watcher.join()
    return subprocess.CompletedProcess(run.args, run.returncode, out, err), most[0]


def _check_results(p: Path, largest: int) -> None:
    assert (p / "total.txt").read_text().split() == [str(i) for i in range(1, 13)]
    rows = cache_rows(p, "SELECT s.scheduler_id, s.array_index FROM scheduled s "
                         "JOIN jobs j ON j.id = s.job_id WHERE j.task = 'nap'")
    assert len(rows) == 12 and len({r[0] for r in rows}) == 12
    arrays: dict[str, int] = {}
    for job_id, _ in rows:
        base = job_id.replace(".", "_").split("_")[0]
        arrays[base] = arrays.get(base, 0) + 1
    assert max(arrays.values()) <= largest, arrays
    assert len(arrays) >= 12 // largest


@pytest.mark.usefixtures("slurm")
def test_a_map_larger_than_the_array_and_job_limits_still_runs_on_slurm(tmp_path: Path) -> None:
    p = make_project(tmp_path, TWELVE)

    def in_queue(pid: int) -> int:
        out = subprocess.run(["squeue", "-h", "-r", f"--name=outflow-{pid}", "-o", "%i"],
                             capture_output=True, text=True).stdout
        return len(out.split())

    limits = {"OUTFLOW_SCHEDULER_LIMITS": "MaxArraySize=4,MaxJobCount=6"}
    proc, most = _run_watching(p, ["--cluster", "slurm", "--cluster-submit", "sbatch"],
                               limits, in_queue)
    assert proc.returncode == 0, proc.stderr
    _check_results(p, largest=3)  # indexes below MaxArraySize, counted from 1
    assert 0 < most <= 5  # below MaxJobCount


def test_a_map_larger_than_the_array_and_job_limits_still_runs_on_grid_engine(
    tmp_path: Path, drmaa: DrmaaTarget
) -> None:
    if not drmaa.sge:
        pytest.skip("Grid Engine's own limit names")
    p = make_project(tmp_path, TWELVE)
    env = os.environ | drmaa.env

    def in_queue(pid: int) -> int:
        """Queued or running: listed by qstat under an id this run recorded."""
        if not (p / ".outflow" / "outflow.db").exists():
            return 0
        ours = {r[0] for r in cache_rows(p, "SELECT scheduler_id FROM scheduled")}
        out = subprocess.run(["qstat", "-g", "d"], capture_output=True, text=True,
                             env=env).stdout
        listed = [line.split() for line in out.splitlines()[2:]]
        return sum(f"{parts[0]}.{parts[-1]}" in ours or parts[0] in ours for parts in listed)

    limits = {"OUTFLOW_SCHEDULER_LIMITS": "max_aj_tasks=3,max_u_jobs=4", **drmaa.env}
    proc, most = _run_watching(p, drmaa.args, limits, in_queue)
    assert proc.returncode == 0, proc.stderr
    _check_results(p, largest=3)
    assert 0 < most <= 4


@pytest.mark.usefixtures("slurm")
def test_slurm_limits_are_read_from_its_configuration() -> None:
    shown = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                           check=True).stdout
    config = dict(line.split("=", 1) for line in shown.splitlines() if " = " in line)
    config = {k.strip(): v.strip() for k, v in config.items()}
    limits = read_limits("slurm", {})
    assert limits.max_array == int(config["MaxArraySize"]) - 1
    assert limits.max_queued is not None
    assert limits.max_queued <= int(config["MaxJobCount"]) - 1


def test_grid_engine_limits_are_read_from_its_configuration(sge_drmaa: dict[str, str]) -> None:
    env = os.environ | sge_drmaa
    shown = subprocess.run(["qconf", "-sconf"], capture_output=True, text=True, env=env,
                           check=True).stdout
    config = dict(line.split(None, 1) for line in shown.splitlines() if len(line.split()) > 1)
    old = dict(os.environ)
    os.environ.update(sge_drmaa)
    try:
        limits = read_limits("sge", {})
    finally:
        os.environ.clear()
        os.environ.update(old)
    tasks = int(config["max_aj_tasks"])
    assert limits.max_array == (tasks or None)
    users = [int(config[k]) for k in ("max_jobs", "max_u_jobs") if int(config[k])]
    assert limits.max_queued == (min(users) if users else None)


def test_limits_take_the_smallest_and_ignore_what_does_not_limit() -> None:
    assert limits_from({"MaxArraySize": "1001", "MaxJobCount": "10000"}) == Limits(1000, 9999)
    assert limits_from({"MaxJobCount": "10000", "MaxSubmitJobs": "50"}).max_queued == 50
    assert limits_from({"max_aj_tasks": "0", "max_jobs": "0", "max_u_jobs": "0"}) == Limits()
    assert limits_from({"MaxArraySize": "junk"}) == Limits()
    assert Limits(max_queued=5).in_flight(100) == 5
    assert Limits().in_flight(100) == 100


def test_the_bucket_lets_a_burst_through_then_keeps_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = Bucket(rate=2.0, burst=3, clock=lambda: now[0], sleep=sleep)
    waits = [bucket.take() for _ in range(7)]
    assert waits[:3] == [0.0, 0.0, 0.0]  # the burst
    assert waits[3:] == [0.5, 0.5, 0.5, 0.5]  # then 2 a second
    now[0] += 10  # a quiet while refills it, up to the burst
    assert [bucket.take() for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert Bucket.per_second(10).burst == 30
