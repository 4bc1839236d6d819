"""Housekeeping commands through the installed ``outflow``: --touch,
--forget, --clean and --show, on the SQLite and the PostgreSQL cache."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.outflowtest import cache_rows, lines, make_project, outflow

# Shell tasks write a line to ran.log each time they run.
CHAIN = """
config:
    samples: list = ["a", "b", "c"]

task count(sample: str):
    input:  text = "data/{sample}.txt"
    output: counts = "counts/{sample}.tsv"
    shell:  "echo count {sample} >> ran.log; wc -w < {input.text} > {output.counts}"

task merge(counts: list):
    output: total = "total.tsv"
    shell:  "echo merge >> ran.log; cat {counts} > {output.total}"

task size(total: str) -> (n: int):
    run:
        with open("ran.log", "a") as log:
            log.write("size\\n")
        return len(open(total).read().split())

task report(n: int):
    output: rep = "report.txt"
    shell:  "echo report >> ran.log; echo {n} > {output.rep}"

workflow all:
    map(samples -> sample) { count } | merge | size | report

workflow files:
    map(samples -> sample) { count } | merge
"""

DATA = {f"data/{s}.txt": f"one two {s}\n" for s in "abc"}


def run(
    project: Path, db: str | None, *args: str, check: int | None = 0
) -> subprocess.CompletedProcess[str]:
    extra = ["--db", db] if db else []
    return outflow(project, *extra, *args, check=check)


def made_by_hand(project: Path, *names: str) -> None:
    for name in names:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("made by hand\n")


# --- --touch ----------------------------------------------------------------------


def test_touch_adopts_existing_outputs(tmp_path: Path, cache_url: str | None) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    made_by_hand(project, "counts/a.tsv", "counts/b.tsv", "counts/c.tsv", "total.tsv")
    before = run(project, cache_url, "-n", "files")
    assert "Would run 4 jobs" in before.stdout

    done = run(project, cache_url, "--touch", "files")
    assert done.stdout.splitlines() == [
        "outflow: touched 4 jobs, 0 up to date",
        "  count: 3 jobs",
        "  merge: 1 jobs",
    ]
    assert "Nothing to do" in run(project, cache_url, "-n", "files").stdout
    run(project, cache_url, "files")
    assert lines(project / "ran.log") == []
    assert (project / "total.tsv").read_text() == "made by hand\n"

    # The records hold the files' stamps as a run's would: a changed input
    # makes its job and what depends on it run again.
    (project / "data/b.txt").write_text("changed\n")
    os.utime(project / "data/b.txt", ns=(1 << 62, 1 << 62))
    plan = run(project, cache_url, "-n", "files").stdout
    assert "count sample=b  input file data/b.txt is newer than the last run" in plan
    assert "Would run 2 jobs" in plan


def test_touch_leaves_jobs_with_missing_outputs_and_their_downstream(
    tmp_path: Path, cache_url: str | None
) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    made_by_hand(project, "counts/a.tsv", "counts/b.tsv", "total.tsv")
    done = run(project, cache_url, "--touch", "-v", "files", check=1)
    assert "touched 2 jobs, 0 up to date" in done.stdout
    assert "  touched count sample=a\n  touched count sample=b\n" in done.stdout
    assert "not touched count sample=c: output file counts/c.tsv is missing" in done.stdout
    assert "1 jobs downstream of those not touched either" in done.stdout
    plan = run(project, cache_url, "-n", "files").stdout
    assert "Would run 2 jobs" in plan  # count c, then merge
    assert "2 jobs up to date" in plan


def test_touch_never_touches_jobs_that_produce_values(
    tmp_path: Path, cache_url: str | None
) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    made_by_hand(project, "counts/a.tsv", "counts/b.tsv", "counts/c.tsv", "total.tsv")
    made_by_hand(project, "report.txt")
    done = run(project, cache_url, "--touch", check=1)
    assert "touched 4 jobs" in done.stdout
    assert "not touched size: it produces values (n): only running it gives them" in done.stdout
    assert "1 jobs downstream of those not touched either" in done.stdout
    run(project, cache_url)
    assert lines(project / "ran.log") == ["size", "report"]
    assert (project / "report.txt").read_text() == "3\n"  # the words of total.tsv, made by hand


def test_touch_dry_run_writes_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    made_by_hand(project, "counts/a.tsv", "counts/b.tsv", "counts/c.tsv")
    done = outflow(project, "--touch", "-n", "count")
    assert "would touch 3 jobs" in done.stdout
    assert "Would run 3 jobs" in outflow(project, "-n", "count").stdout


def test_touch_refuses_while_another_outflow_runs(tmp_path: Path) -> None:
    from filelock import FileLock

    project = make_project(tmp_path / "p", CHAIN, DATA)
    (project / ".outflow").mkdir()
    with FileLock(str(project / ".outflow" / "lock")):
        done = outflow(project, "--touch", check=2)
    assert "another outflow is running in this project" in done.stderr


# --- --forget ---------------------------------------------------------------------


def test_forget_drops_every_cached_job_of_a_task(tmp_path: Path, cache_url: str | None) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    run(project, cache_url)
    done = run(project, cache_url, "--forget", "count", "--forget", "report")
    assert done.stdout.splitlines() == [
        "outflow: forgot 3 cached jobs of task count",
        "outflow: forgot 1 cached jobs of task report",
    ]
    plan = run(project, cache_url, "-n").stdout
    assert "count sample=a  no cached result" in plan
    assert "Would run 6 jobs" in plan
    (project / "ran.log").unlink()
    run(project, cache_url)
    # merge and size are cut off (same content): only the forgotten jobs run.
    assert sorted(lines(project / "ran.log")) == ["count a", "count b", "count c", "report"]
    again = run(project, cache_url, "--forget", "merge", "--forget", "merge")
    assert again.stdout == "outflow: forgot 1 cached jobs of task merge\n"
    if cache_url is None:  # a real DELETE: the rows are gone
        assert cache_rows(project, "SELECT count(*) FROM jobs WHERE task = 'merge'") == [(0,)]


def test_forget_an_unknown_task(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    done = outflow(project, "--forget", "cuont", check=2)
    assert done.stderr == (
        "error: --forget names 'cuont', which is not a task of the Outflowfile\n"
        "  did you mean 'count'? \n"
    )
    done = outflow(project, "--forget", "files", check=2)
    assert "--forget names 'files', which is a workflow, not a task" in done.stderr
    done = outflow(project, "--forget", "count", "--touch", check=2)
    assert done.stderr == "error: --touch and --forget cannot be used together\n"


# --- --clean ----------------------------------------------------------------------

OUTPUTS = ["counts/a.tsv", "counts/b.tsv", "counts/c.tsv", "report.txt", "total.tsv"]


def existing(project: Path, names: list[str]) -> list[str]:
    return [n for n in names if (project / n).exists()]


def test_clean_removes_the_outputs_of_the_targets(tmp_path: Path, cache_url: str | None) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    run(project, cache_url)
    listed = run(project, cache_url, "--clean", "-n").stdout
    # counts/ too: outflow made it, and nothing else is in it
    assert listed.splitlines() == ["outflow: would remove 6 paths:"] + [
        f"  {name}" for name in OUTPUTS
    ] + ["  counts/"]
    assert existing(project, OUTPUTS) == OUTPUTS

    done = run(project, cache_url, "--clean", "--yes", "count")
    assert done.stdout.splitlines()[-1] == (
        "outflow: removed 4 paths (the cache keeps the jobs' records)"
    )
    assert existing(project, OUTPUTS) == ["report.txt", "total.tsv"]
    assert not (project / "counts").exists()
    run(project, cache_url)
    run(project, cache_url, "--clean", "--yes", "total.tsv")  # not what is upstream of it
    assert existing(project, OUTPUTS) == [n for n in OUTPUTS if n != "total.tsv"]
    run(project, cache_url, "--clean", "--yes", "count")
    # The report's file name waits for upstream values: found in its record.
    run(project, cache_url, "--clean", "-y")
    assert existing(project, OUTPUTS) == []
    assert existing(project, list(DATA)) == list(DATA)  # inputs no job makes stay
    assert (project / "Outflowfile").exists()
    assert "nothing to remove" in run(project, cache_url, "--clean").stdout
    plan = run(project, cache_url, "-n").stdout
    assert "count sample=a  output file counts/a.tsv is missing" in plan


def test_clean_without_a_terminal_needs_yes(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    outflow(project, "files")
    done = outflow(project, "--clean", check=2)
    assert done.stderr == (
        "error: --clean: not removing 5 paths without a confirmation, "
        "and the input is not a terminal to ask on\n"
        "  add --yes to remove them (or -n to only list them)\n"
    )
    assert existing(project, OUTPUTS) == OUTPUTS[:3] + ["total.tsv"]


def on_terminal(project: Path, args: list[str], answer: str) -> str:
    """Run outflow with a pseudo-terminal as its input and output; answer
    its question; everything it printed."""
    import pty
    import subprocess

    from tests.outflowtest import outflow_command

    main, side = pty.openpty()
    proc = subprocess.Popen(
        outflow_command() + args, cwd=project, stdin=side, stdout=side, stderr=side
    )
    os.close(side)
    seen = b""
    while b"[y/N]" not in seen:
        chunk = os.read(main, 4096)
        assert chunk, seen
        seen += chunk
    os.write(main, answer.encode() + b"\n")
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO: the command ended
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0
    os.close(main)
    return seen.decode().replace("\r\n", "\n")


def test_clean_asks_on_a_terminal(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    outflow(project)
    # A task target: its own jobs' outputs, not those of what is upstream.
    said = on_terminal(project, ["--clean", "merge"], "n")
    assert said.startswith("outflow: to remove 1 path:\n  total.tsv\n")
    assert "Remove 1 path? [y/N]: n\noutflow: nothing removed" in said
    assert existing(project, OUTPUTS) == OUTPUTS
    said = on_terminal(project, ["--clean", "merge"], "y")
    assert "outflow: removed 1 path (the cache keeps the jobs' records)" in said
    assert existing(project, OUTPUTS) == [n for n in OUTPUTS if n != "total.tsv"]


def test_clean_never_leaves_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    project = make_project(
        tmp_path / "p",
        f"""
        task linked():
            output: o = "linked/f.txt"
            shell: "echo b > {{output.o}}"

        task absolute():
            output: o = "{tmp_path}/abs.txt"
            shell: "echo b > {{output.o}}"

        task mine():
            output: o = "mine/out.txt"
            shell: "echo c > {{output.o}}"

        workflow all:
            linked | absolute | mine
        """,
        {".outflow/mine": "state\n"},
    )
    outflow(project)
    # What outflow made in linked/ now lies outside, through a symbolic
    # link (a rename keeps the stamp the cache recorded).
    os.rename(project / "linked" / "f.txt", outside / "f.txt")
    (project / "linked").rmdir()
    (project / "linked").symlink_to(outside)
    # An output through a symbolic link out of the project is refused once
    # the path is bound (issue 16), before --clean removes anything.
    refused = outflow(project, "--clean", "--yes", check=2)
    assert refused.stderr.splitlines()[0] == (
        f"{project / 'Outflowfile'}:2:13: output 'o' of job linked is linked/f.txt "
        f"({os.path.realpath(outside)}/f.txt through a symbolic link), "
        "a path outside the project directory"
    )
    assert (project / "mine/out.txt").read_text() == "c\n"
    (project / "linked").unlink()
    done = outflow(project, "--clean", "--yes")
    assert done.stdout == (
        "outflow: to remove 2 paths:\n  mine/out.txt\n  mine/\n"
        f"outflow: kept {tmp_path}/abs.txt: outside the project: --clean removes only inside it\n"
        "outflow: removed 2 paths, kept 1 (the cache keeps the jobs' records)\n"
    )
    assert (outside / "f.txt").read_text() == "b\n"
    assert (tmp_path / "abs.txt").read_text() == "b\n"
    assert (project / ".outflow/mine").exists() and (project / "Outflowfile").exists()
    # An output in .outflow/ or on the Outflowfile is refused when the
    # Outflowfile is loaded (issue 16), before --clean looks at anything.
    with (project / "Outflowfile").open("a") as f:
        f.write('task state():\n    output: o = ".outflow/mine"\n    shell: "true"\n')
        f.write('task itself():\n    output: o = "Outflowfile"\n    shell: "true"\n')
    refused = outflow(project, "--clean", "--yes", check=2)
    assert "output pattern '.outflow/mine' of task 'state' names a path inside" in refused.stderr
    assert "output pattern 'Outflowfile' of task 'itself' names the Outflowfile" in refused.stderr
    assert (project / ".outflow/mine").read_text() == "state\n"


# --- --show -----------------------------------------------------------------------


def test_show_prints_the_cached_values(tmp_path: Path, cache_url: str | None) -> None:
    import json
    import re

    project = make_project(tmp_path / "p", CHAIN, DATA)
    assert run(project, cache_url, "--show", "size").stdout == "task size: no cached result\n"
    run(project, cache_url)
    text = run(project, cache_url, "--show", "size", "--show", "count").stdout
    text = re.sub(r"job \d+  done [\d-]+ [\d:]+  key [0-9a-f]{12}", "job N  done T  key K", text)
    assert text == (
        "task size: 1 cached job\n"
        "  job N  done T  key K\n"
        "    input  total = 'total.tsv'\n"
        "    output n = 3\n"  # three counts in total.tsv
        "    read   total.tsv\n"
        "\n"
        "task count: 3 cached jobs\n"
        + "".join(
            f"  job N  done T  key K\n    input  sample = '{s}'\n"
            f"    read   data/{s}.txt\n    made   counts/{s}.tsv\n"
            for s in "abc"
        )
    )
    jobs = json.loads(run(project, cache_url, "--show", "merge", "--format", "json").stdout)
    assert len(jobs) == 1
    job = jobs[0]
    assert job["task"] == "merge" and len(job["key"]) == 40
    assert job["params"] == {"counts": ["counts/a.tsv", "counts/b.tsv", "counts/c.tsv"]}
    assert job["values"] == {}
    assert job["files"] == {"in": job["params"]["counts"], "out": ["total.tsv"]}
    assert job["ended"] >= job["started"] > 0


def test_show_errors(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    done = outflow(project, "--show", "sise", check=2)
    assert done.stderr == (
        "error: --show names 'sise', which is not a task of the Outflowfile\n"
        "  did you mean 'size'? \n"
    )
    done = outflow(project, "--show", "size", "--format", "dot", check=2)
    assert done.stderr == "error: --format dot does not apply to --show; use text or json\n"
    done = outflow(project, "--show", "size", "--clean", check=2)
    assert done.stderr == "error: --clean and --show cannot be used together\n"


def test_touch_adopts_a_changed_output(tmp_path: Path, cache_url: str | None) -> None:
    project = make_project(tmp_path / "p", CHAIN, DATA)
    run(project, cache_url, "files")
    made_by_hand(project, "counts/a.tsv")
    plan = run(project, cache_url, "-n", "files").stdout
    assert "count sample=a  output file counts/a.tsv changed since it was made" in plan
    done = run(project, cache_url, "--touch", "-v", "files")
    assert done.stdout.splitlines() == [
        "outflow: touched 2 jobs, 2 up to date",
        "  touched count sample=a",
        "  touched merge",
    ]
    assert "Nothing to do" in run(project, cache_url, "-n", "files").stdout
    if cache_url is None:  # the touched record replaced the old one of its key
        rows = cache_rows(project, "SELECT count(*), count(DISTINCT key) FROM jobs "
                                   "WHERE status = 'done'")
        assert rows == [(4, 4)]


def test_clean_removes_a_directory_output(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        """
        task split():
            output: parts = "parts"
            shell: "mkdir {output.parts} && echo a > {output.parts}/a && echo b > {output.parts}/b"

        workflow all:
            split
        """,
    )
    outflow(project)
    assert sorted(p.name for p in (project / "parts").iterdir()) == ["a", "b"]
    done = outflow(project, "--clean", "--yes")
    assert done.stdout.startswith("outflow: to remove 1 path:\n  parts/\n")
    assert not (project / "parts").exists()
    assert (project / "Outflowfile").exists()
