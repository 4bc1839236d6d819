"""``--clean`` removes only what outflow made (issue 16), through the
installed ``outflow``, on the SQLite and the PostgreSQL cache: outputs the
cache records and that are as it recorded them, then the directories outflow
made that are left empty; every other file in and above the project stays
as it was, byte for byte."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.aroundfiles import checksums, plant
from tests.outflowtest import make_project, outflow

PROJECT = """
task deep():
    output: o = "out/deep/a.txt"
    shell: "echo a > {output.o}"

task parts():
    output: d = "parts"
    shell: "mkdir {output.d} && echo 1 > {output.d}/1 && echo 2 > {output.d}/2"

task beside():
    output: c = "userdir/c.txt"
    shell: "echo c > {output.c}"

task inempty():
    output: e = "made/e.txt"
    shell: "echo e > {output.e}"

task edited():
    output: ed = "edited.txt"
    shell: "echo as made > {output.ed}"

task never():
    output: f = "never/f.txt"
    shell: "echo f > {output.f}"

workflow all:
    (deep, parts, beside, inempty, edited, never)
"""

# The user's files: above the project, beside it, and in it.
PRECIOUS = {
    "above.txt": "above the project\n",
    "beside/precious.txt": "a sibling project's file\n",
    "proj/data.txt": "the only copy\n",
    "proj/userdir/mine.txt": "the user's, in a directory an output is in\n",
}


def run(project: Path, db: str | None, *args: str, check: int | None = 0) -> Any:
    extra = ["--db", db] if db else []
    return outflow(project, *extra, *args, check=check)




def setting(tmp_path: Path) -> tuple[Path, Path]:
    top = tmp_path / "top"
    plant(top, PRECIOUS)
    project = make_project(top / "proj", PROJECT)
    (project / "made").mkdir()  # empty, made by the user before any run
    return top, project


def test_clean_removes_exactly_what_outflow_made(tmp_path: Path, cache_url: str | None) -> None:
    top, project = setting(tmp_path)
    run(project, cache_url, "deep", "parts", "beside", "inempty", "edited")
    (project / "edited.txt").write_text("edited by hand\n")
    made_by_hand = project / "never" / "f.txt"  # at an output path; its job never ran
    made_by_hand.parent.mkdir()
    made_by_hand.write_text("the user's\n")
    before = checksums(top, skip_state=True, with_dirs=True)
    gone = ["out/deep/a.txt", "parts", "userdir/c.txt", "made/e.txt", "out/deep", "out"]

    listed = run(project, cache_url, "--clean", "-n").stdout
    assert listed.splitlines() == [
        "outflow: would remove 6 paths:",
        "  made/e.txt",
        "  out/deep/a.txt",
        "  parts/",
        "  userdir/c.txt",
        "  out/deep/",
        "  out/",
        "outflow: kept edited.txt: changed since outflow made it",
        "outflow: kept never/f.txt: the cache has no record of outflow making it",
    ]
    assert checksums(top, skip_state=True, with_dirs=True) == before  # -n removes nothing

    done = run(project, cache_url, "--clean", "--yes")
    assert done.stdout == listed.replace("would remove", "to remove") + (
        "outflow: removed 6 paths, kept 2 (the cache keeps the jobs' records)\n"
    )
    for path in gone:
        assert not (project / path).exists(), path
    after = checksums(top, skip_state=True, with_dirs=True)
    removed = {f"proj/{p}" for p in gone} | {f"proj/{p}/" for p in gone}
    removed |= {"proj/parts/1", "proj/parts/2"}
    assert after == {k: v for k, v in before.items() if k not in removed}
    # Kept: the edited file, the one outflow never made, the user's empty
    # directory and the user's directory that holds a file of theirs.
    assert (project / "edited.txt").read_text() == "edited by hand\n"
    assert made_by_hand.read_text() == "the user's\n"
    assert (project / "made").is_dir() and (project / "userdir" / "mine.txt").exists()
    if cache_url is None:
        assert (project / ".outflow" / "outflow.db").is_file()
    again = run(project, cache_url, "--clean", "--yes").stdout
    assert again.splitlines()[-1] == "outflow: nothing to remove"


def test_a_directory_outflow_made_is_kept_while_it_holds_a_file(
    tmp_path: Path, cache_url: str | None
) -> None:
    top, project = setting(tmp_path)
    run(project, cache_url, "deep")
    (project / "out" / "deep" / "notes.txt").write_text("the user's\n")
    before = checksums(top, skip_state=True, with_dirs=True)
    done = run(project, cache_url, "--clean", "--yes", "deep")
    assert done.stdout.splitlines() == [
        "outflow: to remove 1 path:",
        "  out/deep/a.txt",
        "outflow: kept out/: a directory outflow made, not empty",
        "outflow: kept out/deep/: a directory outflow made, not empty",
        "outflow: removed 1 path, kept 2 (the cache keeps the jobs' records)",
    ]
    assert checksums(top, skip_state=True, with_dirs=True) == {
        k: v for k, v in before.items() if k != "proj/out/deep/a.txt"
    }


def test_a_job_run_again_keeps_its_directories(tmp_path: Path, cache_url: str | None) -> None:
    """The second run finds out/deep/ there already: its record keeps that
    outflow made it, and --clean removes it."""
    top, project = setting(tmp_path)
    run(project, cache_url, "deep")
    run(project, cache_url, "-F", "deep")
    run(project, cache_url, "--touch", "-F", "deep")
    done = run(project, cache_url, "--clean", "--yes", "deep")
    assert done.stdout.splitlines()[-1] == (
        "outflow: removed 3 paths (the cache keeps the jobs' records)"
    )
    assert not (project / "out").exists()


def rewrite_files(project: Path, db: str | None, change: Callable[[dict], None]) -> None:
    """Change the ``files`` record of every job, straight in the database, as
    a damaged (or hostile) cache could hold it: sqlite3 for the project's own
    file, SQLAlchemy for PostgreSQL."""
    if db is None:
        with sqlite3.connect(project / ".outflow" / "outflow.db") as conn:
            for row_id, text in conn.execute("SELECT id, files FROM jobs").fetchall():
                files = json.loads(text)
                change(files)
                conn.execute("UPDATE jobs SET files = ? WHERE id = ?", (json.dumps(files), row_id))
        return
    import sqlalchemy as sa

    engine = sa.create_engine(db)
    try:
        with engine.begin() as conn:
            for row_id, text in conn.execute(sa.text("SELECT id, files FROM jobs")).all():
                files = json.loads(text)
                change(files)
                conn.execute(
                    sa.text("UPDATE jobs SET files = :f WHERE id = :i"),
                    {"f": json.dumps(files), "i": row_id},
                )
    finally:
        engine.dispose()


def test_never_the_project_the_outflowfile_or_its_state(
    tmp_path: Path, cache_url: str | None
) -> None:
    """A corrupted or hostile cache lists the project, the Outflowfile and
    .outflow/ as outputs (with their stamps as they are now, so that they
    would match) and as directories outflow made: none of them is removed."""
    top, project = setting(tmp_path)
    run(project, cache_url, "deep")
    (project / ".outflow").mkdir(exist_ok=True)
    (project / ".outflow" / "mine").write_text("state\n")

    def poison(files: dict) -> None:
        for path in (".", "Outflowfile", "./OUTFLOWFILE", ".outflow", ".outflow/mine", ".."):
            st = os.stat(project / path) if (project / path).exists() else None
            files["out"][path] = [st.st_mtime_ns, st.st_size, None] if st else None
        files["out_dirs"] = [".", ".outflow", "..", "out", "out/deep"]

    rewrite_files(project, cache_url, poison)
    before = checksums(top, skip_state=True, with_dirs=True)
    done = run(project, cache_url, "--clean", "--yes")
    never = "which --clean never removes"
    assert done.stdout.splitlines() == [
        "outflow: to remove 3 paths:",
        "  out/deep/a.txt",
        "  out/deep/",
        "  out/",
        f"outflow: kept .: the project directory, {never}",
        f"outflow: kept ..: a directory that contains the project, {never}",
        f"outflow: kept .outflow: outflow's own directory .outflow/, {never}",
        f"outflow: kept .outflow/mine: a path inside outflow's own directory .outflow/, {never}",
        f"outflow: kept Outflowfile: the Outflowfile, {never}",
        "outflow: removed 3 paths, kept 5 (the cache keeps the jobs' records)",
    ]
    removed = {"proj/out/deep/a.txt", "proj/out/deep/", "proj/out/"}
    after = checksums(top, skip_state=True, with_dirs=True)
    assert after == {k: v for k, v in before.items() if k not in removed}
    assert (project / ".outflow" / "mine").read_text() == "state\n"
