"""Hostile values on the command line: ``--config`` values are data, never
Python code, and values substituted into a shell command never run as
shell. A successful attack would leave a PWNED file behind."""

from __future__ import annotations

from pathlib import Path

from outflowtest import lines, make_project, outflow

PROJECT = """
config:
    samples: list = ["a"]
    name: str = "x"
    n: int = 1
    opts: dict = {}

task echo_name(name: str, n: int, opts: dict):
    output: name_out = "name.txt"
    shell: "printf '%s\\\\n' {name} {n} {opts} > {output.name_out}"

task each(sample: str):
    output: out = "each/{sample}.txt"
    shell: "printf '%s\\\\n' {sample} > {output.out}"

task py_each(sample: str) -> (got: str):
    run:
        return sample

workflow all:
    (echo_name, map(samples -> sample) { each | py_each })
"""

CODE = '__import__("os").system("touch PWNED")'


def _no_pwned(root: Path) -> None:
    found = sorted(str(f) for f in root.rglob("PWNED*"))
    assert found == [], found


def test_python_code_in_config_values_is_not_run(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", PROJECT)
    for key in ("n", "opts"):
        proc = outflow(p, "--config", f"{key}={CODE}", check=2)
        assert f"--config {key}=" in proc.stderr and "expected" in proc.stderr
    proc = outflow(p, "--config", f"opts={{'a': {CODE}}}", check=2)
    assert "expected dict" in proc.stderr
    # A list that is not a literal is one string: data, even as a file name.
    outflow(p, "--config", f"samples={CODE}")
    assert lines(p / "each" / f"{CODE}.txt") == [CODE]
    _no_pwned(tmp_path)


def test_shell_syntax_in_config_values_is_not_run(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", PROJECT)
    name = "$(touch PWNED1)`touch PWNED2`;touch PWNED3 && touch PWNED4 | touch PWNED5 'q\" \\"
    outflow(p, "--config", f"name={name}", "--config", "opts={'k': '$(touch PWNED6)'}")
    assert lines(p / "name.txt") == [name, "1", "{'k': '$(touch PWNED6)'}"]
    _no_pwned(tmp_path)


def test_shell_syntax_in_mapped_items_and_file_names(tmp_path: Path) -> None:
    p = make_project(tmp_path / "p", PROJECT)
    items = ["$(touch PWNED1)", "`touch PWNED2`", "a b;touch PWNED3", "-n", "--help"]
    outflow(p, "--config", f"samples={items!r}")
    for item in items:
        assert lines(p / "each" / f"{item}.txt") == [item], item
    _no_pwned(tmp_path)
