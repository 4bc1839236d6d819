"""The environment directives (``container:``, ``venv:``, ``envmodules:``)
as the checker reads them, on a task and as map options, through the
installed ``outflow`` (``--lint`` and ``-n``: nothing runs)."""

from __future__ import annotations

from pathlib import Path

import pytest
from outflowtest import make_project, outflow


def lint_error(tmp_path: Path, text: str) -> str:
    p = make_project(tmp_path / "p", text, {"envs/a.txt": "termcolor==2.3.0\n"})
    return outflow(p, "--lint", check=2).stderr.replace(str(p / "Outflowfile"), "Outflowfile")


def test_the_three_on_a_task_pass_lint_and_show_in_the_plan(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """\
        task t:
            container: "localhost/img:1"
            shell: "true"

        task u:
            venv: "envs/a.txt"
            envmodules: "a/1", "b/2"
            shell: "true"

        task v:
            envmodules:
                "c/3"
                "d/4"
            shell: "true"

        workflow all:
            (t, u, v)
        """, {"envs/a.txt": "termcolor==2.3.0\n"})
    assert ": ok (3 tasks" in outflow(p, "--lint").stdout
    planned = outflow(p, "-n", "--container-runtime", str(tmp_path / "none")).stdout
    assert "t  no cached result  [container localhost/img:1]" in planned
    assert "u  no cached result  [venv envs/a.txt; modules a/1, b/2]" in planned
    assert "v  no cached result  [modules c/3, d/4]" in planned


def test_map_options_give_the_jobs_inside_an_environment(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", """\
        task items -> (xs: list):
            run:
                return [1, 2]

        task plain(x: int):
            shell: "echo {x}"

        task own(x: int):
            container: "localhost/own:1"
            shell: "echo {x}"

        task loaded(x: int):
            shell: "echo {x}"

        workflow all:
            items | map(xs -> x, container="localhost/map:1") { (plain, own) }
                  | map(xs -> x, envmodules=["m/1", "n/2"]) { loaded }
        """)
    outflow(p, "items")
    planned = outflow(p, "-n", "--container-runtime", str(tmp_path / "none")).stdout
    assert planned.count("[container localhost/map:1]") == 2  # plain x=1, x=2
    assert planned.count("[container localhost/own:1]") == 2  # its own wins
    assert planned.count("[modules m/1, n/2]") == 2
    none = outflow(p, "-n", "--no-envs").stdout
    assert "plain x=1" in none and "[container" not in none


@pytest.mark.parametrize(("directive", "message", "column"), [
    ("container: busybox", "container: expected a string in quotes, got busybox", 16),
    ("container: 3", "container: expected a string in quotes, got 3", 16),
    ('container: "two words"', "container: an image name has no spaces, got 'two words'", 16),
    ('venv: "envs/a.yaml"',
     "venv: expected a requirements file (.txt, .in) or a pyproject.toml, got 'envs/a.yaml'", 11),
    ('envmodules: ""', "envmodules: must not be empty", 17),
    ("envmodules: 5", "envmodules: expected a string in quotes, got 5", 17),
])
def test_bad_values_are_located_errors(
    tmp_path: Path, directive: str, message: str, column: int
) -> None:
    err = lint_error(tmp_path, f'task t:\n    {directive}\n    shell: "true"\n')
    # The line is shown indented by 4, the caret under the value.
    caret = " " * (4 + column - 1) + "^"
    assert err.startswith(f"Outflowfile:2:{column}: {message}\n        {directive}\n{caret}\n")


def test_a_bad_map_option_is_a_located_error(tmp_path: Path) -> None:
    err = lint_error(tmp_path, """\
        task t(x: int):
            shell: "echo {x}"

        config:
            xs: list = [1]

        workflow all:
            map(xs -> x, container=3) { t }
        """)
    assert err.startswith("Outflowfile:8:28: container: expected a string in quotes, got 3\n")


def test_twice_is_an_error(tmp_path: Path) -> None:
    err = lint_error(tmp_path, 'task t:\n    venv: "envs/a.txt"\n    venv: "envs/a.txt"\n'
                               '    shell: "true"\n')
    assert "Outflowfile:3:5: duplicate 'venv:' in task 't' (first given on line 2)" in err


def test_conda_says_to_run_outflow_in_an_activated_environment(tmp_path: Path) -> None:
    err = lint_error(tmp_path, 'task t:\n    conda: "envs/x.yaml"\n    shell: "true"\n')
    assert err == (
        "Outflowfile:2:5: unknown directive 'conda:'\n"
        '        conda: "envs/x.yaml"\n'
        "        ^\n"
        "  outflow does not build conda environments: run outflow inside an activated one "
        '(conda activate NAME, then outflow ...), or give the task a container: "image" '
        'or a venv: "requirements.txt"\n'
    )


def test_singularity_points_to_container(tmp_path: Path) -> None:
    err = lint_error(tmp_path, 'task t:\n    singularity: "x.sif"\n    shell: "true"\n')
    assert "unknown directive 'singularity:'" in err
    assert 'use container: "image" (run with --container-runtime apptainer or singularity)' in err
