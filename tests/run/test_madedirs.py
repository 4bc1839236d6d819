"""The directories outflow made for outputs (run/madedirs.py): exactly those
that did not exist, on a real filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest

from outflowfile.run.madedirs import dirs_above, make_parents


def test_make_parents_says_which_it_made(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()  # the user's
    root = str(tmp_path)
    assert make_parents(root, "a/b/c") == ["a/b", "a/b/c"]
    assert (tmp_path / "a" / "b" / "c").is_dir()
    assert make_parents(root, "a/b/c") == []
    assert make_parents(root, "") == []  # the project itself
    assert make_parents(root, "a/x") == ["a/x"]


def test_a_file_in_the_way_fails_as_makedirs_does(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("the user's\n")
    with pytest.raises(NotADirectoryError):
        make_parents(str(tmp_path), "f/g")
    assert (tmp_path / "f").read_text() == "the user's\n"


def test_dirs_above_the_outputs(tmp_path: Path) -> None:
    (tmp_path / "old" / "deep").mkdir(parents=True)
    root = str(tmp_path)
    made = {"out", "out/x"}
    # Made in this run, or listed before and still there; never the user's.
    assert dirs_above(["out/x/a.txt", "old/deep/b.txt", "mine/c.txt"], made,
                      ["old/deep", "gone"], root) == ["old/deep", "out", "out/x"]
    assert dirs_above(["/abs/out/a.txt"], {"/abs/out"}, [], root) == []
