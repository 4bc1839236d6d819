"""Paths are files, however they travel (issue 17): a value typed ``path``
(or a list of them), whether it comes through a pipe, a map item, an
upstream value or the config, is stamped and compared like an ``input:``
file; a map item that is another job's output file is a dependency on it.

Each case runs the installed ``outflow`` in a temporary project, changes
something, runs again, and compares every file with what a clean run in a
fresh copy makes, and the jobs that ran with those that had to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from incremental import clean_copy, ran, reasons, same_mtime, tree
from outflowtest import make_project, outflow

MAP_AFTER_MAP = """\
config:
    names: list = ["a", "b"]
    text: str = "x"

task make(name: str, text: str):
    output: f = "out/{name}.txt"
    shell: "echo {text}-{name} > {output.f}"

task copy(f: TYPE):
    output: g = "copies/{f}"
    shell: "cp {f} {output.g}"

workflow all:
    map(names -> name) { make } | map(f -> f) { copy }
"""


@pytest.mark.parametrize("declared", ["path", "str", ""], ids=["path", "str", "untyped"])
def test_a_config_change_reaches_the_copy_of_a_map_item(tmp_path: Path, declared: str) -> None:
    """The issue's own example: the items of the second map are the files
    the first made. Whatever the item's declared type, an item that is
    another job's output file is that file."""
    text = MAP_AFTER_MAP.replace("f: TYPE", f"f: {declared}" if declared else "f")
    project = make_project(tmp_path / "p", text)
    outflow(project)
    again = outflow(project, "--config", "text=y")
    assert ran(again.stdout) == [
        "copy f=out/a.txt", "copy f=out/b.txt", "make name=a", "make name=b",
    ]  # fmt: skip
    assert (project / "copies/out/a.txt").read_text() == "y-a\n"
    assert tree(project) == clean_copy(project, tmp_path / "clean", [], "--config", "text=y")
    assert "Nothing to do" in outflow(project, "-n", "--config", "text=y").stdout


def test_an_output_edited_by_hand_is_remade_and_its_copy_cut_off(tmp_path: Path) -> None:
    """A path value naming a file another job makes depends on that job's
    output: edited by hand, the file is made again; made again identical,
    its reader does not run (early cutoff)."""
    project = make_project(tmp_path / "p", MAP_AFTER_MAP.replace("TYPE", "path"))
    outflow(project)
    (project / "out/a.txt").write_text("by hand\n")
    plan = outflow(project, "-n").stdout
    assert reasons(plan)["make name=a"] == "output file out/a.txt changed since it was made"
    again = outflow(project)
    assert ran(again.stdout) == ["make name=a"]
    assert tree(project) == clean_copy(project, tmp_path / "clean", [])


def test_a_copy_changed_by_hand_is_made_again(tmp_path: Path) -> None:
    """The reader's own record of the path value: the file it read changed
    (by another hand, the producer unchanged) and the reader runs."""
    project = make_project(tmp_path / "p", MAP_AFTER_MAP.replace("TYPE", "path"))
    outflow(project)
    made = project / "out/b.txt"
    made.write_text("x-B\n")  # same size
    same_mtime(made, project / "out/a.txt")
    again = outflow(project)
    # make b sees its output changed and makes it again: then copy b reads
    # what make b made, identical to before (cut off).
    assert ran(again.stdout) == ["make name=b"]
    assert tree(project) == clean_copy(project, tmp_path / "clean", [])


TUTORIAL = """\
config:
    samples: list = ["A", "B"]

task locate(sample: str) -> (reads: path):
    run:
        return f"data/{sample}.fastq"

task align(sample: str, reads: path):
    output: bam = "mapped/{sample}.bam"
    shell: "sort {reads} > {output.bam}"

task index(bam: path):
    output: bai = "mapped/{bam}.bai"
    shell: "wc -l < {bam} > {output.bai}"

workflow all:
    map(samples -> sample) { locate | align } | map(bam -> bam) { index }
"""


def test_the_tutorial_shape_reruns_after_an_input_changes(tmp_path: Path) -> None:
    """Snakemake's tutorial, ported: the reads' path comes from an upstream
    value, the BAM reaches the index as a map item. After a FASTQ file
    changes, the BAM and its index are made again."""
    files = {"data/A.fastq": "c\na\n", "data/B.fastq": "b\n"}
    project = make_project(tmp_path / "p", TUTORIAL, files)
    outflow(project)
    (project / "data/A.fastq").write_text("c\na\nb\n")
    plan = outflow(project, "-n").stdout
    assert reasons(plan)["align sample=A"].startswith("input file data/A.fastq ")
    again = outflow(project)
    assert ran(again.stdout) == ["align sample=A", "index bam=mapped/A.bam"]
    assert (project / "mapped/mapped/A.bam.bai").read_text() == "3\n"
    assert tree(project) == clean_copy(project, tmp_path / "clean", list(files))


def test_a_path_from_the_config_is_an_input_file(tmp_path: Path) -> None:
    """A config entry typed path, rewritten keeping its size and mtime
    is not seen (as for any input file), rewritten otherwise it is; a
    path that does not exist stops the job before it starts."""
    text = """\
        config:
            ref: path = "ref.fa"

        task count(ref: path):
            output: n = "n.txt"
            shell: "wc -c < {ref} > {output.n}"

        workflow all:
            count
    """
    project = make_project(tmp_path / "p", text, {"ref.fa": "ACGT\n"})
    outflow(project)
    (project / "ref.fa").write_text("ACGTACGT\n")
    assert ran(outflow(project).stdout) == ["count"]
    assert tree(project) == clean_copy(project, tmp_path / "clean", ["ref.fa"])
    missing = outflow(project, "--config", "ref=nowhere.fa", check=1)
    assert "count: input file nowhere.fa does not exist and no job makes it" in (
        missing.stdout + missing.stderr
    )


def test_where_a_job_writes_is_not_what_it_reads(tmp_path: Path) -> None:
    """A path value naming the directory a job writes into (``outdir:
    path``) is not its input: its own output there would change it, and the
    job would run again at every run."""
    text = """\
        config:
            names: list = ["a", "b"]
            outdir: path = "results/"

        task write(name: str, outdir: path):
            output: f = "{outdir}/{name}.txt"
            shell: "echo {name} > {output.f}"

        workflow all:
            map(names -> name) { write }
    """
    project = make_project(tmp_path / "p", text)
    outflow(project)
    assert "Nothing to do" in outflow(project, "-n").stdout
    assert sorted(os.listdir(project / "results")) == ["a.txt", "b.txt"]


def test_a_list_of_paths_is_a_list_of_files(tmp_path: Path) -> None:
    """``list[path]`` from the config: each file is an input; one of them
    changed reruns the job, the others unchanged do not matter."""
    text = """\
        config:
            parts: list[path] = ["p1.txt", "p2.txt"]

        task join(parts: list[path]):
            output: all = "all.txt"
            shell: "cat {parts} > {output.all}"

        workflow all:
            join
    """
    project = make_project(tmp_path / "p", text, {"p1.txt": "1\n", "p2.txt": "2\n"})
    outflow(project)
    (project / "p2.txt").write_text("two\n")
    plan = outflow(project, "-n").stdout
    assert reasons(plan)["join"].startswith("input file p2.txt ")
    outflow(project)
    assert (project / "all.txt").read_text() == "1\ntwo\n"
    assert tree(project) == clean_copy(project, tmp_path / "clean", ["p1.txt", "p2.txt"])


def test_a_value_declared_path_upstream_is_a_file_downstream(tmp_path: Path) -> None:
    """The producer says its value is a path (``-> (table: path)``); the
    reader takes it untyped: the file is still its input."""
    text = """\
        task pick() -> (table: path):
            run:
                return "tables/t.tsv"

        task show(table):
            output: shown = "shown.txt"
            shell: "cat {table} > {output.shown}"

        workflow all:
            pick | show
    """
    project = make_project(tmp_path / "p", text, {"tables/t.tsv": "1\n"})
    outflow(project)
    (project / "tables/t.tsv").write_text("1\n2\n")
    assert ran(outflow(project).stdout) == ["show"]
    assert tree(project) == clean_copy(project, tmp_path / "clean", ["tables/t.tsv"])
