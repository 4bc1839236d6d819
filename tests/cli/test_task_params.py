"""Issue 19: ``-C TASK.INPUT=VALUE`` sets a task input's default for a run
(Outflow's ``--multiplier 15``), read as the input's type, in the jobs' keys;
and other tools' directives get a pointer to outflow's way. Driven through
the installed ``outflow``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from outflowtest import make_project, outflow

TUTORIAL = '''
config:
    n: int = 3

task gen_data(n: int) -> (raw_data_array: list):
    run:
        return list(range(n))

task compute(raw_data: int, multiplier: int = 2) -> (computation_result: int):
    run:
        return raw_data * multiplier

task scale(raw_data: int, factor = 2.5, label = "x") -> (scaled: float):
    run:
        return raw_data * factor

task print_result(computation_result: list, scaled: list):
    output: o = "result.txt"
    run:
        with open(output.o, "w") as f:
            f.write(f"{computation_result} {scaled}\\n")

workflow all:
    gen_data | map(raw_data_array -> raw_data) { (compute, scale) } | print_result
'''


def ran(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", done.stdout, re.M))


@pytest.fixture
def tutorial(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", TUTORIAL)


def test_a_task_input_default_from_the_command_line(tutorial: Path) -> None:
    p = tutorial
    outflow(p)
    assert (p / "result.txt").read_text() == "[0, 2, 4] [0.0, 2.5, 5.0]\n"
    done = outflow(p, "-C", "compute.multiplier=15")
    assert ran(done) == ["compute raw_data=0", "compute raw_data=1", "compute raw_data=2",
                         "print_result"]
    assert (p / "result.txt").read_text() == "[0, 15, 30] [0.0, 2.5, 5.0]\n"
    assert ran(outflow(p, "-C", "compute.multiplier=15")) == []
    assert "Nothing to do" in outflow(p, "-n", "-C", "compute.multiplier=15").stdout
    # Back to the file's default: its results are still in the cache.
    assert ran(outflow(p)) == ["print_result"]
    assert (p / "result.txt").read_text() == "[0, 2, 4] [0.0, 2.5, 5.0]\n"


def test_a_name_one_task_has_needs_no_task(tutorial: Path) -> None:
    p = tutorial
    outflow(p, "-C", "multiplier=15", "-C", "factor=1")
    assert (p / "result.txt").read_text() == "[0, 15, 30] [0.0, 1.0, 2.0]\n"


def test_a_config_entry_of_the_name_wins(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        config:
            n: int = 1

        task show(n: int = 5):
            output: o = "n.txt"
            run:
                open(output.o, "w").write(str(n))

        workflow all:
            show
        ''')
    outflow(p, "-C", "n=7")
    assert (p / "n.txt").read_text() == "7"
    outflow(p, "-C", "show.n=9")  # the input's default: the config entry still binds it
    assert (p / "n.txt").read_text() == "1"


def test_an_untyped_input_keeps_its_defaults_type(tutorial: Path) -> None:
    p = tutorial
    outflow(p, "-C", "scale.label=1.10", "-C", "scale.factor=3")
    assert (p / "result.txt").read_text() == "[0, 2, 4] [0.0, 3.0, 6.0]\n"
    done = outflow(p, "-C", "scale.factor=many", check=2)
    assert done.stderr == (
        "error: --config scale.factor=many: expected float\n"
        "  input 'factor' of task 'scale' has no declared type, so it keeps the type of its "
        "default, float (2.5); declare it 'factor: any' to take any value\n"
    )


@pytest.mark.parametrize(("setting", "message"), [
    ("comput.multiplier=15",
     "error: --config comput.multiplier=15: unknown task 'comput'\n"
     "  did you mean 'compute'? tasks: gen_data, compute, scale, print_result\n"),
    ("compute.multiplie=15",
     "error: --config compute.multiplie=15: task 'compute' has no input 'multiplie'\n"
     "  did you mean 'multiplier'? its inputs: raw_data, multiplier\n"),
    ("compute.multiplier=lots",
     "error: --config compute.multiplier=lots: expected int\n"),
    ("multipler=15",
     "error: --config multipler=15: unknown config key 'multipler'\n"
     "  did you mean 'multiplier', an input of task 'compute'? "
     "(-C compute.multiplier=15)\n"),
    ("raw_data=1",
     "error: --config raw_data=1: 2 tasks have an input 'raw_data' and no config entry "
     "is named so\n"
     "  name the task: -C compute.raw_data=1 or -C scale.raw_data=1\n"),
])
def test_a_bad_setting_is_an_error(tutorial: Path, setting: str, message: str) -> None:
    done = outflow(tutorial, "-C", setting, check=2)
    assert done.stderr == message
    assert not (tutorial / "result.txt").exists()


POINTED = '''
task align(sample: str = "a"):
    output: bam = "{sample}.bam"
    threads: 8
    params: extra = "-k 3"
    benchmark: "benchmarks/{sample}.txt"
    conda: "envs/align.yaml"
    shell: "touch {output.bam}"

workflow all:
    align
'''


def test_snakemake_directives_point_to_outflows_way(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", POINTED)
    done = outflow(p, "--lint", check=2)
    environment = (
        "  outflow does not build conda environments: run outflow inside an activated one "
        '(conda activate NAME, then outflow ...), or give the task a container: "image" '
        'or a venv: "requirements.txt"\n'
    )
    assert done.stderr == "".join([
        f"{p / 'Outflowfile'}:3:5: unknown directive 'threads:'\n",
        "        threads: 8\n",
        "        ^\n",
        "  use cpus: (the cores a job uses, e.g. cpus: 4; {cpus} in a shell: command)\n",
        f"{p / 'Outflowfile'}:4:5: unknown directive 'params:'\n",
        '        params: extra = "-k 3"\n',
        "        ^\n",
        "  give the task inputs with defaults instead: task NAME(x, level: int = 3); set one "
        "for a run with -C NAME.level=5, or compute it in an upstream task\n",
        f"{p / 'Outflowfile'}:5:5: unknown directive 'benchmark:'\n",
        '        benchmark: "benchmarks/{sample}.txt"\n',
        "        ^\n",
        "  outflow records every job's time, CPU time and peak memory: see them with "
        "outflow --summary, or outflow --report FILE.html\n",
        f"{p / 'Outflowfile'}:6:5: unknown directive 'conda:'\n",
        '        conda: "envs/align.yaml"\n',
        "        ^\n",
        environment,
    ])


def test_an_unknown_directive_without_a_pointer_still_suggests(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", '''
        task a():
            retires: 2
            shell: "true"

        workflow all:
            a
        ''')
    done = outflow(p, "--lint", check=2)
    assert "unknown directive 'retires:'; did you mean 'retries'?" in done.stderr
    assert "a task's directives are: input, output, log, cpus" in done.stderr
    assert "call, script\n" in done.stderr
