"""``venv:``: a Python environment per requirements file content, built
from PyPI with uv or pip, through the installed ``outflow``."""

from __future__ import annotations

from pathlib import Path

from envtools import PINNED, VENV_VERSION_TASKS, three_jobs_in
from outflowtest import make_project, outflow

PROJECT = VENV_VERSION_TASKS + """
task shell_version(x: int):
    output: s = "out/shell-{x}.txt"
    venv: "envs/tools.txt"
    shell: "python -c 'import termcolor, importlib.metadata as m; print(m.version(\\"termcolor\\"))' > {output.s}"

task items -> (xs: list):
    run:
        return [1, 2, 3]

workflow all:
    (version | keep, items | map(xs -> x) { shell_version })
"""  # noqa: E501


def test_bodies_and_commands_run_in_the_environment_built_once(tmp_path: Path) -> None:
    p = make_project(tmp_path, PROJECT, {"envs/tools.txt": PINNED})
    done = outflow(p, "-j", "4", timeout=600)
    assert (p / "out/v.txt").read_text() == "2.3.0"
    for x in (1, 2, 3):
        assert (p / f"out/shell-{x}.txt").read_text() == "2.3.0\n"
    envs = sorted(d for d in (p / ".outflow/envs").iterdir() if d.is_dir())
    assert len(envs) == 1  # one environment for both tasks and all four jobs
    assert f"python {envs[0]}" in done.stdout + done.stderr
    log = Path(f"{envs[0]}.log").read_text()
    assert log.count("-m venv") + log.count(" venv --python") == 1  # built once
    ready = (envs[0] / "ready").stat().st_mtime_ns
    again = outflow(p, "-F", timeout=600)  # every job again: the environment is reused
    assert (envs[0] / "ready").stat().st_mtime_ns == ready
    assert Path(f"{envs[0]}.log").read_text() == log
    assert "2.3.0" == (p / "out/v.txt").read_text() and "failed" not in again.stderr


def test_the_spec_is_part_of_the_key(tmp_path: Path) -> None:
    p = make_project(tmp_path, PROJECT, {"envs/tools.txt": PINNED})
    outflow(p, "keep", timeout=600)
    (p / "envs/tools.txt").write_text("termcolor==2.4.0\n")
    planned = outflow(p, "keep", "-n").stdout
    assert "version  task definition or environment changed  [venv envs/tools.txt]" in planned
    outflow(p, "keep", timeout=600)
    assert (p / "out/v.txt").read_text() == "2.4.0"
    outflow(p, "keep", "--no-envs", timeout=600, check=1)  # outflow's own has no termcolor


def test_a_failing_build_fails_its_jobs_naming_the_log_once(tmp_path: Path) -> None:
    p = make_project(tmp_path, three_jobs_in('venv: "envs/broken.txt"'),
                     {"envs/broken.txt": "outflow-test-no-such-package-anywhere==0.0.1\n"})
    done = outflow(p, "-k", timeout=600, check=1)
    logs = list((p / ".outflow/envs").glob("*.log"))
    assert len(logs) == 1
    message = f"venv: building the environment of {p / 'envs/broken.txt'} failed: see {logs[0]}"
    assert done.stderr.count(message) == 3
    assert logs[0].read_text().count(" install ") == 1  # one build for the three jobs
    assert not (p / "total.txt").exists() and not list(p.glob("out/*.txt"))
    assert "Traceback" not in done.stderr


def test_a_missing_spec_is_a_lint_error(tmp_path: Path) -> None:
    p = make_project(tmp_path, """\
        task t:
            venv: "envs/none.txt"
            shell: "true"
        """)
    done = outflow(p, "--lint", check=2)
    assert f"{p / 'Outflowfile'}:2:5: venv: requirements file 'envs/none.txt' of task 't' " \
           "does not exist" in done.stderr
