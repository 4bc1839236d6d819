"""One formatting rule for file patterns and ``shell:`` commands: a format
spec means the same in both, and a command's values are still shell-quoted."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from outflowfile.language.patterns import PatternError, format_command, format_pattern


def command(template: str, **params: Any) -> str:
    return format_command(template, params=params, input_files={"src": "in/a b.txt"},
                          output_files={"out": "out/7.txt"}, cpus=3, log="logs/x.log")


@pytest.mark.parametrize(("spec", "value"), [
    ("03d", 7), (">5", "ab"), ("<4", 1), (".2f", 3.14159), ("x", 255), (",", 1234567),
    ("^7", "mid"), ("+d", 5), ("08.3f", -1.5), ("", 7), ("", "plain"),
])
def test_a_spec_formats_alike_in_a_pattern_and_a_command(spec: str, value: Any) -> None:
    field = "{n:" + spec + "}" if spec else "{n}"
    in_pattern = format_pattern(field, {"n": value})
    in_command = command(field, n=value)
    assert shlex.split(in_command) == [in_pattern]


def test_the_issue_example() -> None:
    assert format_pattern("out/{n:03d}.txt", {"n": 7}) == "out/007.txt"
    assert command("echo {n:03d} > {output.out}", n=7) == "echo 007 > out/7.txt"


def test_a_formatted_value_is_still_quoted() -> None:
    text = command("echo {name:>12}", name="a;rm -rf x")
    assert text == "echo '  a;rm -rf x'"
    assert shlex.split(text) == ["echo", "  a;rm -rf x"]


def test_files_and_lists_take_the_spec_per_word() -> None:
    assert command("cat {input.src:>11}") == "cat ' in/a b.txt'"
    assert command("cat {input:>11}") == "cat ' in/a b.txt'"
    assert command("echo {xs:02d}", xs=[1, 2, 30]) == "echo 01 02 30"
    assert command("echo {log:>11}") == "echo ' logs/x.log'"
    assert command("echo {cpus:02d}") == "echo 03"


@pytest.mark.parametrize("template", ["echo {n:03d}", "echo {n:zz}"])
def test_a_spec_that_does_not_fit_the_value_fails_alike(template: str) -> None:
    with pytest.raises(PatternError) as in_command:
        command(template, n="seven")
    with pytest.raises(PatternError) as in_pattern:
        format_pattern(template, {"n": "seven"})
    assert "Unknown format code" in str(in_command.value) or "Invalid format" in str(
        in_command.value)
    assert str(in_command.value).split(": ", 1)[1] == str(in_pattern.value).split(": ", 1)[1]


def test_a_spec_on_a_list_value_is_a_pattern_error_not_a_crash() -> None:
    with pytest.raises(PatternError):
        format_pattern("{xs:03d}", {"xs": [1, 2]})
