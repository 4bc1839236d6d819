"""Issue 19: Snakemake's words get a located error that says what outflow
does instead, inside a task (``threads:``...) and at the left margin of the
file (``rule``, ``wildcard_constraints:``, ``configfile:``...). Driven
through the installed ``outflow --lint``."""

from __future__ import annotations

from pathlib import Path

import pytest
from outflowtest import make_project, outflow

from outflowfile.language.directives import POINTERS, TOP_LEVEL_POINTERS

TASK = 'task t():\n    output: o = "o.txt"\n    shell: "touch {output.o}"\n'
EXPECTED = "expected 'task', 'workflow', 'config' or 'include'"


def lint_error(tmp_path: Path, text: str) -> str:
    p = make_project(tmp_path / "p", text)
    done = outflow(p, "--lint", check=2)
    assert done.stdout == ""
    return done.stderr.replace(str(p / "Outflowfile"), "Outflowfile")


def test_every_pointer_inside_a_task(tmp_path: Path) -> None:
    words = list(POINTERS)
    body = "".join(f"    {word}: 1\n" for word in words)
    err = lint_error(tmp_path, f"task t():\n{body}    shell: \"true\"\n")
    for line, word in enumerate(words, start=2):
        assert f"Outflowfile:{line}:5: unknown directive '{word}:'\n" in err
        assert f"  {POINTERS[word]}\n" in err


@pytest.mark.parametrize("word", sorted(TOP_LEVEL_POINTERS))
def test_every_snakemake_word_at_the_left_margin(tmp_path: Path, word: str) -> None:
    err = lint_error(tmp_path, f"{word} x:\n    a = 1\n\n{TASK}")
    assert err.startswith(f"Outflowfile:1:1: {EXPECTED}, found '{word}', a Snakemake word\n")
    assert err.endswith(f"  {TOP_LEVEL_POINTERS[word]}\n")


def test_wildcard_constraints_at_the_left_margin(tmp_path: Path) -> None:
    err = lint_error(tmp_path, f'wildcard_constraints:\n    sample = "[a-z]+"\n\n{TASK}')
    assert err == (
        f"Outflowfile:1:1: {EXPECTED}, found 'wildcard_constraints', a Snakemake word\n"
        "    wildcard_constraints:\n"
        "    ^\n"
        "  outflow has no wildcards to constrain: a task's inputs are named values, bound by "
        "name, never read back out of file names; list the values (a config entry, "
        'glob("data/{sample}.txt")) or check one in the task\'s body\n'
    )


def test_configfile_points_to_the_config_block_and_profiles(tmp_path: Path) -> None:
    err = lint_error(tmp_path, f'configfile: "config.yaml"\n\n{TASK}')
    assert err == (
        f"Outflowfile:1:1: {EXPECTED}, found 'configfile', a Snakemake word\n"
        '    configfile: "config.yaml"\n'
        "    ^\n"
        "  declare config entries in a config: block (config: then indented n: int = 3); "
        "set them with -C n=5, or in the [config] table of outflow.toml or a --profile\n"
    )


def test_rule_points_to_task(tmp_path: Path) -> None:
    err = lint_error(tmp_path, 'rule align:\n    shell: "bwa mem"\n')
    assert err == (
        f"Outflowfile:1:1: {EXPECTED}, found 'rule', a Snakemake word\n"
        "    rule align:\n"
        "    ^\n"
        "  outflow's rules are tasks: task NAME(inputs): with input:, output: and a body "
        "(shell:, run:, call: or script:)\n"
    )


def test_a_directive_of_snakemake_at_the_left_margin(tmp_path: Path) -> None:
    err = lint_error(tmp_path, f"threads: 4\n\n{TASK}")
    assert err == (
        f"Outflowfile:1:1: {EXPECTED}, found 'threads', a Snakemake directive\n"
        "    threads: 4\n"
        "    ^\n"
        "  'threads:' would go inside a task, and outflow has none: use cpus: (the cores a "
        "job uses, e.g. cpus: 4; {cpus} in a shell: command)\n"
    )
