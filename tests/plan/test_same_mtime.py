"""A file replaced by one of another size with the same mtime (what ``cp -p``,
``rsync -t`` or a restored backup make) is a changed file, to every way a
plan is made: answered from the plan memo (the no-op fast path and the memo's
trust in unchanged files, ``plan/memo.py``'s ``_compare``), and in full
(``plan/stamps.py``'s ``same``). Issue 17, deliverable 6: these guards held
but no test would have noticed them go.

The mtime is set back with ``os.utime(ns=...)`` to the exact nanoseconds the
file had, so only the size tells the files apart.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.outflowtest import COPY_THEN_TOTAL, make_project, outflow

DATA = {"data/a.txt": "a\n", "data/b.txt": "b\n"}


def replace_keeping_mtime(path: Path, text: str) -> None:
    """Write ``text`` in place of ``path``'s content (another size), then
    give it back its mtime to the nanosecond, as ``cp -p`` would."""
    before = path.stat()
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert after.st_mtime_ns == before.st_mtime_ns and after.st_size != before.st_size


def prepare(root: Path, how: str) -> None:
    """Make the next plan go the way ``how`` names."""
    memo = root / ".outflow" / "plan-memo"
    if how == "memo":  # nothing but the files changed: the memo's no-op check first
        assert memo.exists()
    elif how == "memo-trust":  # the Outflowfile changed, not its keys: the memo's trust
        assert memo.exists()
        path = root / "Outflowfile"
        path.write_text("# a comment changes the fingerprint, not a key\n" + path.read_text())
    else:  # "full": no memo at all
        memo.unlink()


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "p", COPY_THEN_TOTAL, DATA)
    outflow(root, "-j", "2", "-q")
    assert "Nothing to do" in outflow(root, "-n").stdout
    return root


@pytest.mark.parametrize("how", ["memo", "memo-trust", "full"])
def test_an_input_of_another_size_with_the_same_mtime_is_a_change(project: Path, how: str) -> None:
    replace_keeping_mtime(project / "data" / "a.txt", "a, restored from a backup\n")
    prepare(project, how)
    proc = outflow(project, "-n")
    assert "copy sample=a  input file data/a.txt changed" in proc.stdout, proc.stdout
    assert "copy sample=b" not in proc.stdout
    outflow(project, "-q")
    assert (project / "out" / "a.x").read_text() == "a, restored from a backup\n"
    assert (project / "total.txt").read_text() == "a, restored from a backup\nb\n"
    assert "Nothing to do" in outflow(project, "-n").stdout


@pytest.mark.parametrize("how", ["memo", "memo-trust", "full"])
def test_an_output_of_another_size_with_the_same_mtime_is_a_change(project: Path, how: str) -> None:
    replace_keeping_mtime(project / "out" / "a.x", "something else entirely\n")
    prepare(project, how)
    proc = outflow(project, "-n")
    assert "copy sample=a  output file out/a.x changed since it was made" in proc.stdout, \
        proc.stdout
    outflow(project, "-q")
    assert (project / "out" / "a.x").read_text() == "a\n"
    assert "Nothing to do" in outflow(project, "-n").stdout
