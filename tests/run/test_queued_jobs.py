"""Python jobs queued in a worker behind a running one (executors/local.py),
seen from a real ``outflow`` run: a job that never started is never
recorded as run, whether the run stops after a failure or is interrupted."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from outflowtest import cache_rows, make_project, outflow, outflow_command

STEPS = """
config:
    items: list = [1, 2, 3]
    wait: float = 0.5

task step(item: int, wait: float) -> (out: int):
    run:
        import time
        open(f"started-{item}", "w").close()
        if item == 1:
            time.sleep(wait)
            raise ValueError("item one fails")
        return item

workflow all:
    map(items -> item) { step }
"""


def test_a_failure_leaves_the_job_queued_behind_it_unrecorded(tmp_path: Path) -> None:
    # -j 1: item 2 is sent to the worker while item 1 runs, then withdrawn
    # when item 1 fails; item 3 never leaves outflow's queue.
    p = make_project(tmp_path, STEPS)
    proc = outflow(p, "-j", "1", check=1)
    assert "error: job step item=1 failed" in proc.stderr
    assert "ValueError: item one fails" in proc.stderr
    assert "log: .outflow/logs/step/" in proc.stderr
    assert cache_rows(p, "select count(*) from jobs where status = 'done'") == [(0,)]
    assert cache_rows(p, "select params, status from jobs where status = 'failed'") == [
        ('{"item":1,"wait":0.5}', "failed")]
    assert not (p / "started-3").exists()
    dry = outflow(p, "-n", "--config", "wait=0")
    assert dry.stdout.split("Jobs per task:")[1].split() == ["step", "3"]


def test_ctrl_c_with_a_job_queued_cancels_only_the_running_one(tmp_path: Path) -> None:
    p = make_project(tmp_path, STEPS.replace("time.sleep(wait)", "time.sleep(300)"))
    run = subprocess.Popen(outflow_command() + ["-j", "1"], cwd=p, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (p / "started-1").exists():
            assert time.monotonic() < deadline, "item 1 never started"
            time.sleep(0.05)
        time.sleep(0.2)  # item 2 is queued as soon as item 1 is sent
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "cancelled running jobs: step item=1\n" in err
    assert not (p / "started-2").exists()
    rows = dict(cache_rows(p, "select params, status from jobs"))
    assert rows.get('{"item":1,"wait":0.5}') == "interrupted"
    assert rows.get('{"item":2,"wait":0.5}') in (None, "interrupted"), "never recorded as run"
    assert "done" not in rows.values()


def test_a_queued_job_is_recorded_with_its_real_start(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
config:
    items: list = [1, 2]

task nap(item: int) -> (out: int):
    run:
        import time
        time.sleep(0.5 if item == 1 else 0)
        return item

workflow all:
    map(items -> item) { nap }
""")
    outflow(p, "-j", "1")
    (first, second) = cache_rows(p, "select started, ended from jobs order by id")
    assert second[0] >= first[1], "it started when the job before it ended, not when sent"
