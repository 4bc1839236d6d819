"""Issue 18, items 2 and 3: sample sheets and config files (csv/tsv/json/
yaml/toml, maps over a table's columns, glob() tables, lookups in patterns,
--configfile) and computed defaults, driven through the installed
``outflow`` in temporary projects."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from outflowtest import make_project, outflow

SHEET_MAP = """
config:
    samples: table = tsv("samples.tsv")
    platform: str = "ILLUMINA"
    unrelated: int = 1

task bwa_map(sample: str, fq: path, rg: str = f"@RG\\tID:{sample}\\tPL:{platform}"):
    input: reads = "{fq}"
    output: bam = "mapped/{sample}.bam"
    shell: "printf '%s\\n' {rg} > {output.bam}; cat {input.reads} >> {output.bam}"

workflow all:
    map(samples -> (sample, fq)) { bwa_map }
"""

SHEET = "sample\tfq\nA\tdata/A.fq\nB\tdata/B.fq\n"


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


def sheet_project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", SHEET_MAP, {
        "samples.tsv": SHEET, "data/A.fq": "a\n", "data/B.fq": "b\n", "data/B2.fq": "b2\n",
    })


def test_a_map_over_a_sheet_binds_the_columns_it_names(tmp_path: Path) -> None:
    p = sheet_project(tmp_path)
    done = outflow(p)
    assert ran(done) == ["bwa_map sample=A fq=data/A.fq", "bwa_map sample=B fq=data/B.fq"]
    assert (p / "mapped/A.bam").read_text() == "@RG\tID:A\tPL:ILLUMINA\na\n"
    assert (p / "mapped/B.bam").read_text() == "@RG\tID:B\tPL:ILLUMINA\nb\n"
    assert ran(outflow(p)) == []


def test_editing_one_row_reruns_only_that_rows_jobs(tmp_path: Path) -> None:
    p = sheet_project(tmp_path)
    outflow(p)
    a_before = (p / "mapped/A.bam").stat().st_mtime_ns
    (p / "samples.tsv").write_text("sample\tfq\nA\tdata/A.fq\nB\tdata/B2.fq\n")
    assert ran(outflow(p)) == ["bwa_map sample=B fq=data/B2.fq"]
    assert (p / "mapped/B.bam").read_text() == "@RG\tID:B\tPL:ILLUMINA\nb2\n"
    assert (p / "mapped/A.bam").stat().st_mtime_ns == a_before
    # A new row: only its job.
    (p / "samples.tsv").write_text("sample\tfq\nA\tdata/A.fq\nB\tdata/B2.fq\nC\tdata/A.fq\n")
    assert ran(outflow(p)) == ["bwa_map sample=C fq=data/A.fq"]


def test_a_computed_default_is_in_the_key_by_its_value(tmp_path: Path) -> None:
    p = sheet_project(tmp_path)
    outflow(p)
    # A config value the f-string does not use: nothing reruns.
    assert ran(outflow(p, "-C", "unrelated=2")) == []
    # One it uses: every job whose value changes reruns, and says why.
    plan = outflow(p, "-n", "-C", "platform=ONT").stdout
    assert "rg @RG\tID:A\tPL:ILLUMINA → @RG\tID:A\tPL:ONT" in plan
    assert ran(outflow(p, "-C", "platform=ONT")) == [
        "bwa_map sample=A fq=data/A.fq", "bwa_map sample=B fq=data/B.fq"]
    assert (p / "mapped/A.bam").read_text() == "@RG\tID:A\tPL:ONT\na\n"


def test_csv_and_the_all_columns_shorthand(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """
        config:
            units: table = csv("units.csv")

        task show(sample: str, unit: str, note: str):
            output: o = "out/{sample}-{unit}.txt"
            shell: "echo {sample} {unit} {note} > {output.o}"

        workflow all:
            map(units -> *) { show }
        """, {"units.csv": "sample,unit,note\nA,1,__import__('os')\nA,2,x y\n"})
    assert ran(outflow(p)) == ["show sample=A unit=1 note=__import__('os')",
                               "show sample=A unit=2 note=x y"]
    # A cell is data: text that looks like code stays text.
    assert (p / "out/A-1.txt").read_text() == "A 1 __import__('os')\n"
    assert (p / "out/A-2.txt").read_text() == "A 2 x y\n"


def test_glob_with_several_wildcards_gives_a_table(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """
        config:
            pairs = glob("reads/{sample}_{mate}.fq")

        task count(sample: str, mate: str):
            input: fq = "reads/{sample}_{mate}.fq"
            output: n = "counts/{sample}_{mate}.txt"
            shell: "wc -l < {input.fq} > {output.n}"

        workflow all:
            map(pairs -> (sample, mate)) { count }
        """, {"reads/A_1.fq": "x\n", "reads/A_2.fq": "x\ny\n", "reads/B_1.fq": ""})
    assert ran(outflow(p)) == ["count sample=A mate=1", "count sample=A mate=2",
                               "count sample=B mate=1"]
    assert (p / "counts/A_2.txt").read_text().strip() == "2"


NESTED = """
config:
    settings = {SETTINGS}
    samples: list = ["A", "B"]

task call(sample: str, depth: int = settings["calling"]["depth"] * 2,
          label: str = upper(sample) + "-" + settings["name"]):
    output: o = "calls/{{sample}}.txt"
    shell: "echo {{label}} {{depth}} > {{output.o}}"

workflow all:
    map(samples -> sample) {{ call }}
"""


def test_json_yaml_and_toml_config_files(tmp_path: Path) -> None:
    files = [
        ('json("settings.json")', "settings.json",
         json.dumps({"name": "j", "calling": {"depth": 5}}), "A-j 10\n"),
        ('yaml("settings.yaml")', "settings.yaml", "name: y\ncalling:\n  depth: 6\n", "A-y 12\n"),
        ('toml("settings.toml")', "settings.toml", 'name = "t"\n[calling]\ndepth = 7\n',
         "A-t 14\n"),
    ]
    for reader, name, text, expected in files:
        p = make_project(tmp_path / name, NESTED.format(SETTINGS=reader), {name: text})
        outflow(p)
        assert (p / "calls/A.txt").read_text() == expected, reader
        # Re-read when it changes: the jobs whose computed values changed rerun.
        (p / name).write_text(text.replace("5", "1").replace("6", "1").replace("7", "1"))
        assert ran(outflow(p)) == ["call sample=A", "call sample=B"], reader
        assert (p / "calls/A.txt").read_text() == expected.split()[0] + " 2\n", reader


def test_configfile_overrides_and_merges_nested_dicts(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", NESTED.format(SETTINGS='yaml("settings.yaml")'), {
        "settings.yaml": "name: y\ncalling:\n  depth: 6\n  caller: bcftools\n",
        "over.yaml": "samples: [C]\nsettings:\n  calling:\n    depth: 1\n",
        "over.json": json.dumps({"samples": ["D"]}),
        "over.toml": 'samples = ["E"]\n',
    })
    outflow(p, "--configfile", "over.yaml")
    # samples replaced; settings merged: its name kept, its depth replaced.
    assert (p / "calls/C.txt").read_text() == "C-y 2\n"
    assert not (p / "calls/A.txt").exists()
    outflow(p, "--configfile", "over.json")
    assert (p / "calls/D.txt").read_text() == "D-y 12\n"
    outflow(p, "--configfile", "over.toml")
    assert (p / "calls/E.txt").read_text() == "E-y 12\n"
    # --config wins over --configfile.
    outflow(p, "--configfile", "over.toml", "-C", "samples=F")
    assert (p / "calls/F.txt").read_text() == "F-y 12\n"


def test_configfile_errors(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", NESTED.format(SETTINGS='{"name": "n", "calling": {}}'), {
        "bad.yaml": "sampels: [A]\n", "typed.yaml": "samples: 3\n",
    })
    done = outflow(p, "--configfile", "bad.yaml", check=2)
    assert done.stderr == ("bad.yaml:1:1: --configfile bad.yaml: unknown config key 'sampels'\n"
                           "    sampels: [A]\n"
                           "    ^\n"
                           "  did you mean 'samples'? known keys: settings, samples\n")
    done = outflow(p, "--configfile", "typed.yaml", check=2)
    assert done.stderr.startswith(
        "typed.yaml:1:10: --configfile typed.yaml: config 'samples' is declared list but the "
        "file gives int (3)\n"
        "    samples: 3\n"
        "             ^\n")
    done = outflow(p, "--configfile", "missing.yaml", check=2)
    assert done.stderr.startswith("error: --configfile missing.yaml: cannot read it: ")


def test_a_lookup_in_a_pattern_uses_the_inputs_value(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """
        config:
            fastqs: dict = {"A": "data/a.fq", "B": "data/b.fq"}
            samples: list = ["A", "B"]

        task copy(sample: str, fastqs: dict):
            input: fq = "{fastqs[sample]}"
            output: o = "out/{sample}.fq"
            shell: "cp {input.fq} {output.o}"

        workflow all:
            map(samples -> sample) { copy }
        """, {"data/a.fq": "a\n", "data/b.fq": "b\n"})
    outflow(p)
    assert (p / "out/B.fq").read_text() == "b\n"
    done = outflow(p, "-n", "-C", "samples=A,C", check=2)
    assert done.stderr == (
        f"{p}/Outflowfile:6:12: copy sample=C: pattern '{{fastqs[sample]}}': fastqs has no "
        "key 'C' (its keys: 'A', 'B')\n"
        '        input: fq = "{fastqs[sample]}"\n'
        "               ^\n")


BROKEN_SHEET = """
config:
    samples: table = csv("{sheet}")

task map_reads(sample: str, fq: str):
    output: o = "out/{{sample}}"
    shell: "echo {{fq}} > {{output.o}}"

workflow all:
    map(samples -> (sample, fq)) {{ map_reads }}
"""


def test_sheet_errors_are_located(tmp_path: Path) -> None:
    p = make_project(tmp_path / "ragged", BROKEN_SHEET.format(sheet="s.csv"),
                     {"s.csv": "sample,fq\nA,a.fq\nB,b.fq,extra\n"})
    done = outflow(p, "-n", check=2)
    assert done.stderr == (
        f"{p}/s.csv:3:1: s.csv: line 3 has 3 fields but the header has 2 (sample, fq)\n"
        "    B,b.fq,extra\n"
        "    ^\n"
        "  give every row one value per column (an empty value is written as nothing between "
        "two separators)\n")
    p = make_project(tmp_path / "missing", BROKEN_SHEET.format(sheet="nope.csv"))
    done = outflow(p, "-n", check=2)
    assert done.stderr == (
        f"{p}/Outflowfile:2:22: config 'samples': no such file: nope.csv\n"
        '        samples: table = csv("nope.csv")\n'
        "                         ^\n"
        f"  csv() reads a path relative to the file it is written in ({p})\n")
    p = make_project(tmp_path / "column", BROKEN_SHEET.format(sheet="s.csv"),
                     {"s.csv": "sample,fastq\nA,a.fq\n"})
    done = outflow(p, "-n", check=2)
    assert done.stderr == (
        f"{p}/Outflowfile:9:5: map(samples -> (sample, fq)): table 'samples' has no column "
        "'fq' (its columns: sample, fastq)\n"
        "        map(samples -> (sample, fq)) { map_reads }\n"
        "        ^\n")


def test_a_column_of_the_wrong_type_is_a_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", BROKEN_SHEET.format(sheet="s.csv").replace(
        "fq: str", "fq: int"), {"s.csv": "sample,fq\nA,1\n"})
    done = outflow(p, "--lint", check=2)
    assert done.stderr == (
        f"{p}/Outflowfile:9:36: task 'map_reads' input 'fq' expects int but receives str "
        "from column 'fq' of 'samples'\n"
        "        map(samples -> (sample, fq)) { map_reads }\n"
        "                                       ^\n"
        "  a sample sheet's values are text: declare 'fq' as str and compute what needs a "
        "int from it, for example fq_int: int = int(fq)\n")


def lint_error(tmp_path: Path, default: str) -> str:
    p = make_project(tmp_path / "p", f"""
        config:
            name: str = "x"

        task t(sample: str, v: str = {default}):
            output: o = "out/{{sample}}"
            shell: "echo {{v}} > {{output.o}}"

        workflow all: t
        """)
    done = outflow(p, "--lint", check=2)
    return done.stderr.replace(f"{p}/", "")


def test_the_evaluator_refuses_what_is_not_data(tmp_path: Path) -> None:
    assert lint_error(tmp_path / "a", "sample.upper()") == (
        "Outflowfile:4:30: attribute access ('.upper') is not allowed in an expression\n"
        "    task t(sample: str, v: str = sample.upper()):\n"
        "                                 ^\n"
        "  use a function: abs, basename, bool, dirname, float, int, join, len, lower, max, "
        "min, replace, round, sorted, stem, str, suffix, sum, upper\n")
    assert lint_error(tmp_path / "b", "open(sample)").startswith(
        "Outflowfile:4:30: unknown function 'open'\n")
    assert lint_error(tmp_path / "c", "__import__('os')").startswith(
        "Outflowfile:4:30: the name '__import__' is not allowed in an expression\n")
    assert lint_error(tmp_path / "d", "sample + 1").startswith(
        "Outflowfile:4:30: the default of input 'v' of task 't': cannot compute str + int\n")
    assert lint_error(tmp_path / "e", "nmae + sample").startswith(
        "Outflowfile:4:30: the default of input 'v' of task 't': unknown name 'nmae' in an "
        "expression\n")
    assert lint_error(tmp_path / "f", "len(sample)").startswith(
        "Outflowfile:4:30: the default of input 'v' of task 't' gives int, but the input is "
        "declared str\n")


def test_a_map_over_columns_of_a_list_of_text_is_a_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """
        config:
            samples: list[str] = ["A", "B"]

        task use(sample: str):
            output: o = "out/{sample}.txt"
            shell: "echo {sample} > {output.o}"

        workflow all:
            map(samples -> (sample)) { use }
        """)
    done = outflow(p, "--lint", check=2)
    assert done.stderr.startswith(
        f"{p}/Outflowfile:9:5: map(samples -> (sample)): the items of 'samples' are str, "
        "not table rows\n")
