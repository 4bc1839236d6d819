"""What only the values show a job must not write (issue 16): each
Outflowfile of ``tests/run/valued/`` passes ``--lint`` (its patterns prove
nothing wrong), and its bound paths are refused by ``-n``, a run, ``-F``,
``--clean --yes`` and ``--touch`` alike: exit 2, the located message naming
the job and the path, before any job that would write them starts and
before any file is removed. No file beside, above or in the project changes.

A corpus file starts with ``# expect: LINE:COL: message``; ``# dynamic``
marks one whose paths are known only once an upstream job ran (a map over
its value), ``# symlink: LINK -> TARGET`` makes a symbolic link in the
project first. ``@PROJECT@`` and ``@ABOVE@`` stand for the project
directory and the directory holding it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from aroundfiles import checksums, plant
from faults import wait_for
from outflowtest import cache_rows, make_project, outflow, outflow_command
from ownedcorpus import interrupted_run

VALUED = Path(__file__).parent / "valued"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+?)\s*\Z")
SYMLINK = re.compile(r"# symlink: (\S+) -> (\S+)\s*\Z")

PRECIOUS = {
    "above.txt": "above the project\n",
    "beside/precious.txt": "a sibling project's file\n",
    "victim/file.txt": "someone else's file\n",
    "victim/a.txt": "someone else's a\n",
    "proj/data.txt": "the only copy\n",
    "proj/raw/data.txt": "raw data\n",
    "proj/data/a.txt": "a\n",
    "proj/results/keep.txt": "kept\n",
    "proj/out/keep.txt": "kept\n",
    "proj/squares/keep.txt": "kept\n",
}


def corpus() -> list[Path]:
    return sorted(VALUED.glob("*.outflow"))


@dataclass
class Case:
    top: Path
    project: Path
    outflowfile: Path
    line: int
    column: int
    message: str
    dynamic: bool

    @property
    def head(self) -> str:
        return f"{self.outflowfile}:{self.line}:{self.column}: {self.message}"




def setup(source: Path, tmp_path: Path) -> Case:
    top = tmp_path / "top"
    plant(top, PRECIOUS)
    project = top / "proj"
    text = source.read_text(encoding="utf-8")
    text = text.replace("@PROJECT@", os.path.realpath(project))
    text = text.replace("@ABOVE@", os.path.realpath(top))
    path = project / "Outflowfile"
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    match = EXPECT.match(lines[0])
    assert match, f"{source.name}: the first line must be '# expect: LINE:COL: message'"
    for line in lines[1:]:
        link = SYMLINK.match(line)
        if link:
            (project / link.group(1)).symlink_to(link.group(2))
    return Case(top, project, path, int(match.group(1)), int(match.group(2)), match.group(3),
                "# dynamic" in lines)


def assert_untouched(case: Case, before: dict[str, str], args: list[str]) -> None:
    """Every file there was is as it was; nothing new but outflow's own."""
    now = checksums(case.top)
    changed = sorted(k for k in before if now.get(k) != before[k])
    assert not changed, (args, changed)
    new = sorted(k for k in now if k not in before and not k.startswith("proj/.outflow/"))
    assert not new, (args, new)


def test_corpus_is_there() -> None:
    assert len(corpus()) >= 12
    assert sum("# dynamic" in p.read_text() for p in corpus()) >= 3


@pytest.mark.parametrize("source", corpus(), ids=lambda p: p.stem)
def test_lint_sees_nothing_wrong(source: Path, tmp_path: Path) -> None:
    case = setup(source, tmp_path)
    proc = outflow(case.project, "--lint", check=0)
    assert proc.stdout.startswith(f"{case.outflowfile}: ok (")


@pytest.mark.parametrize("source", corpus(), ids=lambda p: p.stem)
def test_refused_before_anything_is_touched(source: Path, tmp_path: Path) -> None:
    case = setup(source, tmp_path)
    before = checksums(case.top)
    commands: list[list[str]] = [["-n"], [], ["-F"], ["--clean", "--yes"], ["--touch"]]
    if case.dynamic:
        # The map's items are an upstream job's value: unknown until it ran.
        proc = outflow(case.project, "-n", check=0)
        assert "cannot be sized" in proc.stdout + proc.stderr or "Would run" in proc.stdout
        assert_untouched(case, before, ["-n"])
        commands = [[], ["-n"], ["-F"], ["--clean", "--yes"], ["--touch"]]
    for args in commands:
        proc = outflow(case.project, *args, check=2)
        assert case.head in proc.stderr.splitlines(), (args, proc.stderr)
        assert_untouched(case, before, args)
    assert interrupted_run(case.project) in (2, 130, -2)  # refused, or stopped by Ctrl-C
    assert_untouched(case, before, ["Ctrl-C"])
    if case.dynamic:
        # The upstream job ran and stays done; no job of the map ever started.
        rows = cache_rows(case.project, "select task, status from jobs")
        assert rows and all(task == "names" and status == "done" for task, status in rows), rows
    else:  # (a run takes the project's lock first: .outflow/lock)
        assert not (case.project / ".outflow" / "outflow.db").exists()


# -- a dynamic map refused while another map's jobs run, and Ctrl-C -------------------

RUNNING = """
task names() -> (xs: list):
    run:
        return ["a", "b"]

task slow(x: str):
    output: o = "slow/{x}.txt"
    shell: "echo started > {output.o}; sleep 300; echo done >> {output.o}"

task late() -> (ys: list):
    run:
        import os, time
        while not (os.path.exists("slow/a.txt") and os.path.exists("slow/b.txt")):
            time.sleep(0.05)
        return ["c", "./c"]

task write(y: str):
    output: b = "bad/{y}.txt"
    shell: "echo {y} > {output.b}"

workflow all:
    (names | map(xs -> x) { slow }, late | map(ys -> y) { write })
"""


def _sleepers(project: Path) -> list[int]:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        command = proc.info["cmdline"] or []
        if command[:2] == ["sleep", "300"] and proc.info["cwd"] == str(project):
            found.append(proc.pid)
    return found


def _precious(tmp_path: Path) -> Path:
    top = tmp_path / "top"
    plant(top, PRECIOUS)
    return top


def _done(project: Path, task: str) -> bool:
    db = project / ".outflow" / "outflow.db"
    return db.exists() and cache_rows(project, f"select status from jobs where task='{task}'") == [
        ("done",)]


def _refused_write(project: Path) -> str:
    return (
        f"{project / 'Outflowfile'}:17:13: output 'b' of job write[y='./c'] is bad/c.txt, "
        "the same path as output 'b' of job write[y='c'] (bad/c.txt)"
    )


def test_a_dynamic_map_refused_while_other_jobs_run(tmp_path: Path) -> None:
    """``late`` ends while the jobs of the other map run: its map is refused
    before any of its jobs starts, the running ones end and stay done."""
    top = _precious(tmp_path)
    project = make_project(top / "proj", RUNNING.replace("sleep 300", "sleep 2"))
    before = checksums(top)
    proc = outflow(project, "-j", "3", check=2)
    assert _refused_write(project) in proc.stderr.splitlines(), proc.stderr
    assert not (project / "bad").exists()
    assert (project / "slow" / "a.txt").read_text() == "started\ndone\n"
    rows = sorted(cache_rows(project, "select task, status from jobs"))
    assert rows == [("late", "done"), ("names", "done"), ("slow", "done"), ("slow", "done")]
    now = checksums(top)
    assert {k: now.get(k) for k in before} == before
    proc = outflow(project, "-j", "3", check=2)  # again: nothing reruns, still refused
    assert _refused_write(project) in proc.stderr.splitlines(), proc.stderr
    assert len(cache_rows(project, "select task from jobs")) == 4


def test_ctrl_c_while_a_dynamic_maps_jobs_run(tmp_path: Path) -> None:
    top = _precious(tmp_path)
    project = make_project(top / "proj", RUNNING)
    before = checksums(top)
    run = subprocess.Popen(outflow_command() + ["-j", "3"], cwd=project, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(_sleepers(project)) == 2, what="the map's jobs running", proc=run)
        wait_for(lambda: _done(project, "late"), what="late recorded", proc=run)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, err
    assert "cancelled running jobs: slow x=a, slow x=b" in err
    wait_for(lambda: not _sleepers(project), timeout=15, what="the jobs gone")
    now = checksums(top)
    assert {k: now.get(k) for k in before} == before
    assert not (project / "bad").exists()
    assert not list((project / "slow").glob("*.txt"))  # half made: removed
    # The next plan, with the map's items known, refuses it.
    proc = outflow(project, "-n", check=2)
    assert _refused_write(project) in proc.stderr.splitlines(), proc.stderr
    assert not (project / "bad").exists()


# -- what is legitimate still runs ---------------------------------------------------------

LEGIT = """
config:
    xs: list[str] = ["a", "b"]
    away: str = "@AWAY@"

task names() -> (ys: list):
    run:
        return ["c", "./d"]

task square(x: str):
    log: "logs/{x}.log"
    output: o = "alias/{x}.txt"
    shell: "echo {x}; echo {x} > {output.o}"

task publish(x: str, o: str, away: str):
    input: i = "{o}"
    output: p = "/{away}/{x}.txt"
    shell: "cp {input.i} {output.p}"

task more(y: str):
    output: m = "more/{y}.txt"
    shell: "echo {y} > {output.m}"

workflow all:
    (map(xs -> x) { square | publish }, names | map(ys -> y) { more })
"""


def test_legitimate_values_run(tmp_path: Path) -> None:
    """Absolute output patterns outside the project (a map into tmp_path),
    a symbolic link to a directory inside the project, logs, and a dynamic
    map whose items differ: planned, run, forced, touched and cleaned."""
    top = _precious(tmp_path)
    away = tmp_path / "away"
    project = top / "proj"
    project.mkdir(exist_ok=True)
    (project / "alias").symlink_to("out")
    make_project(project, LEGIT.replace("@AWAY@", str(away)))
    before = checksums(top)
    outflow(project, "--lint")
    outflow(project, "-n")
    proc = outflow(project, "-j", "2")
    assert "7 ran, 0 up to date" in proc.stdout
    assert (away / "a.txt").read_text() == "a\n" and (away / "b.txt").read_text() == "b\n"
    assert (project / "out" / "a.txt").read_text() == "a\n"
    assert sorted(p.name for p in (project / "more").iterdir()) == ["c.txt", "d.txt"]
    assert (project / "logs" / "a.log").read_text() == "a\n"
    assert "Nothing to do" in outflow(project, "-n").stdout
    assert "7 ran, 0 up to date" in outflow(project, "-F", "-j", "2").stdout
    outflow(project, "--clean", "--yes")
    assert not (project / "out" / "a.txt").exists() and (away / "a.txt").exists()
    now = checksums(top)
    assert {k: now.get(k) for k in before} == before
