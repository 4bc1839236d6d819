"""Ctrl-C, SIGTERM and kill -9 of a real ``outflow`` run: finished jobs are
kept, half-made files are removed, the next run says why it reruns."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from outflowtest import cache_rows, lines, make_project, outflow, outflow_command

SLOW = """
config:
    items: list = [1, 2, 3]

task quick(item: int):
    output: out = "quick/{item}.txt"
    shell: "echo quick {item} >> ran.log; echo {item} > {output.out}"

task slow(item: int):
    input: src = "quick/{item}.txt"
    output: out = "slow/{item}.txt"
    shell: '''echo slow {item} >> ran.log; echo partial > {output.out}
              sleep 300; echo done >> {output.out}'''

workflow all:
    map(items -> item) { quick | slow }
"""


def _start(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(outflow_command() + ["-j", "2"], cwd=project, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _sleepers(project: Path) -> list[psutil.Process]:
    """The ``sleep 300`` of this project's jobs (their working directory is
    the project): never another test's, which may run at the same time."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmd = proc.info["cmdline"] or []
        if cmd[:2] == ["sleep", "300"] and proc.info["cwd"] == str(project):
            found.append(proc)
    return found


def _partial(project: Path) -> bool:
    return len(list((project / "slow").glob("*.txt"))) >= 2


def test_ctrl_c_cancels_jobs_and_removes_partial_outputs(tmp_path: Path) -> None:
    p = make_project(tmp_path, SLOW)
    run = _start(p)
    _wait_for(lambda: _partial(p))
    _wait_for(lambda: len(_sleepers(p)) == 2)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted" in err and "cancelled running jobs: slow item=" in err
    assert not list((p / "slow").glob("*.txt"))
    assert sorted(q.name for q in (p / "quick").iterdir()) == ["1.txt", "2.txt", "3.txt"]
    _wait_for(lambda: not _sleepers(p), timeout=15)
    statuses = {r[0] for r in cache_rows(p, "select status from jobs where task='slow'")}
    assert statuses == {"interrupted"}
    proc = outflow(p, "-n")
    assert "left incomplete by an interrupted run" in proc.stdout
    assert "quick" not in proc.stdout.split("Jobs per task:")[1]


def test_sigterm_exits_143(tmp_path: Path) -> None:
    p = make_project(tmp_path, SLOW)
    run = _start(p)
    _wait_for(lambda: _partial(p))
    _wait_for(lambda: len(_sleepers(p)) == 2)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert "terminated" in err
    assert not list((p / "slow").glob("*.txt"))
    _wait_for(lambda: not _sleepers(p), timeout=15)


def test_kill_9_keeps_finished_jobs_and_cleans_up_next_time(tmp_path: Path) -> None:
    p = make_project(tmp_path, SLOW)
    run = _start(p)
    _wait_for(lambda: _partial(p))
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=30)
    for proc in _sleepers(p):  # the orphaned shell jobs of the killed run
        try:
            proc.kill()
        except psutil.NoSuchProcess:  # its guard was quicker
            pass
    assert (p / "slow" / "1.txt").exists() or (p / "slow" / "2.txt").exists()
    (p / "ran.log").unlink()
    text = (p / "Outflowfile").read_text().replace("sleep 300; ", "")
    (p / "Outflowfile").write_text(text)
    proc = outflow(p, "-j", "2")
    assert "left incomplete by an interrupted run" in proc.stdout
    assert "removed" in proc.stdout
    # quick jobs finished before the kill: not run again.
    assert sorted(lines(p / "ran.log")) == ["slow 1", "slow 2", "slow 3"]
    assert (p / "slow" / "1.txt").read_text() == "partial\ndone\n"


VALUES = """
config:
    items: list = [1, 2, 3]

task quick(item: int) -> (q: int):
    run:
        return item * 10

task slow(q: int) -> (s: int):
    run:
        import pathlib, time
        pathlib.Path(f"started-{q}").write_text("")
        time.sleep(300)
        return q

workflow all:
    map(items -> item) { quick | slow }
"""


def _two_slow_running(project: Path) -> bool:
    """Both slow jobs started and the cache says so, with every quick job
    done: what a local run holds back to write in batches is written while
    it waits, not only when the run ends. (The third slow job may be queued
    in a worker behind one of them: its row says running too.)"""
    if len(list(project.glob("started-*"))) < 2:
        return False
    rows = cache_rows(project, "select task, status from jobs")
    slow = [status for task, status in rows if task == "slow"]
    return rows.count(("quick", "done")) == 3 and len(slow) >= 2 and set(slow) == {"running"}


def _slow_workers(project: Path) -> list[psutil.Process]:
    """The worker processes of this project's run (their working directory
    is the project while a job runs)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmd = proc.info["cmdline"] or []
        if "outflowfile.executors.worker" in " ".join(cmd) and proc.info["cwd"] == str(project):
            found.append(proc)
    return found


def test_value_jobs_written_in_batches_survive_kill_9(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    run = _start(p)
    try:
        _wait_for(lambda: _two_slow_running(p))
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    _wait_for(lambda: not _slow_workers(p), timeout=30)
    (running,) = cache_rows(p, "select count(*) from jobs where status = 'running'")[0]
    assert running >= 2
    proc = outflow(p, "-n")
    assert proc.stdout.count("left incomplete by an interrupted run") == running
    assert "quick" not in proc.stdout.split("Jobs per task:")[1]


def test_ctrl_c_marks_running_value_jobs_interrupted(tmp_path: Path) -> None:
    p = make_project(tmp_path, VALUES)
    run = _start(p)
    try:
        _wait_for(lambda: _two_slow_running(p))
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "cancelled running jobs: slow item=" in err
    _wait_for(lambda: not _slow_workers(p), timeout=30)
    rows = cache_rows(p, "select task, status from jobs")
    slow = [status for task, status in rows if task == "slow"]
    assert rows.count(("quick", "done")) == 3
    assert len(slow) >= 2 and set(slow) == {"interrupted"}  # a queued one, too, if written
    assert cache_rows(p, "select status from runs") == [("interrupted",)]
    proc = outflow(p, "-n")
    assert proc.stdout.count("left incomplete by an interrupted run") == len(slow)


def test_a_ctrl_c_at_any_moment_of_the_start_says_one_line(tmp_path: Path) -> None:
    """Ctrl-C while outflow is still loading, reading its command line or
    importing what the run needs: one line and status 130, never a Python
    traceback of outflow's code or click's "Aborted!" (a Ctrl-C landing while
    a class was being made surfaced as a RuntimeError; one landing while a
    refusal was being printed, as "Aborted!"). Only Python's own start,
    before outflow's first line runs, may still end with its traceback."""
    p = make_project(tmp_path, """
task slow:
    output: out = "slow.txt"
    shell: "sleep 5; echo > {output.out}"

workflow all:
    slow
""")
    seen = []
    for step in range(14):
        proc = subprocess.Popen(outflow_command(), cwd=p, start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(0.03 * step)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        seen.append(proc.returncode)
        if proc.returncode == 130:
            assert err.endswith("outflow: interrupted (Ctrl-C)\n"), err
            assert "Traceback" not in err, err
        else:  # Python itself still starting
            assert proc.returncode in (1, -signal.SIGINT), err
            assert "Aborted!" not in err and "outflowfile/" not in err, err
    assert 130 in seen
    assert not (p / "slow.txt").exists()
