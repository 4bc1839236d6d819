"""``temp("...")`` and ``protected("...")`` output files, through the
installed ``outflow`` in temporary projects.

A temporary file goes once every job reading it has succeeded, and comes
back only when one of them must run again; a protected file is made
read-only, and no job replaces it and ``--clean`` keeps it unless the run
says ``--force-protected``. Every test checksums the files around."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from outflowtest import lines, make_project, outflow

# One map-reads job per sample making a temporary file that two jobs read:
# ``slow`` reads it a moment later than ``quick`` (with -j 2 they run
# together, and the file must outlive the first to end). Each job appends
# its name to runs.log, so the tests see which ran.
PIPELINE = """
config:
    samples: list = ["s1", "s2"]

task mapreads(sample: str):
    input: reads = "data/{sample}.txt"
    output: sam = temp("mapped/{sample}.sam")
    shell: "echo mapreads {sample} >> runs.log; cat {input.reads} {input.reads} > {output.sam}"

task quick(sample: str):
    input: sam = "mapped/{sample}.sam"
    output: n = "counts/{sample}.txt"
    shell: "echo quick {sample} >> runs.log; wc -l < {input.sam} > {output.n}"

task slow(sample: str):
    input: sam = "mapped/{sample}.sam"
    output: bam = "sorted/{sample}.bam"
    shell: "echo slow {sample} >> runs.log; sleep 1; SLOWFAIL sort {input.sam} > {output.bam}"

workflow all:
    map(samples -> sample) { mapreads | (quick, slow) }
"""

DATA = {
    "data/s1.txt": "b\na\n",
    "data/s2.txt": "d\nc\n",
    "notes.txt": "the user's notes\n",
    "mapped/keep.txt": "a neighbour in the temporary files' directory\n",
}

USERS = ("data/s1.txt", "data/s2.txt", "notes.txt", "mapped/keep.txt")

PROTECTED = """
task call(n: int = 1):
    input: reads = "data/s1.txt"
    output: vcf = protected("calls/all.vcf")
    shell: "echo call >> runs.log; cat {input.reads} > {output.vcf}; echo VERSION >> {output.vcf}"

task table(n: int = 1):
    output: d = protected("tables")
    shell: "mkdir -p {output.d}/sub && echo t > {output.d}/sub/t.txt"

workflow all:
    (call, table)
"""


def pipeline(tmp_path: Path, slow_fails: bool = False) -> Path:
    text = PIPELINE.replace("SLOWFAIL", "exit 3;" if slow_fails else "")
    return make_project(tmp_path / "p", text, DATA)


def checksums(root: Path) -> dict[str, str]:
    """Every file under ``root`` but ``.outflow/`` and runs.log: its sha256."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".outflow"]
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if rel != "runs.log":
                found[rel] = hashlib.sha256(Path(full).read_bytes()).hexdigest()
    return found


def users_files(project: Path) -> dict[str, str]:
    sums = checksums(project)
    return {p: sums[p] for p in USERS}


def sams(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "mapped").glob("*.sam"))


def test_temp_file_removed_after_both_readers_and_not_rebuilt_by_a_noop(tmp_path: Path) -> None:
    project = pipeline(tmp_path)
    before = users_files(project)
    run = outflow(project, "-j", "2")
    assert "2 temporary files removed" in run.stderr + run.stdout
    # The slow reader read the file after the quick one had ended: it was
    # still there (sort of an absent file fails the job).
    assert (project / "sorted/s1.bam").read_text() == "a\na\nb\nb\n"
    assert (project / "counts/s1.txt").read_text().strip() == "4"
    assert sams(project) == []
    assert users_files(project) == before
    assert sorted(lines(project / "runs.log")) == sorted(
        f"{t} {s}" for t in ("mapreads", "quick", "slow") for s in ("s1", "s2")
    )
    (project / "runs.log").unlink()

    plan = outflow(project, "-n")
    assert "Nothing to do: every job is up to date." in plan.stdout
    assert "mapped/" not in plan.stdout
    outflow(project)
    assert lines(project / "runs.log") == []
    assert sams(project) == []
    assert users_files(project) == before


def test_changed_reader_remakes_the_temp_file_first_then_removes_it(tmp_path: Path) -> None:
    project = pipeline(tmp_path)
    outflow(project, "-j", "2")
    (project / "runs.log").unlink()
    before = users_files(project)
    sorted_before = (project / "sorted/s1.bam").stat().st_mtime_ns
    text = (project / "Outflowfile").read_text()
    (project / "Outflowfile").write_text(text.replace("wc -l <", "wc -c <"))

    plan = outflow(project, "-n")
    assert [ln.split() for ln in plan.stdout.splitlines() if ln.startswith("  ")][:4] == [
        "mapreads sample=s1 temporary file mapped/s1.sam is needed by quick sample=s1".split(),
        "quick sample=s1 task definition changed".split(),
        "mapreads sample=s2 temporary file mapped/s2.sam is needed by quick sample=s2".split(),
        "quick sample=s2 task definition changed".split(),
    ]
    assert "Would remove temporary files once their readers succeed:\n  mapped/s1.sam\n" \
        "  mapped/s2.sam" in plan.stdout
    assert sams(project) == []  # -n changed nothing

    outflow(project, "-j", "2")
    ran = lines(project / "runs.log")
    assert sorted(ran) == ["mapreads s1", "mapreads s2", "quick s1", "quick s2"]
    for s in ("s1", "s2"):  # each remade before its reader ran
        assert ran.index(f"mapreads {s}") < ran.index(f"quick {s}")
    assert (project / "counts/s1.txt").read_text().strip() == "8"
    assert (project / "sorted/s1.bam").stat().st_mtime_ns == sorted_before
    assert sams(project) == []
    assert users_files(project) == before
    assert "Nothing to do" in outflow(project, "-n").stdout


def test_failing_reader_keeps_the_temp_file(tmp_path: Path) -> None:
    project = pipeline(tmp_path, slow_fails=True)
    before = users_files(project)
    outflow(project, "-j", "2", "-k", check=1)
    # quick succeeded, slow failed: the files are kept for the rerun
    assert sams(project) == ["s1.sam", "s2.sam"]
    assert (project / "mapped/s1.sam").read_text() == "b\na\nb\na\n"
    assert users_files(project) == before
    # Fixed: the next run uses them (mapreads does not run) and then removes them.
    text = (project / "Outflowfile").read_text()
    (project / "Outflowfile").write_text(text.replace("exit 3;", ""))
    (project / "runs.log").unlink()
    outflow(project, "-j", "2")
    assert sorted(lines(project / "runs.log")) == ["slow s1", "slow s2"]
    assert sams(project) == []
    assert users_files(project) == before


def test_keep_temp_keeps_them_until_a_run_without_it(tmp_path: Path) -> None:
    project = pipeline(tmp_path)
    before = users_files(project)
    run = outflow(project, "--keep-temp")
    assert "2 temporary files kept" in run.stderr + run.stdout
    assert sams(project) == ["s1.sam", "s2.sam"]
    plan = outflow(project, "-n")
    assert "Would remove temporary files once their readers succeed:" in plan.stdout
    assert sams(project) == ["s1.sam", "s2.sam"]
    (project / "runs.log").unlink()
    outflow(project)
    assert lines(project / "runs.log") == []  # nothing ran: the files only went
    assert sams(project) == []
    assert users_files(project) == before


def test_temp_file_nothing_reads_is_kept(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", """
        task make:
            output: t = temp("out/t.txt")
            shell: "echo t > {output.t}"

        workflow all:
            make
        """)
    outflow(project)
    assert (project / "out/t.txt").read_text() == "t\n"
    assert "Nothing to do" in outflow(project, "-n").stdout


def protected_project(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "p", PROTECTED, {"data/s1.txt": "x\n", "notes.txt": "the user's notes\n"}
    )


def writable(path: Path) -> bool:
    return bool(stat.S_IMODE(path.lstat().st_mode) & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def test_protected_output_is_read_only_and_not_replaced(tmp_path: Path) -> None:
    project = protected_project(tmp_path)
    outflow(project)
    vcf = project / "calls/all.vcf"
    assert vcf.read_text() == "x\nVERSION\n"
    assert not writable(vcf)
    for inside in ("tables", "tables/sub", "tables/sub/t.txt"):
        assert not writable(project / inside), inside
    mtime = vcf.stat().st_mtime_ns
    (project / "runs.log").unlink()

    # The job's code changes: it must rerun, and would replace the file.
    text = (project / "Outflowfile").read_text()
    (project / "Outflowfile").write_text(text.replace("VERSION", "VERSION2"))
    before = checksums(project)
    refused = (
        "error: call: would replace the protected output file calls/all.vcf; outflow does not "
        "replace protected files. Move it away yourself, or run again with --force-protected "
        "to let the job replace it"
    )
    # -n says what the run does (issue 17): it listed the job as one that
    # would run, exit 0.
    dry = outflow(project, "-n", "call", check=1)
    assert refused in dry.stderr and "Would run" not in dry.stdout
    assert "call  task definition changed" in outflow(
        project, "-n", "call", "--force-protected").stdout
    run = outflow(project, "call", check=1)
    assert refused in run.stderr
    assert lines(project / "runs.log") == []  # it never started
    assert checksums(project) == before
    assert vcf.stat().st_mtime_ns == mtime and not writable(vcf)
    assert not list((project / ".outflow").glob("aside/*"))

    outflow(project, "call", "--force-protected")
    assert lines(project / "runs.log") == ["call"]
    assert vcf.read_text() == "x\nVERSION2\n"
    assert not writable(vcf)
    after = checksums(project)
    assert {p: s for p, s in after.items() if p != "calls/all.vcf"} == {
        p: s for p, s in before.items() if p != "calls/all.vcf"
    }
    assert not list((project / ".outflow").glob("aside/*"))


def test_force_protected_replaces_a_protected_directory(tmp_path: Path) -> None:
    project = protected_project(tmp_path)
    outflow(project)
    outflow(project, "-R", "table", check=1)
    assert (project / "tables/sub/t.txt").read_text() == "t\n"
    outflow(project, "-R", "table", "--force-protected")
    assert (project / "tables/sub/t.txt").read_text() == "t\n"
    assert not writable(project / "tables/sub")
    assert not list((project / ".outflow").glob("aside/*"))


def test_clean_keeps_protected_outputs_unless_forced(tmp_path: Path) -> None:
    project = protected_project(tmp_path)
    outflow(project)
    before = checksums(project)
    run = outflow(project, "--clean", "--yes")
    assert (
        "outflow: kept calls/all.vcf: a protected() output: --clean removes it only with "
        "--force-protected"
    ) in run.stdout
    assert "outflow: kept tables: a protected() output" in run.stdout
    assert checksums(project) == before

    outflow(project, "--clean", "--yes", "--force-protected")
    assert not (project / "calls").exists() and not (project / "tables").exists()
    assert checksums(project) == {
        p: s for p, s in before.items() if not p.startswith(("calls/", "tables/"))
    }


def test_lint_places_misused_flags(tmp_path: Path) -> None:
    cases = {
        'input: x = temp("a")': (2, 16, "temp() marks an output file, not an input file"),
        'output: x = temp(protected("a"))': (
            2, 22, "file 'x' cannot be both temp() and protected()"),
        'output: x = tmp("a")': (2, 17, "unknown file flag 'tmp(...)'; did you mean 'temp'?"),
        "output: x = protected(3)": (2, 27, "the pattern of file 'x' must be a string"),
    }
    for directive, (line, col, message) in cases.items():
        project = make_project(
            tmp_path / str(abs(hash(directive))),
            f'task a:\n    {directive}\n    shell: "true"\n\nworkflow all:\n    a\n',
        )
        run = outflow(project, "--lint", check=2)
        assert f"Outflowfile:{line}:{col}: {message}" in run.stderr, run.stderr


CHAIN = """
task a:
    input: i = "in.txt"
    output: t1 = temp("t1.txt")
    shell: "echo a >> runs.log; cat {input.i} > {output.t1}"

task b:
    input: t1 = "t1.txt"
    output: t2 = temp("t2.txt")
    shell: "echo b >> runs.log; cat {input.t1} {input.t1} > {output.t2}"

task c:
    input: t2 = "t2.txt"
    output: f = "final.txt"
    shell: "echo c >> runs.log; cat {input.t2} > {output.f}"

workflow all:
    a | b | c
"""


def test_a_chain_of_temp_files_is_remade_from_its_start(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", CHAIN, {"in.txt": "x\n", "notes.txt": "n\n"})
    outflow(project)
    assert sorted(checksums(project)) == ["Outflowfile", "final.txt", "in.txt", "notes.txt"]
    (project / "runs.log").unlink()
    text = (project / "Outflowfile").read_text()
    twice = text.replace("cat {input.t2} >", "cat {input.t2} {input.t2} >")
    (project / "Outflowfile").write_text(twice)
    plan = outflow(project, "-n")
    assert "  a  temporary file t1.txt is needed by b\n" \
        "  b  temporary file t2.txt is needed by c\n" \
        "  c  task definition changed\n" in plan.stdout
    outflow(project)
    assert lines(project / "runs.log") == ["a", "b", "c"]
    assert (project / "final.txt").read_text() == "x\nx\n" * 2
    assert sorted(checksums(project)) == ["Outflowfile", "final.txt", "in.txt", "notes.txt"]
    (project / "runs.log").unlink()
    assert "Nothing to do" in outflow(project, "-n").stdout
    outflow(project)
    assert lines(project / "runs.log") == []


def test_list_shows_the_flags(tmp_path: Path) -> None:
    project = pipeline(tmp_path)
    shown = outflow(project, "--list").stdout
    assert "  mapreads(sample: str) -> (sam: temp(path))\n" in shown
    assert "  quick(sample: str) -> (n: path)\n" in shown
    assert "call(n: int) -> (vcf: protected(path))" in outflow(
        protected_project(tmp_path / "q"), "--list"
    ).stdout
