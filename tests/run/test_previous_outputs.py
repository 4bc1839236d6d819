"""A job's previous outputs are kept until its new ones are complete.

Each test makes outputs, reruns the job so that it writes half of them and
then fails, is interrupted (Ctrl-C, SIGTERM) or is killed with its outflow
(``kill -9``), and checks, file by file, that the previous outputs are back
as they were (bytes and mtime), that every other file around them is
untouched, and what the next ``-n``, ``--touch`` and run say and do.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from outflowtest import cache_rows, lines, make_project, outflow, outflow_command

# One job, one output, with switches the tests flip without changing its key:
# ``fail`` makes it fail after writing half its output, ``slow`` makes it
# wait there (for a signal), ``fail-once`` makes only its first attempt fail.
ONE = """
config:
    n: int = 1

task make(n: int):
    output: o = "out/result.txt"
    retries: RETRIES
    shell: '''echo "start {n}" $(ls -A out) >> attempts.log
              echo "half {n}" > {output.o}
              if [ -e fail ]; then exit 1; fi
              if [ -e fail-once ]; then rm fail-once; exit 1; fi
              if [ -e slow ]; then sleep 300; fi
              echo "rest {n}" >> {output.o}'''

workflow all:
    make
"""

PRECIOUS = {
    "data/input.txt": "the user's data\n",
    "notes.txt": "not an output\n",
    "out/keep.txt": "a neighbour in the output's directory\n",
}


def one(tmp_path: Path, retries: int = 0) -> Path:
    (tmp_path / "above.txt").write_text("a file above the project\n")
    return make_project(tmp_path / "p", ONE.replace("RETRIES", str(retries)), PRECIOUS)


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, str, int]]:
    """Every file and link under ``root`` (not ``.outflow/``): its kind, its
    checksum (or link target) and its mtime in ns."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".outflow"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if rel in skip:
                continue
            st = os.lstat(full)
            if os.path.islink(full):
                found[rel] = ("link", os.readlink(full), st.st_mtime_ns)
            else:
                digest = hashlib.sha256(Path(full).read_bytes()).hexdigest()
                found[rel] = ("file", digest, st.st_mtime_ns)
    return found


def stashes(project: Path) -> list[str]:
    """The manifests of the stashes waiting in .outflow/aside; [] (and no
    aside/ left behind) once every one is settled."""
    aside = project / ".outflow" / "aside"
    if not aside.exists():
        return []
    names = sorted(os.listdir(aside))
    return [n for n in names if n.endswith(".json")] or names


def wait_for(predicate: Callable[[], object], timeout: float = 60) -> None:
    import time

    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def sleepers(project: Path) -> list[psutil.Process]:
    """This project's ``sleep 300`` (never another test's)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmd = proc.info["cmdline"] or []
        if cmd[:2] == ["sleep", "300"] and proc.info["cwd"] == str(project):
            found.append(proc)
    return found


def end_sleepers(project: Path) -> None:
    """The jobs of a killed outflow: its guard kills them; not waited for here."""
    for proc in sleepers(project):
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def start(project: Path, *args: str) -> subprocess.Popen[str]:
    """outflow in a session of its own, as a terminal runs it in the foreground."""
    return subprocess.Popen(outflow_command() + list(args), cwd=project, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def half_written(project: Path, path: str = "out/result.txt") -> Callable[[], bool]:
    def check() -> bool:
        full = project / path
        return full.exists() and full.read_text().startswith("half") and bool(sleepers(project))

    return check


# --- a job that fails --------------------------------------------------------


def test_a_failing_rerun_leaves_the_previous_output_as_it_was(tmp_path: Path) -> None:
    p = one(tmp_path)
    outflow(p)
    assert (p / "out" / "result.txt").read_text() == "half 1\nrest 1\n"
    (p / "fail").touch()
    before = tree(tmp_path, skip=("p/attempts.log",))
    proc = outflow(p, "-R", "make", check=1)
    assert "error: job make failed (exit status 1)" in proc.stderr
    # The job ran without its previous output in the way, which came back:
    # same bytes, same mtime, and nothing else around it changed.
    assert lines(p / "attempts.log")[-1] == "start 1 keep.txt"
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert stashes(p) == []
    # The record that made it matches it again: nothing to do.
    assert "Nothing to do" in outflow(p, "-n").stdout


def test_a_failing_job_with_a_new_key_keeps_the_previous_output(tmp_path: Path) -> None:
    p = one(tmp_path)
    outflow(p)
    (p / "fail").touch()
    before = tree(tmp_path, skip=("p/attempts.log",))
    outflow(p, "-C", "n=2", check=1)
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert "Nothing to do" in outflow(p, "-n").stdout  # with n=1, as it was made
    assert "make  failed last time" in outflow(p, "-n", "-C", "n=2").stdout


def test_retries_keep_the_previous_output_aside_until_the_last_attempt(tmp_path: Path) -> None:
    p = one(tmp_path, retries=2)
    outflow(p)
    (p / "fail").touch()
    before = tree(tmp_path, skip=("p/attempts.log",))
    proc = outflow(p, "-R", "make", check=1)
    assert "retry 1/2 make" in proc.stdout and "retry 2/2 make" in proc.stdout
    # Three attempts, none of which found the previous output or the one
    # before it had half written.
    assert lines(p / "attempts.log")[-3:] == ["start 1 keep.txt"] * 3
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert stashes(p) == []
    assert "Nothing to do" in outflow(p, "-n").stdout


def test_a_retry_that_succeeds_replaces_the_previous_output(tmp_path: Path) -> None:
    p = one(tmp_path, retries=1)
    outflow(p)
    (p / "fail-once").touch()
    before = tree(tmp_path, skip=("p/attempts.log", "p/fail-once", "p/out/result.txt"))
    outflow(p, "-C", "n=2")
    assert lines(p / "attempts.log")[-2:] == ["start 2 keep.txt"] * 2
    assert (p / "out" / "result.txt").read_text() == "half 2\nrest 2\n"
    assert tree(tmp_path, skip=("p/attempts.log", "p/out/result.txt")) == before
    assert stashes(p) == [] and not (p / ".outflow" / "aside").exists()


# --- a job that is interrupted ------------------------------------------------


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_an_interrupted_rerun_puts_the_previous_output_back(tmp_path: Path, how: str) -> None:
    p = one(tmp_path)
    outflow(p)
    (p / "slow").touch()
    before = tree(tmp_path, skip=("p/attempts.log",))
    run = start(p, "-R", "make")
    try:
        wait_for(half_written(p))
        assert len(stashes(p)) == 1  # the previous output waits there
        if how == "ctrl-c":  # what a terminal does: the whole foreground group
            os.killpg(run.pid, signal.SIGINT)
        else:
            run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == (130 if how == "ctrl-c" else 143), err
    wait_for(lambda: not sleepers(p), timeout=15)
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert stashes(p) == []
    assert cache_rows(p, "select status from jobs order by id") == [("done",), ("interrupted",)]
    (p / "slow").unlink()
    assert "Nothing to do" in outflow(p, "-n").stdout


# --- outflow killed -----------------------------------------------------------


def kill_9_mid_job(p: Path, *args: str) -> None:
    """Run outflow, kill it outright once the job has half written its output."""
    (p / "slow").touch()
    run = start(p, *args)
    try:
        wait_for(half_written(p))
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    end_sleepers(p)
    (p / "slow").unlink()
    assert (p / "out" / "result.txt").read_text().startswith("half")
    assert len(stashes(p)) == 1


def test_after_kill_9_the_next_run_restores_then_reruns(tmp_path: Path) -> None:
    p = one(tmp_path)
    outflow(p)
    before = tree(tmp_path, skip=("p/attempts.log",))
    kill_9_mid_job(p, "-C", "n=2")
    # -n changes nothing, and says what the run will do first.
    left = tree(tmp_path)
    proc = outflow(p, "-n", "-C", "n=2")
    assert tree(tmp_path) == left and len(stashes(p)) == 1
    assert "the next run removes 1 partial output file and restores 1 previous output" \
        in proc.stdout
    assert "make  left incomplete by an interrupted run" in proc.stdout
    # With n=1, the previous output and its record are what the run keeps.
    assert "Nothing to do" in outflow(p, "-n").stdout
    proc = outflow(p, "-C", "n=2")
    assert "1 jobs were left incomplete by an interrupted run; removed 1 partial output " \
           "file and restored 1 previous output" in proc.stdout
    assert (p / "out" / "result.txt").read_text() == "half 2\nrest 2\n"
    after = tree(tmp_path, skip=("p/attempts.log", "p/out/result.txt"))
    assert after == {k: v for k, v in before.items() if k != "p/out/result.txt"}
    assert stashes(p) == []
    assert "Nothing to do" in outflow(p, "-n", "-C", "n=2").stdout


def test_after_kill_9_touch_never_records_the_half_written_output(tmp_path: Path) -> None:
    # Issue 17: a rerun of a key that already has a done record, killed;
    # --touch took the half-written file as the job's output.
    p = one(tmp_path)
    outflow(p)
    before = tree(tmp_path, skip=("p/attempts.log",))
    kill_9_mid_job(p, "-R", "make")
    proc = outflow(p, "--touch")
    assert "restored 1 previous output" in proc.stdout
    assert "touched 0 jobs, 1 up to date" in proc.stdout
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert stashes(p) == []
    assert "Nothing to do" in outflow(p, "-n").stdout
    done = cache_rows(p, "select files from jobs where status = 'done'")
    assert len(done) == 1 and "half 1" not in done[0][0]


def test_after_kill_9_touch_leaves_a_new_key_to_run(tmp_path: Path) -> None:
    p = one(tmp_path)
    outflow(p)
    before = tree(tmp_path, skip=("p/attempts.log",))
    kill_9_mid_job(p, "-C", "n=2")
    proc = outflow(p, "--touch", "-C", "n=2", check=1)  # a job is left to run
    assert "touched 0 jobs" in proc.stdout
    assert "not touched make: left incomplete by an interrupted run" in proc.stdout
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert "make  left incomplete by an interrupted run" in outflow(p, "-n", "-C", "n=2").stdout
    outflow(p, "-C", "n=2")
    assert (p / "out" / "result.txt").read_text() == "half 2\nrest 2\n"


THREE = """
config:
    n: int = 1

task fresh(n: int):
    output: f = "new/fresh.txt"
    shell: "echo half > {output.f}; if [ -e slow ]; then sleep 300; fi; echo rest >> {output.f}"

task again(n: int):
    output: a = "out/again.txt"
    shell: '''echo half {n} > {output.a}; if [ -e slow ]; then sleep 300; fi
              echo rest {n} >> {output.a}'''

task quick():
    output: q = "out/quick.txt"
    shell: "echo quick > {output.q}"

workflow all:
    (fresh, again, quick)
"""


def test_after_kill_9_exactly_the_partial_outputs_go_and_the_previous_come_back(
    tmp_path: Path,
) -> None:
    # Issue 17 (6): a recovery that removes or restores nothing must fail here.
    (tmp_path / "above.txt").write_text("above\n")
    p = make_project(tmp_path / "p", THREE, PRECIOUS)
    outflow(p, "again", "quick")
    assert not (p / "new").exists()
    before = tree(tmp_path)
    (p / "slow").touch()
    run = start(p, "-j", "3", "-C", "n=2")
    try:
        wait_for(lambda: len(sleepers(p)) == 2 and half_written(p, "new/fresh.txt")()
                 and half_written(p, "out/again.txt")())
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    end_sleepers(p)
    (p / "slow").unlink()
    proc = outflow(p, "--touch", "-C", "n=2", check=1)
    assert "2 jobs were left incomplete by an interrupted run; removed 2 partial output " \
           "files and restored 1 previous output" in proc.stdout
    # fresh had nothing before: its partial file is gone; again's previous
    # output is back; quick (up to date) and every other file untouched.
    assert not (p / "new" / "fresh.txt").exists()
    assert tree(tmp_path) == {k: v for k, v in before.items() if k != "p/slow"}
    assert stashes(p) == []


# --- outputs of every kind, and where they live -------------------------------

DIRECTORY = """
task listing():
    output: d = "results"
    shell: '''mkdir -p {output.d}/sub; echo a > {output.d}/a.txt; echo b > {output.d}/sub/b.txt
              ln -s a.txt {output.d}/link; if [ -e fail ]; then exit 1; fi'''

task pointer():
    output: l = "latest"
    shell: "ln -s data/input.txt {output.l}; if [ -e fail ]; then exit 1; fi"

workflow all:
    (listing, pointer)
"""


def test_a_directory_and_a_link_output_come_back_whole(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", DIRECTORY, PRECIOUS)
    outflow(p)
    (p / "results" / "extra.txt").write_text("made by hand since\n")
    os.utime(p / "results", ns=(1_000_000_000, 1_000_000_000))
    (p / "fail").touch()
    before = tree(tmp_path)
    dir_mtime = os.stat(p / "results").st_mtime_ns
    proc = outflow(p, "-F", "-k", check=1)
    assert "error: job listing failed" in proc.stderr and "error: job pointer failed" in proc.stderr
    assert tree(tmp_path) == before
    assert os.stat(p / "results").st_mtime_ns == dir_mtime
    assert os.readlink(p / "latest") == "data/input.txt"
    assert stashes(p) == []


CHUNKS = """
task split():
    output: d = "chunks"
    shell: '''mkdir -p {output.d}; echo half > {output.d}/1.txt
              if [ -e slow ]; then sleep 300; fi
              echo one > {output.d}/1.txt; echo two > {output.d}/2.txt'''

task listing(d: path) -> (parts: list):
    run:
        import os
        return sorted(os.path.join(d, n) for n in os.listdir(d))

task upper(part: path):
    output: up = "up/{part}"
    shell: "tr a-z A-Z < {part} > {output.up}"

workflow all:
    split | listing | map(parts -> part) { upper }
"""


def test_after_kill_9_a_dry_run_sees_the_files_of_a_directory_put_back(tmp_path: Path) -> None:
    """Issue 17: the jobs reading the files of a directory output that a
    killed rerun left aside. ``-n`` plans over the files as the next run
    will put them back, inside the directory too: nothing to do, as the
    run then finds (it said 'input file chunks/1.txt does not exist and no
    job makes it' and exited 1)."""
    p = make_project(tmp_path / "p", CHUNKS, PRECIOUS)
    outflow(p)
    (p / "slow").touch()
    run = start(p, "-F")
    try:
        wait_for(half_written(p, "chunks/1.txt"))
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=30)
    end_sleepers(p)
    (p / "slow").unlink()
    assert len(stashes(p)) == 1 and not (p / "chunks" / "2.txt").exists()
    left = tree(tmp_path)
    proc = outflow(p, "-n")
    assert "the next run removes 1 partial output file and restores 1 previous output" \
        in proc.stdout
    assert "Nothing to do" in proc.stdout
    assert tree(tmp_path) == left
    assert "0 ran, 4 up to date" in outflow(p).stdout
    assert (p / "up" / "chunks" / "2.txt").read_text() == "TWO\n"


OUTSIDE = """
task away():
    output: o = "WHERE/result.txt"
    shell: '''ls -A WHERE > listing.log; echo half > {output.o}
              if [ -e fail ]; then exit 1; fi; echo rest >> {output.o}'''

workflow all:
    away
"""


def _outside(tmp_path: Path, where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    (where / "neighbour.txt").write_text("not outflow's\n")
    p = make_project(tmp_path / "p", OUTSIDE.replace("WHERE", str(where)), PRECIOUS)
    outflow(p)
    assert (where / "result.txt").read_text() == "half\nrest\n"
    (p / "fail").touch()
    before, outside = tree(tmp_path, skip=("p/listing.log",)), tree(where)
    outflow(p, "-R", "away", check=1)
    assert tree(tmp_path, skip=("p/listing.log",)) == before and tree(where) == outside
    assert stashes(p) == [] and sorted(os.listdir(where)) == ["neighbour.txt", "result.txt"]
    assert "Nothing to do" in outflow(p, "-n").stdout


def test_an_absolute_output_outside_the_project(tmp_path: Path) -> None:
    _outside(tmp_path, tmp_path / "elsewhere")
    # Same filesystem: the previous output waited under .outflow/aside.
    assert (tmp_path / "p" / "listing.log").read_text().split() == ["neighbour.txt"]


def test_an_absolute_output_on_another_filesystem(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) here")
    where = shm / f"outflow-test-{os.getpid()}-{tmp_path.name}"
    try:
        _outside(tmp_path, where)
        # rename() cannot cross filesystems: it waited beside, hidden.
        seen = (tmp_path / "p" / "listing.log").read_text().split()
        assert seen[1] == "neighbour.txt" and len(seen) == 2
        assert seen[0].startswith(".result.txt.outflow-aside-")
    finally:
        subprocess.run(["rm", "-rf", str(where)], check=False)


# --- a run that died between two steps of setting aside ------------------------
# kill -9 cannot be aimed between two system calls: the state such a death
# leaves is written here as outflow writes it (a manifest, whole, then renames).


def _manifest(p: Path, moved: bool) -> Path:
    (key, row), = cache_rows(p, "select key, id from jobs where status = 'done'")
    aside = p / ".outflow" / "aside"
    aside.mkdir()
    manifest = aside / "dead.json"
    manifest.write_text(json.dumps({"key": key, "previous": row, "outputs": [
        {"path": "out/result.txt",
         "aside": ["dead.0", "out/.result.txt.outflow-aside-dead"]}]}))
    if moved:
        os.rename(p / "out" / "result.txt", aside / "dead.0")
    return manifest


@pytest.mark.parametrize("moved", [False, True], ids=["before-the-rename", "after-it"])
def test_a_run_that_died_setting_aside_loses_nothing(tmp_path: Path, moved: bool) -> None:
    p = one(tmp_path)
    outflow(p)
    before = tree(tmp_path, skip=("p/attempts.log",))
    _manifest(p, moved)
    left = tree(tmp_path)
    proc = outflow(p, "-n")
    assert tree(tmp_path) == left  # -n changes nothing
    assert "Nothing to do" in proc.stdout  # and plans as the run will find it
    assert ("the next run restores 1 previous output" in proc.stdout) == moved
    proc = outflow(p)
    assert ("restored 1 previous output" in proc.stdout) == moved
    assert "0 ran, 1 up to date" in proc.stdout
    assert tree(tmp_path, skip=("p/attempts.log",)) == before
    assert stashes(p) == []
