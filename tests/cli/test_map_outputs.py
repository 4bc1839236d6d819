"""Issue 18, item 1: a map passes on every output of every stage inside it,
each as a list in item order under its own name; ``as (new = name)`` renames
what it passes on. Driven through the installed ``outflow``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from outflowtest import make_project, outflow

# make -> sort -> index per sample, then one call over all: the Snakemake
# tutorial's shape. `call` needs `sorted` (sort's file), `bai` (index's file)
# and `n` (sort's value), all from the one map.
PIPELINE = '''
config:
    samples: list = ["B", "A", "C"]

task make(sample: str):
    output: raw = "raw/{sample}.txt"
    shell:  "echo {sample}{sample} > {output.raw}"

task sort(sample: str, raw: path) -> (n: int):
    output: sorted = "sorted/{sample}.txt"
    run:
        text = open(raw).read()
        open(output.sorted, "w").write(text.lower())
        return len(text.strip())

task index(sample: str, sorted: path):
    output: bai = "sorted/{sample}.txt.bai"
    shell:  "wc -c < {sorted} > {output.bai}"

task call(sorted: list, bai: list, n: list):
    output: vcf = "calls/all.txt"
    run:
        with open(output.vcf, "w") as f:
            f.write(repr((sorted, bai, n)) + "\\n")

workflow all:
    map(samples -> sample) { make | sort | index } | call
'''

ALL_JOBS = sorted(
    [f"{t} sample={s}" for t in ("make", "sort", "index") for s in "ABC"] + ["call"]
)


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


def planned(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The jobs a dry run lists (``Would run N jobs:`` lines)."""
    return sorted(re.findall(r"^  (\w+(?: sample=\w)?)  +\S", done.stdout.split("\n\n")[0], re.M))


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", PIPELINE)


def test_every_output_of_every_stage_passes_as_a_list_in_item_order(pipeline: Path) -> None:
    p = pipeline
    assert ran(outflow(p)) == ALL_JOBS
    assert (p / "calls/all.txt").read_text() == repr((
        ["sorted/B.txt", "sorted/A.txt", "sorted/C.txt"],
        ["sorted/B.txt.bai", "sorted/A.txt.bai", "sorted/C.txt.bai"],
        [2, 2, 2],
    )) + "\n"
    assert (p / "sorted/A.txt").read_text() == "aa\n"
    assert ran(outflow(p)) == []  # a second run is a no-op


def test_dry_run_sizes_the_whole_map_at_plan_time(pipeline: Path) -> None:
    done = outflow(pipeline, "-n")
    assert "Would run 10 jobs:" in done.stdout
    assert planned(done) == ALL_JOBS
    assert "not sized" not in done.stdout


def test_a_file_target_inside_the_map_builds_only_its_chain(pipeline: Path) -> None:
    p = pipeline
    assert ran(outflow(p, "sorted/A.txt.bai")) == [
        "index sample=A", "make sample=A", "sort sample=A"]
    assert sorted(q.name for q in (p / "sorted").iterdir()) == ["A.txt", "A.txt.bai"]
    assert not (p / "calls").exists()
    # ... and the rest of the workflow takes what it built.
    assert ran(outflow(p)) == sorted(set(ALL_JOBS) - {"index sample=A", "make sample=A",
                                                      "sort sample=A"})


def test_the_later_stage_wins_a_name_two_stages_make(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        config:
            xs: list = [1, 2]

        task first(x: int) -> (v: int):
            run:
                return x * 10

        task second(v: int) -> (v: int):
            run:
                return v + 1

        task show(v: list):
            output: o = "v.txt"
            run:
                open(output.o, "w").write(repr(v))

        workflow all:
            map(xs -> x) { first | second } | show
        ''')
    outflow(p)
    assert (p / "v.txt").read_text() == "[11, 21]"


def test_as_renames_and_selects_what_the_map_passes_on(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", PIPELINE.replace(
        "task call(sorted: list, bai: list, n: list):",
        "task call(bams: list, indexes: list):",
    ).replace("repr((sorted, bai, n))", "repr((bams, indexes))").replace(
        "{ make | sort | index } | call",
        "{ make | sort | index } as (bams = sorted, indexes = bai) | call",
    ))
    outflow(p, "--lint")
    assert ran(outflow(p)) == ALL_JOBS
    assert (p / "calls/all.txt").read_text() == repr((
        ["sorted/B.txt", "sorted/A.txt", "sorted/C.txt"],
        ["sorted/B.txt.bai", "sorted/A.txt.bai", "sorted/C.txt.bai"],
    )) + "\n"


def problem(p: Path, line: int, column: int, message: str, text: str, hint: str) -> str:
    """One located problem as ``--lint`` prints it."""
    return (f"{p}/Outflowfile:{line}:{column}: {message}\n        {text}\n"
            f"{' ' * (column + 3)}^\n  {hint}\n")


def test_as_passes_on_only_what_it_names(tmp_path: Path) -> None:
    """After ``as (sorted)``, ``bai`` and ``n`` are not passed on: an error
    at the task that wants them, listing what is there."""
    wf = "map(samples -> sample) { make | sort | index } as (sorted) | call"
    p = make_project(tmp_path / "p", PIPELINE.replace(
        "map(samples -> sample) { make | sort | index } | call", wf))
    done = outflow(p, "--lint", check=2)
    unbound = ("task 'call' input '{}' is not provided: no upstream output, map item, "
               "config value or default has that name")
    hint = "available here: samples, sorted"
    assert done.stderr == (
        problem(p, 26, 66, unbound.format("bai"), wf, hint)
        + problem(p, 26, 66, unbound.format("n"), wf, hint)
    )


def test_lint_places_an_as_name_the_body_does_not_make(tmp_path: Path) -> None:
    wf = ("map(samples -> sample) { make | sort | index } "
          "as (sorted, bai, n, bams = sortd, n) | call")
    p = make_project(tmp_path / "p", PIPELINE.replace(
        "map(samples -> sample) { make | sort | index } | call", wf))
    done = outflow(p, "--lint", check=2)
    assert done.stderr == (
        problem(p, 26, 79, "map passes on 'sortd', but no stage of its body makes it", wf,
                "did you mean 'sorted'? its body makes: bai, n, raw, sorted")
        + problem(p, 26, 86, "map passes on 'n' twice", wf, "give each name once")
    )


def test_as_needs_parentheses_and_names(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", PIPELINE.replace(
        "{ make | sort | index } | call", "{ make | sort | index } as bams | call"
    ))
    done = outflow(p, "--lint", check=2)
    assert done.stderr.startswith(f"{p}/Outflowfile:26:55: ")
    assert "^" in done.stderr


BRANCHED = '''
config:
    xs: list = [1, 2]

task a(x: int) -> (t: int):
    run:
        return x

task b(t: int) -> (u: int):
    run:
        return t + 10

task c(x: int) -> (t: int):
    run:
        return -x

task d(t: int) -> (v: int):
    run:
        return t * 100

task show(u: list, v: list):
    output: o = "uv.txt"
    run:
        open(output.o, "w").write(repr((u, v)))

workflow all:
    map(xs -> x) { (a | b, c | d) } | show
'''


def test_a_name_two_branches_of_the_body_make_is_ambiguous(tmp_path: Path) -> None:
    """``t`` is made by ``a`` and by ``c``, side by side: neither is later."""
    p = make_project(tmp_path / "p", BRANCHED)
    done = outflow(p, "--lint", check=2)
    assert done.stderr == problem(
        p, 26, 28, "map passes on 't', which two branches of its body make: 'a' and 'c'",
        "map(xs -> x) { (a | b, c | d) } | show",
        "branches run side by side, so neither is the later one; rename one, "
        "or pass on what you mean with as (...)",
    )
    # Passing on what is meant settles it.
    p = make_project(tmp_path / "q", BRANCHED.replace("} | show", "} as (u, v) | show"))
    outflow(p)
    assert (p / "uv.txt").read_text() == "([11, 12], [-100, -200])"
