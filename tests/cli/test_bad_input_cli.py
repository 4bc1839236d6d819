"""Careless input around the Outflowfile, through the installed ``outflow``:
sample sheets, ``--configfile``, ``outflow.toml``, targets, input files.
Each case is one command in a fresh project, its exit status and its whole
error (``{p}`` stands for the project directory)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from outflowtest import make_project, outflow

PLAIN = """
config:
    n: int = 2
    name: str = "x"

task a(n: int, name: str) -> x:
    run:
        return n

workflow all:
    a
"""

SHEET = """
config:
    samples: table = csv("s.csv")

task each(sample: str, fq: str):
    output: out = "out/{sample}.txt"
    shell: "echo {fq} > {output.out}"

workflow all:
    map(samples -> (sample, fq)) { each }
"""

UTF8_HINT = "  save the file as UTF-8 (an editor's 'encoding' setting; iconv -f latin1 -t utf-8)\n"


@dataclass(frozen=True)
class Case:
    id: str
    outflowfile: str
    args: tuple[str, ...]
    status: int
    stderr: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # symbolic link -> its target


CASES = [
    Case("outflowfile_is_a_directory", "", ("-n",), 2,
         "error: {p}/Outflowfile is a directory, not an Outflowfile\n"
         "  an Outflowfile is a text file; name another with -f/--file\n",
         files={"Outflowfile/x": ""}),
    Case("outflowfile_is_a_link_to_nowhere", "", ("--lint",), 2,
         "error: {p}/Outflowfile is a symbolic link to gone/Outflowfile, which does not exist\n",
         links={"Outflowfile": "gone/Outflowfile"}),
    Case("outflow_toml_is_a_directory", PLAIN, ("-n",), 2,
         "error: {p}/outflow.toml is a directory, not an options file\n",
         files={"outflow.toml/x": ""}),
    Case("outflow_toml_with_a_bom", PLAIN, ("--lint",), 0, "",
         files={"outflow.toml": "\ufeffjobs = 2\n"}),
    Case("outflow_toml_not_utf8", PLAIN, ("-n",), 2,
         "{p}/outflow.toml:1:15: outflow.toml is not UTF-8 text: byte 0xe9 here cannot be read\n"
         "    jobs = 2 # caf\ufffd\n"
         "                  ^\n" + UTF8_HINT,
         files={"outflow.toml": "jobs = 2 # caf\xe9\n".encode("latin-1")}),
    Case("configfile_unknown_key_at_its_line", PLAIN, ("-n", "--configfile", "c.yaml"), 2,
         "c.yaml:2:1: --configfile c.yaml: unknown config key 'nme'\n"
         "    nme: 2\n"
         "    ^\n"
         "  did you mean 'name'? known keys: n, name\n",
         files={"c.yaml": "n: 1\nnme: 2\n"}),
    Case("configfile_json_value_of_the_wrong_type", PLAIN, ("-n", "--configfile", "c.json"), 2,
         "c.json:3:11: --configfile c.json: config 'name' is declared str but the file gives "
         "list ([1, 2])\n"
         '      "name": [1, 2]\n'
         "              ^\n"
         "  declared at {p}/Outflowfile:3:5\n",
         files={"c.json": '{\n  "n": 1,\n  "name": [1, 2]\n}\n'}),
    Case("configfile_toml_value_of_the_wrong_type", PLAIN, ("-n", "--configfile", "c.toml"), 2,
         "c.toml:2:5: --configfile c.toml: config 'n' is declared int but the file gives "
         "str ('x')\n"
         '    n = "x"\n'
         "        ^\n"
         "  declared at {p}/Outflowfile:2:5\n",
         files={"c.toml": '# the count\nn = "x"\n'}),
    Case("configfile_nested_5000_deep", PLAIN, ("-n", "--configfile", "c.json"), 2,
         "c.json:1:1: c.json: its values nest too deeply to read (lists or mappings within "
         "one another, hundreds of levels down)\n"
         '    {{"n": ' + "[" * 94 + "...\n"
         "    ^\n",
         files={"c.json": '{"n": ' + "[" * 5000 + "]" * 5000 + "}\n"}),
    Case("configfile_empty_sets_nothing", PLAIN, ("--lint", "--configfile", "c.yaml"), 0, "",
         files={"c.yaml": "# nothing yet\n"}),
    Case("sheet_with_a_bom", SHEET, ("-n", "-q"), 0, "",
         files={"s.csv": "\ufeffsample,fq\nA,a.fq\n"}),
    Case("sheet_quote_left_open", SHEET, ("-n",), 2,
         "{p}/s.csv:3:1: s.csv: line 3: a quoted value is not closed\n"
         '    B,"b.fq\n'
         "    ^\n"
         '  a value in quotes ends with a quote; a quote inside it is written twice ("")\n',
         files={"s.csv": 'sample,fq\nA,a.fq\nB,"b.fq\nC,c.fq\n'}),
    Case("sheet_separated_by_semicolons", SHEET, ("-n",), 2,
         "{p}/s.csv:1:1: s.csv: the header is one column, 'sample;fq': it is separated by "
         "semicolons, not commas\n"
         "    sample;fq\n"
         "    ^\n"
         "  csv() reads commas (or tabs, when the header has no comma), tsv() tabs; separate "
         "the columns with those\n",
         files={"s.csv": "sample;fq\nA;a.fq\n"}),
    Case("sheet_not_utf8", SHEET, ("-n",), 2,
         "{p}/s.csv:3:6: s.csv is not UTF-8 text: byte 0xe9 here cannot be read\n"
         "    B,caf\ufffd.fq\n"
         "         ^\n" + UTF8_HINT,
         files={"s.csv": "sample,fq\nA,a.fq\nB,caf\xe9.fq\n".encode("latin-1")}),
    Case("sheet_is_a_directory", SHEET, ("-n",), 2,
         "{p}/Outflowfile:2:22: config 'samples': s.csv is a directory, not a file\n"
         '        samples: table = csv("s.csv")\n'
         "                         ^\n",
         files={"s.csv/x": ""}),
    Case("sheet_with_one_sample_on_two_rows", SHEET, ("-n",), 2,
         "{p}/Outflowfile:5:13: output 'out' of job each[sample='A'] is out/A.txt, the same "
         "path as output 'out' of job each[sample='A'] (out/A.txt)\n"
         '        output: out = "out/{{sample}}.txt"\n'
         "                ^\n"
         "  the two jobs have one name: a map's source holds that item twice (a sample sheet "
         "with two rows of one sample?); every file must be made by one job only; make the "
         "path differ per job (values such as 'a' and './a' name one path)\n",
         files={"s.csv": "sample,fq\nA,a.fq\nA,b.fq\n"}),
    Case("lint_of_an_unknown_target", PLAIN, ("--lint", "al"), 2,
         "error: unknown target 'al': not a workflow, task or file of the Outflowfile\n"
         "  did you mean 'all'? \n"),
    Case("nul_in_a_value_that_makes_an_output_path",
         'config:\n    n: str = "a\\x00b"\ntask a(n: str):\n    output: o = "{n}.txt"\n'
         '    shell: "true"\nworkflow all:\n    a\n', ("-n",), 2,
         "{p}/Outflowfile:4:13: output 'o' of job a[n='a\\x00b'] is 'a\\x00b.txt', a path "
         "holding a NUL character, which no file can have\n"
         '        output: o = "{{n}}.txt"\n'
         "                ^\n"
         "  a value that makes the path holds a NUL ('\\x00'): take it out of the config value "
         "or sample sheet it comes from\n"),
    Case("nul_in_a_path_value_read_as_input",
         'config:\n    n: path = "a\\x00b"\ntask a(n: path) -> y:\n    run:\n        return 1\n'
         "workflow all:\n    a\n", ("-n",), 1,
         "error: {p}/Outflowfile:3:8: a: input file 'a\\x00b' does not exist and no job makes "
         "it\n"
         "    task a(n: path) -> y:\n"
         "           ^\n"),
    Case("missing_input_file_at_its_pattern",
         'task a():\n    input: i = "data/nope.txt"\n    output: o = "o.txt"\n'
         '    shell: "cp {input.i} {output.o}"\nworkflow all:\n    a\n', ("-n",), 1,
         "error: {p}/Outflowfile:2:12: a: input file data/nope.txt does not exist and no job "
         "makes it\n"
         '        input: i = "data/nope.txt"\n'
         "               ^\n"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_around_the_outflowfile(case: Case, tmp_path: Path) -> None:
    p = tmp_path / "p"
    p.mkdir()
    for name, content in case.files.items():
        path = p / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for name, target in case.links.items():
        (p / name).symlink_to(target)
    if case.outflowfile:
        make_project(p, case.outflowfile)
    proc = outflow(p, *case.args, check=case.status)
    assert proc.stderr == case.stderr.format(p=p)
    assert "Traceback" not in proc.stdout


FAILING = """
task flood():
    shell: "seq 1 100 >&2; exit 4"

task zero() -> x: int:
    run:
        return 0

task after(x: int):
    run:
        pass

task imported() -> y:
    call: helpers:fn

workflow all:
    (flood, zero | if (10 / x > 2) { after }, imported)
"""


def test_failures_at_run_time_say_what_and_where_and_no_more(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", FAILING, {
        "helpers.py": "raise RuntimeError('import boom')\ndef fn():\n    pass\n",
    })
    err = outflow(p, "-k", check=1).stderr
    (flood_log,) = (p / ".outflow" / "logs" / "flood").iterdir()
    flood_log = flood_log.relative_to(p)
    # A failed job's output is cut to its last 40 lines: the log has the rest.
    tail = "".join(f"    {n}\n" for n in range(61, 101))
    assert (
        "error: job flood failed (exit status 4)\n"
        "  command: seq 1 100 >&2; exit 4\n"
        f"  log: {flood_log}\n"
        "  output:\n"
        f"    ... (60 lines before these are in {flood_log})\n"
        f"{tail}"
        "  command exited with status 4: seq 1 100 >&2; exit 4\n"
    ) in err
    # A condition that cannot be computed: at its place, and counted as a condition.
    assert (
        f"error: {p}/Outflowfile:16:24: if (10 / x > 2): cannot compute int / int: "
        "division by zero\n"
        "        (flood, zero | if (10 / x > 2) { after }, imported)\n"
        "                           ^\n"
    ) in err
    # The user's module failing at import: its own frames only, not importlib's.
    assert (
        "  Traceback (most recent call last):\n"
        f'    File "{p}/helpers.py", line 1, in <module>\n'
        "      raise RuntimeError('import boom')\n"
        "  RuntimeError: import boom\n"
    ) in err
    assert re.search(r"\noutflow: 1 ran, 0 up to date, 2 failed, 1 condition failed in "
                     r"[0-9.]+s\n\Z", err), err
