"""Files stat-ed by a helper process while the plan goes on (prestat.py).

The helper starts only with two usable cores or more: the machine the suite
runs on in CI has two. Each plan it helps is checked against the same plan
made on one core (``taskset -c 0``), where no helper starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from outflowfile.machine import usable_cores
from outflowfile.plan import stamps
from outflowfile.plan.prestat import MIN_FILES, Prestat
from tests.outflowtest import COPY_THEN_TOTAL as OUTFLOWFILE
from tests.outflowtest import make_project, outflow, outflow_command

# --- the helper itself ------------------------------------------------------


def many_files(root: Path, count: int) -> list[str]:
    """``count`` files of different sizes under ``root``, relative paths."""
    paths = []
    for i in range(count):
        rel = f"d{i % 3}/f {i}.txt"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x" * (i % 17))
        paths.append(rel)
    return paths


def as_os_stat(root: Path, paths: list[str]) -> dict[str, tuple[int, int] | None]:
    found: dict[str, tuple[int, int] | None] = {}
    for p in paths:
        try:
            st = os.stat(p if p.startswith("/") else root / p)
            found[p] = (st.st_mtime_ns, st.st_size)
        except OSError:
            found[p] = None
    return found


def test_the_helper_needs_two_cores_here() -> None:
    assert usable_cores() >= 2, "the tests of prestat.py need two usable cores"


def test_the_helper_finds_what_os_stat_finds(tmp_path: Path) -> None:
    paths = many_files(tmp_path, MIN_FILES)
    odd = tmp_path / "odd\nname \udcff.txt"  # a newline, and a byte that is not UTF-8
    odd.write_bytes(b"odd")
    os.utime(tmp_path / paths[5], ns=(0, -1_500_000_000))  # before 1970
    paths += [
        "missing.txt", "d0/missing/deeper.txt", str(tmp_path / paths[1]), odd.name, "d1",
    ]  # fmt: skip
    os.symlink(paths[2], tmp_path / "link")  # a link and a directory: their own stamps
    paths.append("link")
    helper = Prestat.start(paths, str(tmp_path))
    assert helper is not None
    found = helper.collect()
    special = {"d1", "link"}
    plain = [p for p in paths if p not in special]
    assert {p: found[p] for p in plain} == as_os_stat(tmp_path, plain)
    assert {p: found[p] for p in special} == {
        p: stamps.stat_file(str(tmp_path / p)) for p in special
    }
    assert found["missing.txt"] is None and found[odd.name] == (odd.stat().st_mtime_ns, 3)
    assert found[paths[5]][0] == -1_500_000_000


def test_too_few_files_start_no_helper(tmp_path: Path) -> None:
    paths = many_files(tmp_path, 10)
    assert Prestat.start(paths, str(tmp_path)) is None
    assert Prestat.start(paths * (MIN_FILES // 10), str(tmp_path)) is not None


def test_a_killed_helper_gives_nothing(tmp_path: Path) -> None:
    # A real SIGKILL, sent to the helper before it has read all of its list
    # or while it works: either way it ends before writing.
    paths = many_files(tmp_path, 50) * (4 * MIN_FILES // 50)
    helper = Prestat.start(paths, str(tmp_path))
    assert helper is not None
    os.kill(helper.pid, signal.SIGKILL)
    assert helper.collect() is None


def test_cancel_ends_the_helper(tmp_path: Path) -> None:
    helper = Prestat.start(many_files(tmp_path, 50) * MIN_FILES, str(tmp_path))
    assert helper is not None
    helper.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(helper.pid, 0)  # gone, and reaped


# --- plans it helps -----------------------------------------------------------

# 10,001 files: the plan memo's check hands half of them to a helper.
ITEMS = MIN_FILES


@pytest.fixture()
def big(tmp_path: Path) -> Path:
    """A project whose jobs are all up to date (adopted with --touch, which is
    quicker than running 5,001 jobs) and planned once: the memo is written."""
    files = {}
    for i in range(ITEMS):
        files[f"data/s{i}.txt"] = f"{i}\n"
        files[f"out/s{i}.x"] = f"{i}\n"
    files["total.txt"] = "all\n"
    root = make_project(tmp_path / "big", OUTFLOWFILE, files)
    outflow(root, "--touch", "-q")
    assert "Nothing to do" in outflow(root, "-n").stdout
    assert memo_paths(root)
    return root


def memo_paths(root: Path) -> list[str]:
    data = (root / ".outflow" / "plan-memo").read_bytes()
    return data.split(b"\n", 3)[3].decode("utf-8", "surrogateescape").split("\0")


def on_one_core(root: Path, *args: str) -> str:
    """``outflow ARGS`` where no helper can start."""
    proc = subprocess.run(
        ["taskset", "-c", "0", *outflow_command(), *args],
        cwd=root, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return proc.stdout


def edit(path: Path, text: str) -> None:
    """Write ``text`` with an mtime clearly later than the last run's."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_edited_files_found_by_the_memo_and_its_helper(big: Path) -> None:
    # One edited file in each half of the memo's list: the first half is
    # stat-ed by outflow, the second by the helper.
    paths = memo_paths(big)
    data = [p for p in paths if p.startswith("data/")]
    first, last = data[0], data[-1]
    assert paths.index(first) < len(paths) // 2 <= paths.index(last)
    edit(big / first, "first, edited\n")
    edit(big / last, "last, edited\n")
    plan = outflow(big, "-n").stdout
    assert plan == on_one_core(big, "-n")
    assert "Would run 3 jobs" in plan
    for p in (first, last):
        assert f"input file {p} is newer than the last run" in plan


def test_an_edited_outflowfile_plans_from_files_stat_ahead(big: Path) -> None:
    # The memo no longer applies, but its list of files is stat-ed by the
    # helper while the graph is made.
    (big / "Outflowfile").write_text(OUTFLOWFILE + "# edited\n")
    edit(big / "data" / "s7.txt", "seven, edited\n")
    plan = outflow(big, "-n").stdout
    assert plan == on_one_core(big, "-n")
    assert "Would run 2 jobs" in plan and "copy sample=s7" in plan
    assert "2 ran" in outflow(big, "-j", "2").stdout
    assert (big / "out" / "s7.x").read_text() == "seven, edited\n"
    assert "Nothing to do" in outflow(big, "-n").stdout


def test_without_a_memo_the_graphs_files_are_stat_ahead(big: Path) -> None:
    (big / ".outflow" / "plan-memo").unlink()
    (big / "out" / "s11.x").unlink()
    plan = outflow(big, "-n").stdout
    (big / ".outflow" / "plan-memo").unlink(missing_ok=True)
    assert plan == on_one_core(big, "-n")
    assert "Would run 2 jobs" in plan and "output file out/s11.x is missing" in plan


def test_the_memo_keeps_only_the_files_the_plan_looked_at(big: Path) -> None:
    # Planning other targets stats the old list ahead, total.txt included;
    # the new memo lists only what this plan looked at.
    assert "total.txt" in memo_paths(big)
    assert "Nothing to do" in outflow(big, "-n", "copy").stdout
    paths = memo_paths(big)
    assert "total.txt" not in paths
    assert len(paths) == 2 * ITEMS


def test_with_postgresql_the_graphs_files_are_stat_ahead(tmp_path: Path, pg_url: str) -> None:
    # With no plan memo, the helper stats the graph's files while the
    # records are read from PostgreSQL.
    files = {f"data/s{i}.txt": f"{i}\n" for i in range(ITEMS // 2)}
    files.update({f"out/s{i}.x": f"{i}\n" for i in range(ITEMS // 2)})
    files["total.txt"] = "all\n"
    root = make_project(tmp_path / "pg", OUTFLOWFILE, files)
    db = ("--db", pg_url)
    outflow(root, "--touch", "-q", *db)
    assert "Nothing to do" in outflow(root, "-n", *db).stdout
    (root / ".outflow" / "plan-memo").unlink()
    (root / "out" / "s3.x").unlink()
    edit(root / "data" / "s4.txt", "four, edited\n")
    plan = outflow(root, "-n", *db).stdout
    assert plan == on_one_core(root, "-n", *db)
    assert "Would run 3 jobs" in plan
    assert "output file out/s3.x is missing" in plan
    assert "input file data/s4.txt is newer than the last run" in plan
