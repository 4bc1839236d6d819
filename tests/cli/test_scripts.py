"""Issue 19: ``script:`` runs a Python, R or shell script with its inputs,
outputs and parameters in ``OUTFLOW_*`` variables and a JSON file; its
content is in the job's key. Driven through the installed ``outflow``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from outflowtest import make_project, outflow

PIPELINE = '''
config:
    samples: list = ["a", "b"]

task count(sample: str, min_len: int = 3, tags: list = ["x", "y"]):
    input: text = "data/{sample}.txt"
    output: counts = "counts/{sample}.tsv"
    script: "scripts/count-words.py"

task archive(counts: list[path]):
    output: listing = "listing.txt"
    script: "scripts/list-them.sh"

workflow all:
    map(samples -> sample) { count } | archive
'''

COUNT = '''\
import json
import os

job = json.load(open(os.environ["OUTFLOW_JOB"]))
assert job["task"] == "count" and job["cpus"] == int(os.environ["OUTFLOW_CPUS"])
min_len = job["params"]["min_len"]
with open(os.environ["OUTFLOW_INPUT_text"]) as f:
    words = [w for w in f.read().split() if len(w) >= min_len]
with open(os.environ["OUTFLOW_OUTPUT_counts"], "w") as out:
    out.write(f"{os.environ['OUTFLOW_PARAM_sample']}\\t{len(words)}\\t"
              f"{os.environ['OUTFLOW_PARAM_min_len']}\\t{os.environ['OUTFLOW_PARAM_tags']}\\t"
              f"{job['params']['tags']}\\t{job['input']['text']}\\n")
'''

LIST_THEM = '''\
for f in $OUTFLOW_PARAM_counts; do
    cat "$f"
done > "$OUTFLOW_OUTPUT_listing"
echo "job file: $OUTFLOW_JOB" > job-file-was.txt
'''


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


def pipeline(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", PIPELINE, {
        "data/a.txt": "to be or not to be\n",
        "data/b.txt": "that is the question\n",
        "scripts/count-words.py": COUNT,
        "scripts/list-them.sh": LIST_THEM,
    })


def test_python_and_shell_scripts_read_inputs_and_write_outputs(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    outflow(p, "--lint")
    done = outflow(p)
    assert ran(done) == ["archive", "count sample=a", "count sample=b"]
    assert (p / "listing.txt").read_text() == (
        "a\t1\t3\tx y\t['x', 'y']\tdata/a.txt\n"
        "b\t3\t3\tx y\t['x', 'y']\tdata/b.txt\n"
    )
    # The job file is gone once the script has ended.
    job_file = (p / "job-file-was.txt").read_text().split(": ", 1)[1].strip()
    assert job_file.startswith(str(p / ".outflow" / "jobs"))
    assert not Path(job_file).exists()


def test_editing_a_script_reruns_its_jobs(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    outflow(p)
    shell = p / "scripts" / "list-them.sh"
    shell.write_text("# lists the counts\n" + LIST_THEM)  # any edit of a shell script counts
    assert ran(outflow(p)) == ["archive"]
    python = p / "scripts" / "count-words.py"
    python.write_text("# counts words\n" + COUNT)  # a comment in Python does not
    assert ran(outflow(p)) == []
    python.write_text(COUNT.replace(">= min_len", "> min_len"))
    done = outflow(p)
    assert ran(done) == ["archive", "count sample=a", "count sample=b"]
    assert (p / "listing.txt").read_text().startswith("a\t0\t3\t")


def test_a_failing_script_fails_its_job(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task broken():
            output: o = "o.txt"
            script: "steps/fail.sh"

        workflow all:
            broken
        ''', {"steps/fail.sh": "echo about to fail\nexit 7\n"})
    done = outflow(p, check=1)
    assert "error: job broken failed (exit status 7)" in done.stderr
    assert not (p / "o.txt").exists()


def test_a_script_with_a_parameter_from_the_command_line(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    outflow(p)
    done = outflow(p, "-C", "count.min_len=2")
    assert ran(done) == ["archive", "count sample=a", "count sample=b"]
    assert (p / "listing.txt").read_text().startswith("a\t6\t2\t")


def test_a_missing_script_is_a_located_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task plot():
            output: png = "q.png"
            script: "scripts/plot-quals.py"

        workflow all:
            plot
        ''')
    for args in (["--lint"], []):
        done = outflow(p, *args, check=2)
        assert done.stderr == (
            f"{p / 'Outflowfile'}:3:13: script 'scripts/plot-quals.py' of task 'plot' "
            "does not exist\n"
            '        script: "scripts/plot-quals.py"\n'
            "                ^\n"
            "  a script's path is relative to the Outflowfile's directory\n"
        )


def test_a_script_path_is_relative_to_the_outflowfile(tmp_path: Path) -> None:
    """With -d and -f apart, the script is beside the Outflowfile; it runs
    in the project directory."""
    files = make_project(tmp_path / "files", '''
        task hello():
            output: o = "hello.txt"
            script: "hello.sh"

        workflow all:
            hello
        ''', {"hello.sh": 'echo hello from "$PWD" > "$OUTFLOW_OUTPUT_o"\n'})
    project = tmp_path / "project"
    project.mkdir()
    outflow(tmp_path, "-d", str(project), "-f", str(files / "Outflowfile"))
    assert (project / "hello.txt").read_text() == f"hello from {project}\n"


def test_an_unknown_suffix_and_value_outputs_are_located_errors(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task a() -> (n: int):
            script: "steps/a.pl"

        workflow all:
            a
        ''', {"steps/a.pl": "print 1;\n"})
    done = outflow(p, "--lint", check=2)
    outflowfile = p / "Outflowfile"
    assert done.stderr == (
        f"{outflowfile}:1:14: script task 'a' declares value output 'n': script tasks "
        "produce files; declare it under output:\n"
        "    task a() -> (n: int):\n"
        "                 ^\n"
        '  for example: output: n = "results/n.txt"\n'
        f"{outflowfile}:2:13: script 'steps/a.pl' of task 'a': outflow runs scripts ending "
        "in .py, .R, .r, .sh\n"
        '        script: "steps/a.pl"\n'
        "                ^\n"
        "  a .py script runs with outflow's Python, .R with Rscript, .sh with bash; "
        'run any other program from shell: "perl {input.script} ..."\n'
    )


R_TASK = '''
task plot(n: int = 4):
    output: png = "plot.txt"
    script: "scripts/plot-quals.R"

workflow all:
    plot
'''


@pytest.mark.skipif(shutil.which("Rscript") is not None, reason="Rscript is installed here")
def test_an_r_script_without_rscript_is_a_located_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", R_TASK, {"scripts/plot-quals.R": "cat('hi')\n"})
    done = outflow(p, "--lint", check=2)
    assert done.stderr == (
        f"{p / 'Outflowfile'}:3:13: script 'scripts/plot-quals.R' of task 'plot' needs "
        "Rscript, which is not installed (not found on PATH)\n"
        '        script: "scripts/plot-quals.R"\n'
        "                ^\n"
        "  install it, or write the step as a .py or .sh script\n"
    )


def test_an_r_script_is_run_by_rscript_with_its_path(tmp_path: Path) -> None:
    """What outflow hands to ``Rscript``: the script's path, and the same
    variables. Where R is not installed, a stand-in ``Rscript`` on PATH (a
    bash script) records how it was called; with R, the real one runs."""
    script = (
        'n <- as.integer(Sys.getenv("OUTFLOW_PARAM_n"))\n'
        'writeLines(paste("R got", n * 2), Sys.getenv("OUTFLOW_OUTPUT_png"))\n'
    )
    p = make_project(tmp_path / "p", R_TASK, {"scripts/plot-quals.R": script})
    env = None
    if shutil.which("Rscript") is None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "Rscript"
        fake.write_text(
            '#!/bin/bash\n'
            'echo "R got $((OUTFLOW_PARAM_n * 2))" > "$OUTFLOW_OUTPUT_png"\n'
            'echo "args: $*" >> "$OUTFLOW_OUTPUT_png"\n'
        )
        fake.chmod(0o755)
        env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    outflow(p, env=env)
    made = (p / "plot.txt").read_text().splitlines()
    assert made[0] == "R got 8"
    if env is not None:
        assert made[1] == f"args: {p / 'scripts' / 'plot-quals.R'}"


def test_the_script_runs_with_outflows_python(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task which():
            output: o = "python.json"
            script: "which.py"

        workflow all:
            which
        ''', {"which.py": (
            "import json, os, sys\n"
            "json.dump({'exe': sys.executable}, open(os.environ['OUTFLOW_OUTPUT_o'], 'w'))\n"
        )})
    outflow(p)
    exe = json.loads((p / "python.json").read_text())["exe"]
    assert exe == outflow_script_python()


def outflow_script_python() -> str:
    """The interpreter of the installed ``outflow`` console script."""
    from outflowtest import outflow_command

    first = outflow_command()[0]
    if first.endswith("outflow"):
        shebang = Path(first).read_text().splitlines()[0]
        return shebang[2:].strip()
    return first


@pytest.mark.usefixtures("slurm")
def test_a_script_runs_on_a_slurm_node(tmp_path: Path) -> None:
    p = pipeline(tmp_path)
    outflow(p, "--cluster", "slurm", "--cluster-submit", "sbatch", timeout=600)
    assert (p / "listing.txt").read_text() == (
        "a\t1\t3\tx y\t['x', 'y']\tdata/a.txt\n"
        "b\t3\t3\tx y\t['x', 'y']\tdata/b.txt\n"
    )
    assert list((p / ".outflow" / "jobs").iterdir()) == []
