"""What outflow reads or writes itself is never a job's (issue 16, past its
list): the files it reads to know the workflow (an included file, a sample
sheet or YAML a config entry reads, ``--configfile``, ``outflow.toml``, a
profile), the cache database of ``--db``, and a directory holding any of
them, are refused as outputs by ``--lint`` when the patterns show it and by
``-n``, the run and ``--clean`` when only the values do, before anything is
touched. A ``log:`` path that is a symbolic link is replaced, never written
through; ``--report`` writes only a new file or over its own earlier report.
Every file beside, above and in the project is checksummed around each
command."""

from __future__ import annotations

from pathlib import Path

from aroundfiles import checksums, plant
from outflowtest import make_project, outflow

AROUND = {
    "victim/file.txt": "someone else's file\n",
    "proj/data.txt": "the only copy\n",
    "proj/rules/words.of": 'task words:\n    output: w = "words.txt"\n'
    '    shell: "echo w > {output.w}"\n',
    "proj/sheets/samples.csv": "sample,n\nA,1\n",
    "proj/cf/settings.yaml": "n: 2\n",
    "proj/outflow.toml": "[config]\nn = 3\n",
}

WRITES_OUTFLOWS_FILES = """\
include: "rules/words.of"

config:
    samples: table = csv("sheets/samples.csv")
    n: int = 1

task holds_include:
    output: o = "rules"
    shell: "mkdir {output.o}"

task sheet:
    output: o = "sheets/samples.csv"
    shell: "echo x > {output.o}"

task options:
    output: o = "./outflow.toml"
    shell: "echo x > {output.o}"

workflow all:
    holds_include | sheet | options
"""


def _unchanged(top: Path, before: dict[str, str], what: str, cache: str = "proj/.outflow/") -> None:
    """Every file as it was; nothing new but outflow's own state (``cache``)."""
    now = checksums(top, skip_state=True)
    changed = sorted(k for k in before if now.get(k) != before[k])
    assert not changed, (what, changed)
    new = sorted(k for k in now if k not in before and not k.startswith(("proj/.outflow/", cache)))
    assert not new, (what, new)


def test_lint_refuses_outputs_on_files_outflow_reads(tmp_path: Path) -> None:
    top = plant(tmp_path / "top", AROUND)
    project = make_project(top / "proj", WRITES_OUTFLOWS_FILES)
    before = checksums(top, skip_state=True)
    of = project / "Outflowfile"
    expected = [
        f"{of}:8:13: output pattern 'rules' of task 'holds_include' names a directory that "
        "holds a file the Outflowfile includes (rules/words.of), which no job may write",
        f"{of}:12:13: output pattern 'sheets/samples.csv' of task 'sheet' names a file outflow "
        "reads config or options from, which no job may write",
        f"{of}:16:13: output pattern './outflow.toml' of task 'options' names a file outflow "
        "reads config or options from, which no job may write",
    ]
    for args in (["--lint"], ["-n"], [], ["--clean", "--yes"]):
        proc = outflow(project, *args, check=2)
        lines = proc.stderr.splitlines()
        for line in expected:
            assert line in lines, (args, proc.stderr)
        _unchanged(top, before, " ".join(args))


WHERE = """\
config:
    samples: table = csv("sheets/samples.csv")
    where: str = "results"
    n: int = 1

task write(where: str):
    output: o = "{where}"
    shell: "mkdir -p {output.o} && echo x > {output.o}/x.txt"

workflow all:
    write
"""


def test_values_that_name_outflows_files_are_refused(tmp_path: Path) -> None:
    """``--lint`` cannot know; ``-n``, the run and ``--clean`` refuse before
    anything is touched, naming the job and the path."""
    top = plant(tmp_path / "top", AROUND)
    project = make_project(top / "proj", WHERE)
    outflow(project, "--lint")
    at = f"{project / 'Outflowfile'}:7:13: output 'o' of job"
    cases = [
        (["-C", "where=sheets"], f"{at} write[where='sheets'] is sheets, a directory that holds "
         "a file outflow reads config or options from (sheets/samples.csv)"),
        (["-C", "where=cf", "--configfile", "cf/settings.yaml"],
         f"{at} write[where='cf'] is cf, a directory that holds a file outflow reads config or "
         "options from (cf/settings.yaml)"),
        (["-C", "where=./OUTFLOW.toml"], f"{at} write[where='./OUTFLOW.toml'] is OUTFLOW.toml, "
         "a file outflow reads config or options from (outflow.toml)"),
        (["-C", "where=c.db", "--db", "c.db"],
         f"{at} write[where='c.db'] is c.db, outflow's cache database"),
        (["-C", "where=state/c.db-wal", "--db", "sqlite:///state/c.db"],
         f"{at} write[where='state/c.db-wal'] is state/c.db-wal, outflow's cache database"),
    ]
    (project / "state").mkdir()
    for options, line in cases:
        before = checksums(top, skip_state=True)  # each case checked against the one before it
        for args in (["-n"], [], ["--clean", "--yes"])[: 3 if "--db" in options else 2]:
            proc = outflow(project, *options, *args, check=2)
            assert line in proc.stderr.splitlines(), (options, args, proc.stderr)
            db = options[-1].removeprefix("sqlite:///") if "--db" in options else ".outflow/"
            _unchanged(top, before, " ".join(options + args), cache=f"proj/{db}")
    assert not (project / "results").exists()


LOGS = """\
config:
    names: list = ["out", "in"]
    n: int = 1

task say(name: str):
    output: o = "out/{name}.txt"
    log: "logs/{name}.log"
    shell: "echo said-{name}; echo {name} > {output.o}"

task own(name: str):
    output: o = "own/{name}.txt"
    log: "logs/own-{name}.log"
    shell: "echo own-{name} > {log}; echo {name} > {output.o}"

workflow all:
    map(names -> name) { say | own }
"""


def test_a_log_that_is_a_link_is_replaced_not_written_through(tmp_path: Path) -> None:
    """Links a user left at log paths, out of the project and to an input:
    the job's log takes their place; what they pointed to is untouched."""
    top = plant(tmp_path / "top", AROUND)
    project = make_project(top / "proj", LOGS)
    logs = project / "logs"
    logs.mkdir()
    (logs / "out.log").symlink_to("../../victim/file.txt")
    (logs / "in.log").symlink_to("../data.txt")
    (logs / "own-out.log").symlink_to("../../victim/file.txt")
    (logs / "own-in.log").symlink_to("../data.txt")
    around = checksums(top, skip_state=True)
    kept = {k: v for k, v in around.items() if not k.startswith("proj/logs/")}
    for args in ([], ["-F"]):
        outflow(project, *args)
        now = checksums(top, skip_state=True)
        assert all(now.get(k) == v for k, v in kept.items()), args
        for name in ("out", "in"):
            assert not (logs / f"{name}.log").is_symlink()
            assert (logs / f"{name}.log").read_text() == f"said-{name}\n"
            assert not (logs / f"own-{name}.log").is_symlink()
            assert (logs / f"own-{name}.log").read_text() == f"own-{name}\n"


REPORTED = """\
config:
    n: int = 1

task copy:
    input: i = "data.txt"
    output: o = "out/copy.txt"
    shell: "cp {input.i} {output.o}"

workflow all:
    copy
"""


def test_report_writes_only_a_new_file_or_its_own(tmp_path: Path) -> None:
    top = plant(tmp_path / "top", AROUND)
    project = make_project(top / "proj", REPORTED)
    outflow(project)
    (project / "link.html").symlink_to("../victim/file.txt")
    before = checksums(top, skip_state=True)
    refused = {
        "data.txt": "data.txt exists and is not a report outflow wrote",
        "out/copy.txt": "out/copy.txt exists and is not a report outflow wrote",
        "link.html": "link.html exists and is not a report outflow wrote",
        "Outflowfile": "that is the Outflowfile, which outflow never writes over",
        "outflow.toml": "that is a file outflow reads config or options from",
        ".outflow/outflow.db": "that is a path inside outflow's own directory .outflow/",
    }
    for path, why in refused.items():
        proc = outflow(project, "--report", path, check=2)
        assert proc.stderr.startswith(f"error: --report {path}: {why}"), proc.stderr
        _unchanged(top, before, path)
    outflow(project, "--report", "report.html")
    first = (project / "report.html").read_text()
    outflow(project, "--report", "report.html")  # over its own earlier report
    assert (project / "report.html").read_text().startswith(first[:200])


OUTSIDE = """\
config:
    samples: table = csv("SHEET")
    where: str = "SHEET"
    n: int = 1

task write(where: str):
    output: o = "/{where}"
    shell: "echo x > {output.o}"

workflow all:
    write
"""


def test_an_absolute_output_is_no_file_outflow_reads_elsewhere(tmp_path: Path) -> None:
    """Writing outside the project on purpose (an absolute pattern) is
    still not writing the sample sheet the config reads there, nor the
    directory holding it; another path beside it is fine."""
    top = plant(tmp_path / "top", {**AROUND, "sheets/samples.csv": "sample,n\nA,1\n"})
    sheet = top / "sheets" / "samples.csv"
    project = make_project(top / "proj", OUTSIDE.replace("SHEET", str(sheet)))
    at = f"{project / 'Outflowfile'}:7:13: output 'o' of job write[where="
    cases = {
        str(sheet): f"is {sheet}, a file outflow reads config or options from",
        str(sheet.parent): f"is {sheet.parent}, a directory that holds a file outflow reads "
        f"config or options from ({sheet})",
    }
    before = checksums(top, skip_state=True)
    for where, why in cases.items():
        proc = outflow(project, "-C", f"where={where}", check=2)
        assert f"{at}{where!r}] {why}" in proc.stderr.splitlines(), proc.stderr
        _unchanged(top, before, where)
    outflow(project, "-C", f"where={sheet.parent / 'other.txt'}")
    assert (sheet.parent / "other.txt").read_text() == "x\n"
