"""Directory outputs are stamped by their content, and symbolic links by
their target (issue 17; plan/stamps.py).

The checkpoint pattern of Snakemake: a task writes a directory whose
content depends on the config, the next lists it, a map processes each
file, and a last task merges the results. After any change, every file
must be what a clean run in a fresh copy makes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from incremental import clean_copy, ran, reasons, same_mtime, tree
from outflowtest import make_project, outflow

from outflowfile.plan import stamps

CHECKPOINT = """\
config:
    n: int = 3
    tag: str = "v1"

task split(n: int, tag: str):
    output: chunks = "chunks"
    shell: "mkdir -p {output.chunks} && SPLIT"

task list_chunks(chunks: path) -> (files: list[path]):
    run:
        import os
        return sorted(os.path.join(chunks, f) for f in os.listdir(chunks))

task process(file: path):
    output: out = "processed/{file}.out"
    shell: "tr a-z A-Z < {file} > {output.out}"

task merge(out: list):
    output: merged = "merged.txt"
    shell: "cat {out} > {output.merged}"

workflow all:
    split | list_chunks | map(files -> file) { process } | merge
""".replace("SPLIT", "for i in $(seq {n}); do echo {tag}-$i > {output.chunks}/c$i.txt; done")

PROCESSED = ["process file=chunks/c1.txt", "process file=chunks/c2.txt",
             "process file=chunks/c3.txt"]  # fmt: skip


def test_a_config_change_reaches_every_file_made_from_a_directory(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHECKPOINT)
    outflow(project)
    again = outflow(project, "--config", "tag=v2")
    assert ran(again.stdout) == sorted(["split", "list_chunks", *PROCESSED, "merge"])
    assert (project / "merged.txt").read_text() == "V2-1\nV2-2\nV2-3\n"
    clean = clean_copy(project, tmp_path / "clean", [], "--config", "tag=v2")
    assert tree(project) == clean
    assert "Nothing to do" in outflow(project, "-n", "--config", "tag=v2").stdout


def test_a_file_of_a_directory_output_edited_by_hand(tmp_path: Path) -> None:
    """One chunk rewritten by hand: the directory's maker runs again (its
    output changed since it was made) and makes it as before, so its
    readers are cut off: the listing by the directory's content hash, each
    file's reader by the file's."""
    project = make_project(tmp_path / "p", CHECKPOINT)
    outflow(project)
    chunk = project / "chunks/c2.txt"
    chunk.write_text("V1-2\n")
    plan = outflow(project, "-n").stdout
    assert reasons(plan)["split"] == "output file chunks changed since it was made"
    again = outflow(project)
    assert ran(again.stdout) == ["split"]
    assert tree(project) == clean_copy(project, tmp_path / "clean", [])


def test_a_file_added_to_a_directory_input_reruns_its_reader(tmp_path: Path) -> None:
    """A directory that no job makes, read as an input: a file added in a
    folder inside it (the top folder's mtime unchanged) is a change."""
    text = """\
        task count(d: path = "data"):
            output: n = "n.txt"
            shell: "find {d} -type f | sort > {output.n}"

        workflow all:
            count
    """
    project = make_project(tmp_path / "p", text, {"data/sub/a.txt": "a\n"})
    outflow(project)
    top = os.stat(project / "data").st_mtime_ns
    (project / "data/sub/b.txt").write_text("b\n")
    assert os.stat(project / "data").st_mtime_ns == top
    assert ran(outflow(project).stdout) == ["count"]
    assert (project / "n.txt").read_text() == "data/sub/a.txt\ndata/sub/b.txt\n"
    assert "Nothing to do" in outflow(project, "-n").stdout


def test_a_directory_of_ten_thousand_files_is_stamped_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One walk with ``os.scandir``: no ``os.stat`` or ``os.lstat`` (nor a
    process) per file; and any change of a name, a size or an mtime, at any
    depth, changes the stamp."""
    root = tmp_path / "big"
    for i in range(10_000):
        sub = root / f"d{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i}.txt").write_text(str(i))
    calls = {"stat": 0, "lstat": 0}
    real_stat, real_lstat = os.stat, os.lstat

    def counted(name: str, real):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(os, "stat", counted("stat", real_stat))
    monkeypatch.setattr(os, "lstat", counted("lstat", real_lstat))
    monkeypatch.setattr("subprocess.Popen", None)
    first = stamps.stat_file(str(root))
    assert calls["stat"] + calls["lstat"] <= 2, calls
    monkeypatch.undo()
    assert first is not None and list(first) == stamps.stat_paths([str(root)], "/")
    target = root / "d3/f13.txt"
    # Rewritten with the same size and mtime: as for a file, not seen.
    was = os.stat(target)
    target.write_text("31")
    os.utime(target, ns=(was.st_atime_ns, was.st_mtime_ns))
    assert stamps.stat_file(str(root)) == first
    changes = [
        lambda: os.utime(target, ns=(0, os.stat(target).st_mtime_ns + 1)),  # an mtime
        lambda: target.write_text("1300"),  # a size
        lambda: target.rename(root / "d3/g13.txt"),  # a name
        lambda: (root / "d9/new").mkdir(),  # an empty folder
    ]
    seen = {stamps.stat_file(str(root))}
    for change in changes:
        change()
        now = stamps.stat_file(str(root))
        assert now not in seen
        seen.add(now)


def test_a_directory_output_replaced_by_an_old_stamp_reruns_once(tmp_path: Path) -> None:
    """A cache written before directories were stamped by content holds the
    folder's own stat: ``-n`` reads it without trouble and says the output
    changed; one run makes everything as a clean run does."""
    project = make_project(tmp_path / "p", CHECKPOINT)
    outflow(project)
    folder = os.stat(project / "chunks")
    con = sqlite3.connect(project / ".outflow/outflow.db")
    with con:
        (row, files) = con.execute(
            "SELECT id, files FROM jobs WHERE task = 'split' AND status = 'done'"
        ).fetchone()
        record = json.loads(files)
        record["out"]["chunks"] = [folder.st_mtime_ns, folder.st_size, None]
        con.execute("UPDATE jobs SET files = ? WHERE id = ?",
                    (json.dumps(record, separators=(",", ":"), sort_keys=True), row))
    con.close()
    (project / ".outflow/plan-memo").unlink()
    plan = outflow(project, "-n")
    assert reasons(plan.stdout)["split"] == "output file chunks changed since it was made"
    outflow(project)
    assert tree(project) == clean_copy(project, tmp_path / "clean", [])
    assert "Nothing to do" in outflow(project, "-n").stdout


# --- symbolic links ----------------------------------------------------------

LINKED = """\
task copy():
    input: src = "data/in.txt"
    output: dst = "copy.txt"
    shell: "cp {input.src} {output.dst}"

workflow all:
    copy
"""


def test_an_input_link_pointed_elsewhere_is_a_changed_input(tmp_path: Path) -> None:
    """``data/in.txt`` links to one file, then to another of the same size
    and mtime: only the link's target says the input changed. (Drop the
    target from the stamp and this fails: the copy keeps the old text.)"""
    files = {"data/v1.txt": "one\n", "data/v2.txt": "two\n"}
    project = make_project(tmp_path / "p", LINKED, files)
    same_mtime(project / "data/v2.txt", project / "data/v1.txt")
    os.symlink("v1.txt", project / "data/in.txt")
    outflow(project)
    (project / "data/in.txt").unlink()
    os.symlink("v2.txt", project / "data/in.txt")
    plan = outflow(project, "-n").stdout
    assert reasons(plan)["copy"] == "input file data/in.txt changed"
    assert ran(outflow(project).stdout) == ["copy"]
    assert (project / "copy.txt").read_text() == "two\n"
    assert tree(project) == clean_copy(project, tmp_path / "clean", [*files, "data/in.txt"])


def test_an_output_link_pointed_elsewhere_is_a_changed_output(tmp_path: Path) -> None:
    """A job makes a link; someone points it at another file of the same
    size and mtime: the job runs again and puts its own link back."""
    text = """\
        task link():
            output: current = "current.txt"
            shell: "ln -s v1.txt {output.current}"

        workflow all:
            link
    """
    files = {"v1.txt": "one\n", "v2.txt": "two\n"}
    project = make_project(tmp_path / "p", text, files)
    same_mtime(project / "v2.txt", project / "v1.txt")
    outflow(project)
    (project / "current.txt").unlink()
    os.symlink("v2.txt", project / "current.txt")
    plan = outflow(project, "-n").stdout
    assert reasons(plan)["link"] == "output file current.txt changed since it was made"
    assert ran(outflow(project).stdout) == ["link"]
    assert os.readlink(project / "current.txt") == "v1.txt"
    assert tree(project) == clean_copy(project, tmp_path / "clean", list(files))


def test_a_link_stamp_follows_its_target(tmp_path: Path) -> None:
    """A link's stamp: the mtime of what it points to, and what stands for
    the size changes with the target's name or its size; a dangling link is
    missing, as the file it names."""
    (tmp_path / "a").write_text("abc")
    (tmp_path / "b").write_text("xyz")
    same_mtime(tmp_path / "b", tmp_path / "a")
    os.symlink("a", tmp_path / "l")
    to_a = stamps.stat_file(str(tmp_path / "l"))
    assert to_a is not None and to_a[0] == os.stat(tmp_path / "a").st_mtime_ns
    (tmp_path / "l").unlink()
    os.symlink("b", tmp_path / "l")
    to_b = stamps.stat_file(str(tmp_path / "l"))
    assert to_b is not None and to_b[0] == to_a[0] and to_b != to_a
    os.symlink("nowhere", tmp_path / "dangling")
    assert stamps.stat_file(str(tmp_path / "dangling")) is None
    assert stamps.stat_paths(["l", "dangling"], str(tmp_path)) == [*to_b, -1, -1]
