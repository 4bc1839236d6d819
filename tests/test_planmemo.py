"""The plan memo (planmemo.py): a run with nothing to do after a plan that
found nothing to do answers from the memo, and anything the plan depends on
that changes sends it back to a full plan.

Whether the memo answered is observed through its job count: each test
rewrites the count in the memo to a number no plan of the project gives
(SENTINEL). A run that prints it answered from the memo; one that prints
the real count planned in full.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.outflowtest import cache_rows, make_project, outflow

OUTFLOWFILE = """\
config:
    samples: list = glob("data/{sample}.txt")
    suffix: str = "x"

task copy(sample: str, suffix: str):
    input:  src = "data/{sample}.txt"
    output: out = "out/{sample}.{suffix}"
    shell:  "cp {input.src} {output.out}"

task total(out: list):
    output: total = "total.txt"
    shell:  "cat out/*.x > total.txt"

workflow all:
    map(samples -> sample) { copy } | total
"""

SENTINEL = 4242


def memo_path(project: Path) -> Path:
    return project / ".outflow" / "plan-memo.json"


def mark_memo(project: Path) -> None:
    """Make the memo's answer recognisable (see the module's docstring)."""
    path = memo_path(project)
    memo = json.loads(path.read_text())
    assert memo["jobs"] == 4  # 3 copies and the total
    memo["jobs"] = SENTINEL
    path.write_text(json.dumps(memo))


def answered_from_memo(proc_stdout: str) -> bool:
    if f"{SENTINEL} jobs up to date" in proc_stdout or f"{SENTINEL} up to date" in proc_stdout:
        return True
    assert any(s in proc_stdout for s in ("4 jobs up to date", "Would run", " ran,"))
    return False


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project run to the end, then planned once: the memo is written."""
    root = make_project(
        tmp_path / "p", OUTFLOWFILE, {"data/a.txt": "a\n", "data/b.txt": "b\n", "data/c.txt": "c\n"}
    )
    outflow(root, "-j", "2", "-q")
    assert not memo_path(root).exists()  # a run that ran jobs leaves none
    assert "Nothing to do" in outflow(root, "-n").stdout
    assert memo_path(root).exists()
    mark_memo(root)
    return root


def test_a_plan_with_nothing_changed_answers_from_the_memo(project: Path) -> None:
    proc = outflow(project, "-n")
    assert "Nothing to do: every job is up to date." in proc.stdout
    assert answered_from_memo(proc.stdout)
    run = outflow(project, "-j", "2")
    assert answered_from_memo(run.stdout + run.stderr)
    assert cache_rows(project, "SELECT count(*) FROM jobs") == [(4,)]


def test_an_edited_input_plans_in_full_and_drops_the_memo(project: Path) -> None:
    path = project / "data" / "b.txt"
    path.write_text("b, edited\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    proc = outflow(project, "-n")
    assert not answered_from_memo(proc.stdout)
    assert "copy sample=b  input file data/b.txt is newer" in proc.stdout
    assert "Would run 2 jobs" in proc.stdout
    assert not memo_path(project).exists()


def test_a_removed_output_plans_in_full(project: Path) -> None:
    (project / "out" / "c.x").unlink()
    proc = outflow(project, "-n")
    assert not answered_from_memo(proc.stdout)
    assert "output file out/c.x is missing" in proc.stdout


def test_a_new_file_matching_a_glob_plans_in_full(project: Path) -> None:
    (project / "data" / "d.txt").write_text("d\n")
    proc = outflow(project, "-n")
    assert not answered_from_memo(proc.stdout)
    assert "copy sample=d" in proc.stdout


def test_an_edited_outflowfile_plans_in_full(project: Path) -> None:
    text = (project / "Outflowfile").read_text()
    (project / "Outflowfile").write_text(text.replace("cat out/*.x", "cat out/*.x  "))
    proc = outflow(project, "-n")
    assert not answered_from_memo(proc.stdout)


def test_a_config_override_or_other_targets_plan_in_full(project: Path) -> None:
    proc = outflow(project, "-n", "--config", "suffix=y")
    assert not answered_from_memo(proc.stdout)
    assert "Would run" in proc.stdout
    mark_memo_again = outflow(project, "-n")  # the override's plan dropped the memo
    assert not answered_from_memo(mark_memo_again.stdout)
    mark_memo(project)
    proc = outflow(project, "-n", "copy")
    assert "3 jobs up to date" in proc.stdout


def test_a_changed_cache_plans_in_full(project: Path) -> None:
    outflow(project, "--forget", "total")
    proc = outflow(project, "-n")
    assert not answered_from_memo(proc.stdout)
    assert "total" in proc.stdout and "Would run 1 jobs" in proc.stdout


def test_forcing_ignores_the_memo(project: Path) -> None:
    proc = outflow(project, "-j", "2", "-R", "total")
    assert "1 ran" in proc.stdout + proc.stderr
    proc = outflow(project, "-n", "-F")
    assert "Would run 4 jobs" in proc.stdout


def test_a_broken_memo_is_only_a_full_plan(project: Path) -> None:
    memo_path(project).write_text('{"format": 1, "fingerprint": ')
    proc = outflow(project, "-n")
    assert "4 jobs up to date" in proc.stdout
    json.loads(memo_path(project).read_text())  # written anew


def test_another_database_ignores_the_memo(project: Path, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    proc = outflow(project, "-n", "--db", f"sqlite:///{db}")
    assert "Would run 4 jobs" in proc.stdout
    assert answered_from_memo(outflow(project, "-n").stdout)
