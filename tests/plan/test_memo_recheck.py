"""The plan memo's re-check: when another process writes the cache between
the memo check and the run's lock, nothing the memo found is trusted
(``run/session.py``'s ``_plan_snapshot``: the cache's state is compared
again). Issue 17, deliverable 6.

Two real ``outflow`` processes against one cache (the project's SQLite
file, and a PostgreSQL ``--db``): A plans with the memo's help, B forgets
the ``copy`` jobs' records in between. Nothing can order B between A's memo
check and A's lock but a test-only seam: ``OUTFLOW_TEST_AFTER_MEMO`` names
a FIFO that A opens after the memo check and reads to its end before going
on (session.py, ``_test_gate_after_memo``). The test's opening it says A is
there; closing it lets A go on.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.outflowtest import COPY_THEN_TOTAL, make_project, outflow, outflow_command

DATA = {"data/a.txt": "a\n", "data/b.txt": "b\n", "data/c.txt": "c\n"}


def run_with_another_between(root: Path, db: list[str], args: list[str]) -> str:
    """``outflow ARGS`` in ``root`` (A), with ``outflow --forget copy`` (B)
    run to its end after A's memo check and before A takes the lock."""
    gate = root.parent / "gate"
    os.mkfifo(gate)
    env = dict(os.environ, OUTFLOW_TEST_AFTER_MEMO=str(gate))
    env.pop("OUTFLOW_DB", None)
    a = subprocess.Popen(outflow_command() + db + args, cwd=root, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    try:
        with open(gate, "wb"):  # returns once A has opened it: A is past the memo check
            forgot = outflow(root, *db, "--forget", "copy")
            assert "copy" in forgot.stdout + forgot.stderr
        out, _ = a.communicate(timeout=120)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert a.returncode == 0, out
    return out


def project_with_memo(root: Path, db: list[str]) -> Path:
    make_project(root, COPY_THEN_TOTAL, DATA)
    outflow(root, *db, "-j", "2", "-q")
    assert (root / ".outflow" / "plan-memo").exists()
    # A comment: the fingerprint changes, no key does; the next plan decides
    # every job from the memo's keys and stamps (its trust), not its records.
    path = root / "Outflowfile"
    path.write_text("# edited\n" + path.read_text())
    return root


def check_the_forgotten_jobs_ran(root: Path, db: list[str], out: str) -> None:
    assert "3 ran" in out, out  # the three copies, whose records B removed
    assert "copy sample=a" in out
    proc = outflow(root, *db, "-n")
    assert "Nothing to do" in proc.stdout, proc.stdout


@pytest.mark.parametrize("args", [["-j", "2"], ["-n"]])
def test_a_cache_written_after_the_memo_check_is_read_again_sqlite(
    tmp_path: Path, args: list[str]
) -> None:
    root = project_with_memo(tmp_path / "p", [])
    out = run_with_another_between(root, [], args)
    if args == ["-n"]:
        assert "Would run" in out and "copy sample=a" in out, out
        assert "Nothing to do" not in out
        return
    check_the_forgotten_jobs_ran(root, [], out)


def test_a_cache_written_after_the_memo_check_is_read_again_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    db = ["--db", pg_url]
    root = project_with_memo(tmp_path / "p", db)
    out = run_with_another_between(root, db, ["-j", "2"])
    check_the_forgotten_jobs_ran(root, db, out)
