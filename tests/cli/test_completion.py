"""Shell completion through the installed ``outflow``, driven by click's
completion environment variables as bash, zsh and fish set them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.outflowtest import make_project, outflow_command

PROJECT = """
config:
    n: int = 2

task gen_data(n: int) -> (items: list):
    run:
        return list(range(n))

task compute(items: list):
    output: out = "out/result.txt"
    shell: "echo {items} > {output.out}"

task count_words():
    shell: "true"

workflow all:
    gen_data | compute

workflow counting:
    count_words
"""


def complete(project: Path, words: str, shell: str = "bash") -> list[str]:
    """What outflow offers for the last of ``words`` (bash: type,value lines)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {"_OUTFLOW_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(cword) if shell != "fish" else words.split(" ")[-1]}
    done = subprocess.run(outflow_command(), cwd=project, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **env}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


def test_targets_complete_with_workflows_and_tasks(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PROJECT)
    assert complete(project, "outflow ") == [
        "plain,all", "plain,counting", "plain,gen_data", "plain,compute", "plain,count_words"
    ]
    assert complete(project, "outflow co") == [
        "plain,counting", "plain,compute", "plain,count_words"
    ]
    assert complete(project, "outflow all count_") == ["plain,count_words"]
    assert complete(project, "outflow out/") == ["file,out/"]  # files: the shell's own


def test_task_options_complete_with_tasks_only(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PROJECT)
    for option in ("--forget", "--show", "-R", "--until"):
        assert complete(project, f"outflow {option} c") == [
            "plain,compute", "plain,count_words"
        ], option


def test_completion_follows_the_directory_option(tmp_path: Path) -> None:
    make_project(tmp_path / "p", PROJECT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert complete(elsewhere, "outflow ") == []
    assert complete(elsewhere, f"outflow -d {tmp_path / 'p'} gen") == ["plain,gen_data"]
    assert complete(elsewhere, f"outflow -f {tmp_path / 'p' / 'Outflowfile'} gen") == [
        "plain,gen_data"
    ]


def test_a_broken_outflowfile_offers_nothing_quietly(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "task broken(:\n    run: pass\n")
    assert complete(project, "outflow ") == []
    assert complete(project, "outflow --show ") == []


def test_zsh_and_fish(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", PROJECT)
    assert complete(project, "outflow gen", "zsh") == ["plain", "gen_data", "_"]
    assert complete(project, "outflow gen", "fish") == ["plain,gen_data"]


def test_the_scripts_to_source(tmp_path: Path) -> None:
    for shell, mark in [("bash", "complete -o nosort -F _outflow_completion outflow"),
                        ("zsh", "compdef _outflow_completion outflow"),
                        ("fish", "complete --no-files --command outflow")]:
        done = subprocess.run(outflow_command(), capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "_OUTFLOW_COMPLETE": f"{shell}_source"})
        assert done.returncode == 0 and mark in done.stdout, (shell, done.stdout)
