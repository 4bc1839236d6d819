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
import sqlite3
from pathlib import Path

import pytest

from tests.outflowtest import COPY_THEN_TOTAL as OUTFLOWFILE
from tests.outflowtest import cache_rows, make_project, outflow

SENTINEL = 4242


def memo_path(project: Path) -> Path:
    return project / ".outflow" / "plan-memo"


def mark_memo(project: Path) -> None:
    """Make the memo's answer recognisable (see the module's docstring)."""
    path = memo_path(project)
    head, rest = path.read_bytes().split(b"\n", 1)
    header = json.loads(head)
    assert header["jobs"] == 4  # 3 copies and the total
    header["jobs"] = SENTINEL
    path.write_bytes(json.dumps(header).encode() + b"\n" + rest)


def answered_from_memo(proc_stdout: str) -> bool:
    if f"{SENTINEL} jobs up to date" in proc_stdout or f"{SENTINEL} up to date" in proc_stdout:
        return True
    assert any(s in proc_stdout for s in ("4 jobs up to date", "Would run", " ran,"))
    return False


DATA = {"data/a.txt": "a\n", "data/b.txt": "b\n", "data/c.txt": "c\n"}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project run to the end, then planned once: the memo is written."""
    root = make_project(tmp_path / "p", OUTFLOWFILE, DATA)
    outflow(root, "-j", "2", "-q")
    memo_path(root).unlink()  # written by the run: see test_a_run_leaves_a_memo
    assert "Nothing to do" in outflow(root, "-n").stdout
    assert memo_path(root).exists()
    mark_memo(root)
    return root


def test_a_run_leaves_a_memo_the_next_no_op_answers_from(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", OUTFLOWFILE, DATA)
    assert "4 ran" in outflow(root, "-j", "2").stdout
    mark_memo(root)
    assert answered_from_memo(outflow(root, "-n").stdout)
    # Then one job runs again (total is cut off: same content): the memo counts all.
    (root / "out" / "a.x").unlink()
    assert "1 ran, 3 up to date" in outflow(root, "-j", "2").stdout
    mark_memo(root)
    assert answered_from_memo(outflow(root, "-n").stdout)


def test_a_run_with_a_failure_or_an_uncached_task_leaves_no_memo(tmp_path: Path) -> None:
    failing = OUTFLOWFILE.replace('"cat out/*.x > total.txt"', '"exit 3"')
    root = make_project(tmp_path / "fails", failing, DATA)
    outflow(root, "-j", "2", "-k", check=1)
    assert not memo_path(root).exists()
    uncached = OUTFLOWFILE.replace(
        'output: total = "total.txt"', 'output: total = "total.txt"\n    cache:  false'
    )
    root = make_project(tmp_path / "uncached", uncached, DATA)
    outflow(root, "-j", "2")
    assert not memo_path(root).exists()
    assert "Would run 1 jobs" in outflow(root, "-n").stdout


def test_a_plan_with_nothing_changed_answers_from_the_memo(project: Path) -> None:
    proc = outflow(project, "-n")
    assert "Nothing to do: every job is up to date." in proc.stdout
    assert answered_from_memo(proc.stdout)
    run = outflow(project, "-j", "2")
    assert answered_from_memo(run.stdout + run.stderr)
    assert cache_rows(project, "SELECT count(*) FROM jobs") == [(4,)]


def test_an_edited_input_plans_again_and_keeps_the_memo(project: Path) -> None:
    path = project / "data" / "b.txt"
    path.write_text("b, edited\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    for _ in range(2):
        proc = outflow(project, "-n")
        assert not answered_from_memo(proc.stdout)
        assert "copy sample=b  input file data/b.txt is newer" in proc.stdout
        assert "Would run 2 jobs" in proc.stdout
        assert memo_path(project).exists()  # it still helps the next plan
    # Once the run has run them, its memo is the one the next no-op answers from.
    outflow(project, "-j", "2", "-q")
    mark_memo(project)
    assert answered_from_memo(outflow(project, "-n").stdout)


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
    assert answered_from_memo(outflow(project, "-n").stdout)  # the memo is still right
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


@pytest.mark.parametrize(
    "garbage",
    [b'{"format": 3, "fingerprint": ', b"\xff\xfe\n\x00", b"", "header\n\xff\n"],
    ids=["cut short", "binary", "empty", "stamps not ascii"],
)
def test_a_broken_memo_is_only_a_full_plan(project: Path, garbage: bytes | str) -> None:
    if isinstance(garbage, str):  # the real header, then garbage
        head = memo_path(project).read_bytes().split(b"\n", 1)[0]
        garbage = head + b"\n\xff\xfe\nsome/path"
    memo_path(project).write_bytes(garbage)
    proc = outflow(project, "-n")
    assert "4 jobs up to date" in proc.stdout and not proc.stderr
    mark_memo(project)  # written anew
    assert answered_from_memo(outflow(project, "-n").stdout)


def test_another_database_ignores_the_memo(project: Path, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    proc = outflow(project, "-n", "--db", f"sqlite:///{db}")
    assert "Would run 4 jobs" in proc.stdout
    assert answered_from_memo(outflow(project, "-n").stdout)


def test_with_postgresql_the_memo_answers_and_helps_too(tmp_path: Path, pg_url: str) -> None:
    import sqlalchemy as sa

    root = make_project(tmp_path / "pg", OUTFLOWFILE, DATA)
    db = ("--db", pg_url)
    assert "4 ran" in outflow(root, "-j", "2", *db).stdout
    mark_memo(root)
    assert answered_from_memo(outflow(root, "-n", *db).stdout)
    # The project's own SQLite cache is another database: not this memo.
    assert "Would run 4 jobs" in outflow(root, "-n").stdout
    assert answered_from_memo(outflow(root, "-n", *db).stdout)
    # An edited input: the plan helped by the memo is the plan without it.
    touch_later(root / "data" / "b.txt", "b, edited\n")
    memo = memo_path(root).read_bytes()
    helped = outflow(root, "-n", *db).stdout
    assert "Would run 2 jobs" in helped and "copy sample=b" in helped
    memo_path(root).unlink()
    assert outflow(root, "-n", *db).stdout == helped
    # A change to the cache (a job forgotten, as another project sharing
    # the database could do) is seen: no answer from the memo.
    memo_path(root).write_bytes(memo)
    touch_later(root / "data" / "b.txt", "b\n")
    outflow(root, "-j", "2", "-q", *db)
    mark_memo(root)
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM jobs WHERE task = 'total'"))
    finally:
        engine.dispose()
    proc = outflow(root, "-n", *db)
    assert not answered_from_memo(proc.stdout) and "Would run 1 jobs" in proc.stdout


# --- deciding from the memo when only some files changed ----------------------

CUTOFF = """\
config:
    samples: list = glob("data/{sample}.txt")

task gen():
    input:  src = "seed.txt"
    output: mid = "mid.txt"
    shell:  "cp {input.src} {output.mid}"

task count(sample: str) -> n: int:
    input:  src = "data/{sample}.txt"
    run:    return len(open(input.src).read())

task use(sample: str, n: int):
    input:  src = "data/{sample}.txt", mid = "mid.txt", other = "other/{sample}.txt"
    output: out = "out/{sample}.txt"
    shell:  "cat {input.src} {input.mid} {input.other} > {output.out}; echo {n} >> {output.out}"

workflow all:
    gen | map(samples -> sample) { count | use }
"""


def touch_later(path: Path, text: str) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def plans_agree(root: Path) -> str:
    """The plan made with the memo's help, checked against the plan made
    without it."""
    assert memo_path(root).exists()
    helped = outflow(root, "-n").stdout
    memo_path(root).unlink()
    assert outflow(root, "-n").stdout == helped
    return helped


@pytest.fixture()
def cutoff(tmp_path: Path) -> Path:
    files = {"seed.txt": "seed\n"}
    for s in "abc":
        files[f"data/{s}.txt"] = f"{s}\n"
        files[f"other/{s}.txt"] = f"other {s}\n"
    root = make_project(tmp_path / "c", CUTOFF, files)
    outflow(root, "-j", "2", "-q")
    return root


def test_an_edited_input_plans_and_runs_as_without_the_memo(cutoff: Path) -> None:
    touch_later(cutoff / "other" / "b.txt", "other b, edited\n")
    memo = memo_path(cutoff).read_bytes()
    plan = plans_agree(cutoff)
    assert "Would run 1 jobs" in plan and "use sample=b" in plan
    memo_path(cutoff).write_bytes(memo)  # the run, helped by it too, runs that job
    assert "1 ran, 6 up to date" in outflow(cutoff, "-j", "2").stdout
    assert "Nothing to do" in outflow(cutoff, "-n").stdout


def test_an_edited_input_of_a_value_task_plans_as_without_the_memo(cutoff: Path) -> None:
    touch_later(cutoff / "data" / "c.txt", "c, now longer\n")
    plan = plans_agree(cutoff)
    assert "count sample=c" in plan and "use sample=c" in plan and "Would run 2 jobs" in plan


def test_a_remade_input_with_the_same_content_is_cut_off_with_the_memo(cutoff: Path) -> None:
    # gen runs again and makes the same mid.txt: use is cut off by content.
    touch_later(cutoff / "seed.txt", "seed\n")
    assert "1 ran, 6 up to date" in outflow(cutoff, "-j", "2").stdout
    # The run left a memo; then one of use's other inputs changes. Its plan
    # finds mid.txt newer than use's record, and gen's record (found only
    # now: gen was decided from the memo) says it holds the same content.
    touch_later(cutoff / "other" / "a.txt", "other a, edited\n")
    plan = plans_agree(cutoff)
    assert "use sample=a  input file other/a.txt is newer than the last run" in plan
    assert "Would run 1 jobs" in plan


def test_a_removed_output_plans_as_without_the_memo(cutoff: Path) -> None:
    (cutoff / "mid.txt").unlink()
    plan = plans_agree(cutoff)
    assert "gen           output file mid.txt is missing" in plan
    assert "use sample=a  upstream gen will run" in plan
    assert "Would run 4 jobs" in plan  # gen, and use of each sample


# --- deciding from the memo's keys when the graph may have changed -------------


def edit_outflowfile(root: Path, old: str, new: str) -> None:
    path = root / "Outflowfile"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def hide_a_record_change(root: Path, avoid: str = "") -> str:
    """Change the record of a ``use`` job (not of sample ``avoid``) that is
    not the cache's last row, which the memo's summary of the cache does not
    see: a plan that reads that record finds the job out of date, one that
    trusts the memo does not. Returns the job's sample."""
    con = sqlite3.connect(root / ".outflow" / "outflow.db")
    try:
        rows = con.execute(
            "SELECT id, params FROM jobs WHERE task = 'use' AND id < (SELECT max(id) FROM jobs)"
            " ORDER BY id"
        ).fetchall()
        job_id, sample = next(
            (i, s) for i, p in rows if (s := json.loads(p)["sample"]) != avoid
        )
        con.execute("UPDATE jobs SET files = '{}' WHERE id = ?", (job_id,))
        con.commit()
    finally:
        con.close()
    return sample


def test_an_outflowfile_edit_that_keeps_the_keys_plans_from_the_memo(cutoff: Path) -> None:
    sample = hide_a_record_change(cutoff)
    edit_outflowfile(cutoff, "workflow all:", "# a comment\nworkflow all:")
    # Every key is the memo's, every file as it has it: no record is read.
    assert "7 jobs up to date" in outflow(cutoff, "-n").stdout
    memo_path(cutoff).unlink()  # without it, the changed record is read
    assert f"use sample={sample}" in outflow(cutoff, "-n").stdout


def test_an_edited_task_plans_its_jobs_as_without_the_memo(cutoff: Path) -> None:
    edit_outflowfile(cutoff, "echo {n} >>", "echo n={n} >>")
    touch_later(cutoff / "data" / "a.txt", "a, edited\n")
    plan = plans_agree(cutoff)
    assert "Would run 4 jobs" in plan  # use of each sample, and count of a
    assert "count sample=a" in plan and "count sample=b" not in plan


def test_a_new_sample_plans_as_without_the_memo_and_runs_only_its_jobs(cutoff: Path) -> None:
    (cutoff / "data" / "d.txt").write_text("d\n")
    (cutoff / "other" / "d.txt").write_text("other d\n")
    memo = memo_path(cutoff).read_bytes()
    plan = plans_agree(cutoff)
    assert "Would run 2 jobs" in plan and "count sample=d" in plan and "use sample=d" in plan
    memo_path(cutoff).write_bytes(memo)
    sample = hide_a_record_change(cutoff)  # the run trusts the memo too
    assert "2 ran, 7 up to date" in outflow(cutoff, "-j", "2").stdout
    assert (cutoff / "out" / "d.txt").read_text() == "d\nseed\nother d\n2\n"
    # The run's memo keeps every job's key, the trusted ones' included.
    edit_outflowfile(cutoff, "workflow all:", "# a comment\nworkflow all:")
    assert "9 jobs up to date" in outflow(cutoff, "-n").stdout
    memo_path(cutoff).unlink()
    assert f"use sample={sample}" in outflow(cutoff, "-n").stdout


def test_a_run_helped_by_the_memo_keeps_the_keys_of_the_jobs_it_trusted(cutoff: Path) -> None:
    touch_later(cutoff / "other" / "b.txt", "other b, edited\n")
    sample = hide_a_record_change(cutoff, avoid="b")
    assert "1 ran, 6 up to date" in outflow(cutoff, "-j", "2").stdout  # the same graph
    edit_outflowfile(cutoff, "workflow all:", "# a comment\nworkflow all:")
    assert "7 jobs up to date" in outflow(cutoff, "-n").stdout  # then keys from its memo
    memo_path(cutoff).unlink()
    assert f"use sample={sample}" in outflow(cutoff, "-n").stdout


OUT_OF_ORDER = """\
task reader():
    input:  src = "made.txt"
    output: out = "read.txt"
    shell:  "cp {input.src} {output.out}"

task writer():
    input:  seed = "seed.txt"
    output: made = "made.txt"
    shell:  "cp {input.seed} {output.made}"

task other():
    input:  src = "other.txt"
    output: copy = "other.out"
    shell:  "cp {input.src} {output.copy}"

workflow all:
    (reader, writer, other)
"""


def test_a_job_made_before_the_producer_of_its_input_is_decided_from_the_memo(
    tmp_path: Path,
) -> None:
    # reader is made first and waits on writer, which the memo vouches for as
    # it is admitted: reader is then decided, and trusted, after it.
    root = make_project(tmp_path / "o", OUT_OF_ORDER, {"seed.txt": "s\n", "other.txt": "o\n"})
    assert "3 ran" in outflow(root, "-j", "2").stdout
    touch_later(root / "other.txt", "o, edited\n")
    memo = memo_path(root).read_bytes()
    plan = plans_agree(root)
    assert "Would run 1 jobs" in plan and "other" in plan and "2 jobs up to date" in plan
    memo_path(root).write_bytes(memo)
    assert "1 ran, 2 up to date" in outflow(root, "-j", "2").stdout
