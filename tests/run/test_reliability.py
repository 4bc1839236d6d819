"""Faults caused for real against the installed ``outflow`` command: the run
killed outright, Ctrl-C pressed twice, jobs that exhaust memory, overrun
their time limit or lie about their outputs. Each test says what must
survive."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import (
    alive,
    kill_all,
    memory_cgroup,
    read_pids,
    remove_cgroup,
    wait_for,
)
from outflowtest import cache_rows, lines, make_project, outflow, outflow_command

TREES = """
config:
    items: list = [1, 2]

task sh(item: int):
    output: out = "sh/{item}.txt"
    shell: '''echo partial > {output.out}
              sleep 300 & echo $! $$ > sh/{item}.pids; wait'''

task py(item: int):
    output: pyout = "py/{item}.txt"
    run:
        import os, subprocess, time
        open(output.pyout, "w").write("partial")
        child = subprocess.Popen(["sleep", "300"])
        open(f"py/{item}.pids", "w").write(f"{child.pid} {os.getpid()}")
        time.sleep(300)

workflow all:
    map(items -> item) { (sh, py) }
"""


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.pop("OUTFLOW_DB", None)
    return subprocess.Popen(outflow_command() + list(args), cwd=project, text=True, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _pid_files(project: Path) -> list[Path]:
    return sorted(project.glob("*/*.pids"))


def test_kill_9_of_outflow_ends_shell_and_python_job_trees(tmp_path: Path) -> None:
    # Each job leaves a child (sleep 300) under its first process (bash, or
    # the Python worker): a death signal on the first process alone would
    # leave the sleeps running.
    p = make_project(tmp_path, TREES)
    run = _start(p, "-j", "4")
    pids: list[int] = []
    try:
        wait_for(lambda: len(_pid_files(p)) == 4 and all(
            len(f.read_text().split()) == 2 for f in _pid_files(p)), what="4 jobs started")
        pids = read_pids(_pid_files(p))
        assert alive(pids) == pids
        run.kill()
        run.communicate(timeout=30)
        wait_for(lambda: not alive(pids), timeout=30, what="the jobs' processes to end")
    finally:
        run.kill()
        kill_all(pids)
    proc = outflow(p, "-n")
    assert proc.stdout.count("left incomplete by an interrupted run") == 4


STUBBORN = """
config:
    items: list = [1, 2]

task stubborn(item: int):
    output: out = "out/{item}.txt"
    shell: '''trap 'echo term {item} >> terms.log' TERM
              echo partial > {output.out}
              echo $$ > out/{item}.pid
              while :; do sleep 0.1 || true; done'''

task quick(item: int):
    output: out = "quick/{item}.txt"
    shell: "echo {item} > {output.out}"

workflow all:
    map(items -> item) { quick | stubborn }
"""


def test_second_ctrl_c_during_cleanup_does_not_cut_it_short(tmp_path: Path) -> None:
    # The jobs ignore SIGTERM, so cleanup takes its whole grace period
    # before SIGKILL; the second Ctrl-C lands inside it.
    p = make_project(tmp_path, STUBBORN)
    run = _start(p, "-j", "2")
    pids: list[int] = []
    try:
        wait_for(lambda: len(list(p.glob("out/*.pid"))) == 2, what="2 jobs started")
        pids = read_pids(sorted(p.glob("out/*.pid")))
        run.send_signal(signal.SIGINT)
        wait_for(lambda: (p / "terms.log").exists(), what="the jobs to get SIGTERM")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
        kill_all(pids)
    assert run.returncode == 130, err
    assert "still stopping jobs and cleaning up" in err
    assert "cancelled running jobs: stubborn item=1, stubborn item=2" in err
    assert "Traceback" not in err
    assert not list(p.glob("out/*.txt")), "partial outputs must be removed"
    assert sorted(q.name for q in (p / "quick").iterdir()) == ["1.txt", "2.txt"]
    wait_for(lambda: not alive(pids), timeout=30, what="the jobs' processes to end")
    assert sorted(cache_rows(p, "select task, status from jobs")) == [
        ("quick", "done"), ("quick", "done"), ("stubborn", "interrupted"),
        ("stubborn", "interrupted")]
    assert cache_rows(p, "select status from runs") == [("interrupted",)]
    proc = outflow(p, "-n")
    assert proc.stdout.count("left incomplete by an interrupted run") == 2
    assert "quick" not in proc.stdout.split("Jobs per task:")[1]


def test_second_sigterm_during_cleanup(tmp_path: Path) -> None:
    p = make_project(tmp_path, STUBBORN)
    run = _start(p, "-j", "2")
    pids: list[int] = []
    try:
        wait_for(lambda: len(list(p.glob("out/*.pid"))) == 2, what="2 jobs started")
        pids = read_pids(sorted(p.glob("out/*.pid")))
        run.send_signal(signal.SIGTERM)
        wait_for(lambda: (p / "terms.log").exists(), what="the jobs to get SIGTERM")
        run.send_signal(signal.SIGINT)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
        kill_all(pids)
    assert run.returncode == 143, err
    assert not list(p.glob("out/*.txt"))
    assert {r[0] for r in cache_rows(p, "select status from jobs where task='stubborn'")} \
        == {"interrupted"}


LIMITS = """
config:
    items: list = [1, 2, 3]

task slow_shell():
    time: "2s"
    output: slow = "slow.txt"
    shell: "echo partial > {output.slow}; sleep 30; echo done >> {output.slow}"

task slow_python():
    time: "2s"
    output: slowpy = "slowpy.txt"
    run:
        import time
        open(output.slowpy, "w").write("partial")
        time.sleep(30)

task liar():
    output: made = "made.txt", promised = "promised.txt"
    shell: "echo made > {output.made}"

task fine(item: int):
    output: out = "fine/{item}.txt"
    shell: "sleep 0.2; echo {item} > {output.out}"

workflow all:
    (slow_shell, slow_python, liar, map(items -> item) { fine })
"""


def test_time_limits_and_missing_outputs_fail_their_job_only(tmp_path: Path) -> None:
    p = make_project(tmp_path, LIMITS)
    proc = outflow(p, "-j", "2", "-k", check=1)
    err = proc.stderr
    assert "error: job slow_shell failed" in err
    assert "error: job slow_python failed" in err
    assert err.count("exceeded its time limit of 2s") == 2
    assert "error: job liar failed" in err
    assert "did not make its output file promised.txt" in err
    # -k: independent work carried on; failed jobs' partial outputs are gone.
    assert [lines(p / "fine" / f"{i}.txt") for i in (1, 2, 3)] == [["1"], ["2"], ["3"]]
    assert not (p / "slow.txt").exists() and not (p / "slowpy.txt").exists()
    assert not (p / "made.txt").exists()
    assert "3 ran, 0 up to date, 3 failed" in err
    assert "Traceback" not in err


def test_without_keep_going_a_time_limit_stops_the_run(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task slow():
            time: "1s"
            output: out = "slow.txt"
            shell: "sleep 30; touch {output.out}"
        task after():
            input: src = "slow.txt"
            output: out = "after.txt"
            shell: "touch {output.out}"
        workflow all:
            slow | after
    """)
    proc = outflow(p, "-j", "2", check=1)
    assert "exceeded its time limit of 1s" in proc.stderr
    assert "1 not run (upstream failed)" in proc.stderr
    assert not (p / "after.txt").exists()


MEMORY = """
config:
    items: list = [1, 2]

task hog():
    output: hog = "hog.txt"
    shell: '''echo partial > {output.hog}
              ulimit -v 300000
              python3 -c 'x = bytearray(1 << 30)' '''

task fine(item: int):
    output: out = "fine/{item}.txt"
    shell: "echo {item} > {output.out}"

workflow all:
    (hog, map(items -> item) { fine })
"""


def test_a_job_exhausting_its_address_space_fails_alone(tmp_path: Path) -> None:
    p = make_project(tmp_path, MEMORY)
    proc = outflow(p, "-j", "2", "-k", check=1)
    assert "error: job hog failed (exit status 1)" in proc.stderr
    assert "MemoryError" in proc.stderr
    assert not (p / "hog.txt").exists()
    assert [lines(p / "fine" / f"{i}.txt") for i in (1, 2)] == [["1"], ["2"]]
    assert "2 ran, 0 up to date, 1 failed" in proc.stderr


@pytest.fixture
def cgroup(tmp_path: Path) -> Iterator[Path]:
    """A memory cgroup limited to 128 MiB (the kernel's OOM killer acts in it)."""
    group = memory_cgroup(f"outflow-test-{os.getpid()}-{tmp_path.name}", 128 << 20)
    if group is None:
        pytest.skip("cannot create a memory cgroup here (needs root and a writable "
                    "/sys/fs/cgroup); the OOM-killer tests need one")
    try:
        yield group
    finally:
        remove_cgroup(group)


def test_the_oom_killer_fails_only_the_job_it_kills(tmp_path: Path, cgroup: Path) -> None:
    # Each hog moves itself into a 128 MiB cgroup, then touches 1 GiB: the
    # kernel's OOM killer ends it (the bash job, or the Python worker).
    procs = cgroup / "cgroup.procs"
    p = make_project(tmp_path / "p", f"""
        config:
            items: list = [1, 2]
        task shell_hog():
            output: shell_hog = "shell_hog.txt"
            shell: '''echo partial > {{output.shell_hog}}
                      echo $$ > {procs}
                      python3 -c 'x = bytearray(1 << 30)' '''
        task python_hog():
            output: python_hog = "python_hog.txt"
            run:
                import os
                open(output.python_hog, "w").write("partial")
                open({str(procs)!r}, "w").write(str(os.getpid()))
                x = bytearray(1 << 30)
        task after_hog(item: int) -> (pid: int):
            run:
                import os
                return os.getpid()
        workflow all:
            (shell_hog, python_hog, map(items -> item) {{ after_hog }})
    """)
    proc = outflow(p, "-j", "1", "-k", check=1)
    err = proc.stderr
    assert "error: job shell_hog failed" in err
    assert "error: job python_hog failed" in err
    assert err.count("killed by signal 9 (SIGKILL); out of memory, perhaps") == 2
    assert not (p / "shell_hog.txt").exists() and not (p / "python_hog.txt").exists()
    assert "2 ran, 0 up to date, 2 failed" in err
    assert "Traceback" not in err
