"""Issue 17, the planner's part: every failure exits non-zero with its place
named, a cycle through files is an error before anything runs, one file has
one spelling, one job has one key, and early cutoff keeps timestamps in
order. Each drives the installed ``outflow`` in a temporary project."""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path

from outflowtest import lines, make_project, outflow

from outflowfile.language.ownership import normalize

# --- 1. a map source that is not a list --------------------------------------

NOT_A_LIST = """
task give() -> xs:
    run:
        open("ran.log", "a").write("give\\n")
        return 5

task sq(x: int) -> y:
    run:
        return x * x

workflow all:
    give | map(xs -> x) { sq }
"""


def test_map_source_not_a_list_fails_the_run(tmp_path: Path) -> None:
    p = make_project(tmp_path, NOT_A_LIST)
    where = f"{p / 'Outflowfile'}:11:12"
    error = f"error: {where}: map(xs -> x): map source 'xs' is int (5), not a list"
    run = outflow(p, check=1)
    caret = ["        give | map(xs -> x) { sq }", "               ^"]
    assert run.stderr.splitlines()[:3] == [error, *caret]
    assert "outflow: 1 ran, 0 up to date, 1 map failed" in run.stderr
    assert lines(p / "ran.log") == ["give"]
    # Not recorded as a success: the run is failed, and no plan memo says
    # there is nothing to do.
    with sqlite3.connect(p / ".outflow" / "outflow.db") as db:
        assert [r[0] for r in db.execute("SELECT status FROM runs")] == ["failed"]
    dry = outflow(p, "-n", check=1)
    assert "Nothing to do" not in dry.stdout
    assert "Cannot plan 1 map (see the errors above): still to do." in dry.stdout
    assert dry.stderr.splitlines()[0] == error
    again = outflow(p, check=1)  # and again: the map still fails, give does not rerun
    assert again.stderr.splitlines()[0] == error
    assert lines(p / "ran.log") == ["give"]
    assert outflow(p, "--dag", check=1).stderr.splitlines()[0] == error


# --- 2. a cycle through files ------------------------------------------------

CYCLE = """
task a():
    input: src = "./y.txt"
    output: x = "x.txt"
    shell: "cp {input.src} {output.x}"

task b():
    input: src = "x.txt"
    output: y = "y.txt"
    shell: "cp {input.src} {output.y}"

task c():
    output: z = "z.txt"
    shell: "echo z > {output.z}"

workflow wa:
    a

workflow wb:
    b | c
"""

CYCLE_BY_VALUES = """
config:
    p: str = "d"
    q: str = "d"

task a(p: str):
    input: src = "{p}/y.txt"
    output: x = "{p}/x.txt"
    shell: "cp {input.src} {output.x}"

task b(q: str):
    input: src = "{q}/x.txt"
    output: y = "{q}/y.txt"
    shell: "cp {input.src} {output.y}"

task c():
    output: z = "z.txt"
    shell: "echo z > {output.z}"

workflow wa:
    a

workflow wb:
    b

workflow wc:
    c
"""


def test_cycle_through_files_proved_by_patterns(tmp_path: Path) -> None:
    p = make_project(tmp_path, CYCLE)
    lint = outflow(p, "--lint", check=2)
    head = (
        f"{p / 'Outflowfile'}:2:12: a cycle through files: task 'a' reads y.txt (line 2:12), "
        "which task 'b' makes (line 8:13); task 'b' reads x.txt (line 7:12), "
        "which task 'a' makes (line 3:13)"
    )
    assert lint.stderr.splitlines() == [
        head,
        '        input: src = "./y.txt"',
        "               ^",
        "  no job of a cycle can start: one of these tasks must read another file",
    ]
    run = outflow(p, "wa", "wb", check=2)
    assert run.stderr.splitlines()[0] == head
    assert sorted(os.listdir(p)) == ["Outflowfile"]  # nothing ran, not even c


def test_cycle_through_files_shown_by_bound_values(tmp_path: Path) -> None:
    p = make_project(tmp_path, CYCLE_BY_VALUES)
    outflow(p, "--lint")  # the patterns prove nothing
    head = (
        f"{p / 'Outflowfile'}:6:12: a cycle through files: job 'a' reads d/y.txt (line 6:12), "
        "which job 'b' makes (line 12:13); job 'b' reads d/x.txt (line 11:12), "
        "which job 'a' makes (line 7:13)"
    )
    for args in (["-n"], []):
        run = outflow(p, *args, "wa", "wb", "wc", check=2)
        assert run.stderr.splitlines()[0] == head
        assert "0 ran" not in run.stdout + run.stderr
    assert not (p / "z.txt").exists()  # c, which is not in the cycle, did not run
    outflow(p, "-C", "q=e", "-n", "wa", "wb", "wc", check=1)  # no cycle: missing inputs instead


# --- 3. one file, one spelling -----------------------------------------------

SPELLINGS = """
config:
    where: path = "./data/../data/x.txt"

task make():
    output: out = "data//x.txt"
    shell: "echo make >> ran.log; echo made > {output.out}"

task use():
    input: src = "./data/x.txt"
    output: res = "res.txt"
    shell: "echo use >> ran.log; cat {input.src} > {output.res}"

task show(where: path):
    input: src = "{where}"
    output: res = "shown.txt"
    shell: "echo show >> ran.log; cat {input.src} > {output.res}"

workflow wm:
    make

workflow wu:
    use

workflow ws:
    show
"""


def test_path_spellings_are_one_file(tmp_path: Path) -> None:
    p = make_project(tmp_path, SPELLINGS)
    dry = outflow(p, "-n", "wm", "wu", "ws")
    assert "use   upstream make will run" in dry.stdout
    assert "show  upstream make will run" in dry.stdout
    outflow(p, "wm", "wu", "ws")
    assert lines(p / "ran.log")[0] == "make" and sorted(lines(p / "ran.log")) == [
        "make", "show", "use"
    ]
    assert (p / "res.txt").read_text() == "made\n" == (p / "shown.txt").read_text()
    # A file target in another spelling is the same file, made by the same job.
    (p / "data" / "x.txt").unlink()
    (p / "ran.log").unlink()
    outflow(p, "./data/../data//x.txt")
    assert lines(p / "ran.log") == ["make"]
    assert "Nothing to do" in outflow(p, "-n", "wm", "wu", "ws").stdout


def test_is_normal_lets_through_only_normal_paths() -> None:
    """The quick test in front of ``normalize`` never lets a path through
    that the long way (``posixpath.normpath``) would change."""
    import posixpath

    from outflowfile.language.ownership import is_normal

    for n in range(8):
        for chars in itertools.product("a./", repeat=n):
            path = "".join(chars)
            if is_normal(path):
                assert posixpath.normpath(path) == path, path
                assert normalize(path) == path, path


# --- 4. one job per key ----------------------------------------------------------

MAP_AND_ONE = """
config:
    xs: list = [1, 2, 3]
    x: int = 2

task sq(x: int) -> y: int:
    run:
        open("ran.log", "a").write(f"sq {x}\\n")
        return x * x

task show(y: list):
    run:
        open("got.log", "a").write(f"map {y}\\n")

task one(y: int):
    run:
        open("got.log", "a").write(f"one {y}\\n")

workflow all:
    (map(xs -> x) { sq } | show, sq | one)
"""


def test_same_job_inside_and_outside_a_map_runs_once(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAP_AND_ONE)
    dry = outflow(p, "-n")
    assert "Would run 5 jobs:" in dry.stdout and "  sq    3" in dry.stdout
    outflow(p)
    assert sorted(lines(p / "ran.log")) == ["sq 1", "sq 2", "sq 3"]
    assert sorted(lines(p / "got.log")) == ["map [1, 4, 9]", "one 4"]
    assert "Nothing to do" in outflow(p, "-n").stdout


# --- 5. ordered timestamps after early cutoff ----------------------------------

CHAIN = """
task a():
    input: src = "src.txt"
    output: x = "x.txt"
    shell: "echo a >> ran.log; cp {input.src} {output.x}"

task b():
    input: x = "x.txt"
    output: y = "y.txt"
    shell: "echo b >> ran.log; cp {input.x} {output.y}"

task c():
    input: y = "y.txt"
    output: z = "z.txt"
    shell: "echo c >> ran.log; cp {input.y} {output.z}"

workflow all:
    a | b | c
"""


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def test_early_cutoff_keeps_timestamps_ordered(tmp_path: Path) -> None:
    p = make_project(tmp_path, CHAIN, {"src.txt": "hello\n"})
    outflow(p)
    (p / "ran.log").unlink()
    before = {name: (p / name).read_text() for name in ("x.txt", "y.txt", "z.txt")}
    old_z = _mtime(p / "z.txt")
    outflow(p, "-R", "a")  # a remakes x.txt, identical: b and c are kept
    assert lines(p / "ran.log") == ["a"]
    assert {name: (p / name).read_text() for name in before} == before
    x, y, z = (_mtime(p / n) for n in ("x.txt", "y.txt", "z.txt"))
    assert x <= y <= z and z > old_z
    # The records say the files as they are now: nothing to do, and the
    # next run is a no-op that touches nothing.
    assert "Nothing to do" in outflow(p, "-n").stdout
    outflow(p)
    assert lines(p / "ran.log") == ["a"]
    assert (_mtime(p / "y.txt"), _mtime(p / "z.txt")) == (y, z)
    # The kept records still lead to reruns when the content changes.
    (p / "src.txt").write_text("changed\n")
    outflow(p)
    assert lines(p / "ran.log") == ["a", "a", "b", "c"]
    assert (p / "z.txt").read_text() == "changed\n"


SLOW_READER = """
task a():
    input: src = "src.txt"
    output: x = "x.txt"
    shell: "cp {input.src} {output.x}"

task b():
    input: x = "x.txt"
    output: y = "y.txt"
    shell: "touch b-started; sleep 60; cp {input.x} {output.y}"

workflow all:
    a | b
"""


def test_timestamps_ordered_after_a_cutoff_across_runs(tmp_path: Path) -> None:
    """A forced rerun remakes x.txt (identical) and is stopped while b runs:
    b's previous y.txt is put back, older than x.txt. The next run keeps b by
    early cutoff though nothing ran in it, and must still touch y.txt (found
    by the property test: SIGINT at 1.4 s into a forced run)."""
    import signal
    import subprocess

    from faults import wait_for
    from outflowtest import outflow_command

    p = make_project(tmp_path, SLOW_READER.replace("sleep 60; ", ""), {"src.txt": "hello\n"})
    outflow(p)
    (p / "Outflowfile").write_text(SLOW_READER)  # b's key changes: it would run again...
    outflow(p, "--touch")  # ...unless recorded as done, with y.txt as it is
    (p / "b-started").unlink()
    run = subprocess.Popen(outflow_command() + ["-F"], cwd=p, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: (p / "b-started").exists(), what="b started", proc=run)
    run.send_signal(signal.SIGINT)
    run.communicate(timeout=60)
    assert _mtime(p / "y.txt") < _mtime(p / "x.txt")  # as the interrupted run left them
    # -n first, as a user would: it must not write a plan memo saying there
    # is nothing to do, or the run takes its word and never touches y.txt
    # (found by the property test once it ran -n before each run).
    dry = outflow(p, "-n").stdout
    assert "Nothing to do" in dry
    assert "Would touch the outputs of 1 job kept by early cutoff" in dry
    outflow(p)  # nothing to run: b is kept by early cutoff
    assert _mtime(p / "y.txt") >= _mtime(p / "x.txt")
    assert (p / "y.txt").read_text() == "hello\n"
    assert "Nothing to do" in outflow(p, "-n").stdout
