"""File-based workflows through the installed ``outflow`` command: decided
by what is on disk, shown by what each shell job appends to ran.log."""

from __future__ import annotations

import os
from pathlib import Path

from outflowtest import lines, make_project, outflow

WORDS = """
config:
    samples: list = glob("data/{sample}.txt")

task count(sample: str):
    input:  text = "data/{sample}.txt"
    output: counts = "counts/{sample}.tsv"
    shell:  '''echo count {sample} >> ran.log
             tr -s ' ' '\\\\n' < {input.text} | sort | uniq -c > {output.counts}'''

task merge(counts: list):
    output: total = "total.tsv"
    shell:  "echo merge >> ran.log; cat {counts} > {output.total}"

workflow all:
    map(samples -> sample) { count } | merge
"""

DATA = {"data/a.txt": "x y x\n", "data/b.txt": "y z\n", "data/c.txt": "z z z\n"}


def _project(tmp_path: Path) -> Path:
    p = make_project(tmp_path, WORDS, DATA)
    outflow(p, "-j", "2")
    assert sorted(lines(p / "ran.log")) == ["count a", "count b", "count c", "merge"]
    (p / "ran.log").unlink()
    return p


def _bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_wordcount_outputs_and_noop(tmp_path: Path) -> None:
    p = _project(tmp_path)
    total = (p / "total.tsv").read_text().split()
    assert total.count("x") == 1 and total.count("z") == 2
    assert (p / "counts" / "a.tsv").read_text().split() == ["2", "x", "1", "y"]
    outflow(p)
    assert lines(p / "ran.log") == []


def test_touching_an_input_reruns_its_chain(tmp_path: Path) -> None:
    p = _project(tmp_path)
    _bump(p / "data" / "b.txt")
    proc = outflow(p, "-n")
    assert "count sample=b" in proc.stdout and "input file data/b.txt" in proc.stdout
    outflow(p)
    # b is recounted; its counts are unchanged, so merge is cut off.
    assert lines(p / "ran.log") == ["count b"]


def test_editing_an_input_reruns_its_chain(tmp_path: Path) -> None:
    p = _project(tmp_path)
    (p / "data" / "a.txt").write_text("new words here\n")
    _bump(p / "data" / "a.txt")
    outflow(p)
    assert lines(p / "ran.log") == ["count a", "merge"]
    assert "new" in (p / "total.tsv").read_text()


def test_deleting_an_output_remakes_it_and_no_more(tmp_path: Path) -> None:
    p = _project(tmp_path)
    (p / "counts" / "c.tsv").unlink()
    proc = outflow(p, "-n")
    assert "output file counts/c.tsv is missing" in proc.stdout
    outflow(p)
    # c is remade with the same content: merge is cut off.
    assert lines(p / "ran.log") == ["count c"]
    (p / "total.tsv").unlink()
    outflow(p)
    assert lines(p / "ran.log") == ["count c", "merge"]


def test_new_input_file_joins_its_map(tmp_path: Path) -> None:
    p = _project(tmp_path)
    (p / "data" / "d.txt").write_text("w\n")
    outflow(p)
    assert lines(p / "ran.log") == ["count d", "merge"]
    assert (p / "counts" / "d.tsv").exists()


def test_file_target_runs_only_what_makes_it(tmp_path: Path) -> None:
    p = make_project(tmp_path, WORDS, DATA)
    outflow(p, "counts/b.tsv")
    assert lines(p / "ran.log") == ["count b"]
    assert not (p / "total.tsv").exists()


MAP_BODY = """
config:
    samples: list = ["a", "b"]

task gen(n: int = 2) -> (items: list):
    run:
        return list(range(n))

task count(s: str):
    output: c = "counts/{s}.txt"
    shell: "echo count {s} >> ran.log; echo {s} > {output.c}"

task check(s: str):
    input: c = "counts/{s}.txt"
    output: k = "checks/{s}.txt"
    shell: "echo check {s} >> ran.log; cat {input.c} > {output.k}"

workflow all:
    map(samples -> s) { count | check }
"""


def test_task_target_inside_a_map_runs_that_task_only(tmp_path: Path) -> None:
    p = make_project(tmp_path, MAP_BODY)
    outflow(p, "count")
    assert sorted(lines(p / "ran.log")) == ["count a", "count b"]
    assert not (p / "checks").exists()


def test_task_target_inside_a_map_sized_at_run_time(tmp_path: Path) -> None:
    dynamic = MAP_BODY.replace("s: str", "s: int").split("workflow all:")[0]
    workflow = "workflow all:\n    gen | map(items -> s) { count | check }\n"
    p = make_project(tmp_path, dynamic + workflow)
    outflow(p, "count")
    assert sorted(lines(p / "ran.log")) == ["count 0", "count 1"]
    assert not (p / "checks").exists()


def test_file_target_downstream_of_a_map(tmp_path: Path) -> None:
    """total.tsv's job waits for the map's values, so its file names are not
    known when the plan starts: it is found by its task's output pattern."""
    p = make_project(tmp_path, WORDS, DATA)
    outflow(p, "total.tsv")
    assert (p / "total.tsv").exists()
    missing = outflow(p, "nothing.tsv", check=2)
    assert "no job makes nothing.tsv" in missing.stderr


def test_hostile_file_name_is_quoted(tmp_path: Path) -> None:
    p = make_project(tmp_path, WORDS, {"data/a b;touch PWNED.txt": "x\n"})
    outflow(p)
    assert not (p / "PWNED.txt").exists()
    assert (p / "counts" / "a b;touch PWNED.tsv").exists()


def test_task_without_pipe_depends_on_the_file_producer(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task make():
            output: made = "made.txt"
            shell: "echo made >> ran.log; echo hello > {output.made}"
        task use():
            input: src = "made.txt"
            output: out = "used.txt"
            shell: "echo use >> ran.log; cat {input.src} {input.src} > {output.out}"
        workflow all:
            (use, make)
    """)
    outflow(p, "-j", "2")
    assert lines(p / "ran.log") == ["made", "use"]
    assert (p / "used.txt").read_text() == "hello\nhello\n"


def test_missing_source_file_is_a_clear_error(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task use():
            input: src = "nothere.txt"
            output: out = "used.txt"
            shell: "cat {input.src} > {output.out}"
        workflow all:
            use
    """)
    proc = outflow(p, check=1)
    assert "input file nothere.txt does not exist and no job makes it" in proc.stderr
