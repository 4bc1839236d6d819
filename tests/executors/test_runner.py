"""Running one job's Python body in this process: run: and call:."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from outflowfile.executors.body import Files, TaskError, run_python, run_shell_command
from outflowfile.run.jobspec import JobSpec

OUTFLOWFILE = """\
config:
    multiplier: int = 2

task compute(transformed: int, multiplier: int) -> (computation_result: int):
    cpus: 5
    run:
        text = '''a multi-line
string'''
        return transformed * multiplier / 0
"""
FAILING_LINE = 9  # "return transformed * multiplier / 0"


def run_spec(tmp_path: Path, code: str, **fields: Any) -> JobSpec:
    values: dict[str, Any] = dict(
        id=1, task="compute", label="compute", kind="run", code=textwrap.dedent(code),
        code_line=1, outflowfile=str(tmp_path / "Outflowfile"), workdir=str(tmp_path),
        params={}, input_files={}, output_files={}, value_outputs=[], cpus=1,
    )
    values.update(fields)
    return JobSpec(**values)


def error_of(spec: JobSpec) -> str:
    with pytest.raises(TaskError) as info:
        run_python(spec)
    return info.value.message


# -- return conventions -------------------------------------------------------


def test_one_output_is_the_bare_value(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "return n + 40", params={"n": 2}, value_outputs=["x"])
    assert run_python(spec) == {"x": 42}


def test_one_output_keeps_a_returned_dict_whole(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "return {'x': 1, 'y': 2}", value_outputs=["x"])
    assert run_python(spec) == {"x": {"x": 1, "y": 2}}


def test_one_output_from_a_dict_keyed_by_its_name(tmp_path: Path) -> None:
    """The single-output dict rule (docs/language.md, Bodies): a dict whose
    only key is the output's name gives that output its entry."""
    spec = run_spec(tmp_path, "return {'x': n * 2}", params={"n": 3}, value_outputs=["x"])
    assert run_python(spec) == {"x": 6}
    wrapped = run_spec(tmp_path, "return {'x': {'x': 6}}", value_outputs=["x"])
    assert run_python(wrapped) == {"x": {"x": 6}}
    other_key = run_spec(tmp_path, "return {'y': 6}", value_outputs=["x"])
    assert run_python(other_key) == {"x": {"y": 6}}


def test_several_outputs_come_from_a_dict(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "return {'b': 2, 'a': 1}", value_outputs=["a", "b"])
    assert run_python(spec) == {"a": 1, "b": 2}


def test_several_outputs_missing_key_is_named(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "return {'a': 1}", value_outputs=["a", "b"])
    message = error_of(spec)
    assert "missing b" in message and "compute" in message


def test_several_outputs_extra_key_is_named(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "return {'a': 1, 'b': 2, 'zz': 3}", value_outputs=["a", "b"])
    assert "unexpected zz" in error_of(spec)


def test_several_outputs_need_a_dict(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "return [1, 2]", value_outputs=["a", "b"])
    assert "must return a dict" in error_of(spec)


def test_no_outputs_allows_none_or_a_dict(tmp_path: Path) -> None:
    assert run_python(run_spec(tmp_path, "x = 1")) == {}
    assert run_python(run_spec(tmp_path, "return {'ignored': 1}")) == {}


def test_no_outputs_rejects_another_value(tmp_path: Path) -> None:
    assert "declares no value outputs" in error_of(run_spec(tmp_path, "return 5"))


# -- names in a run: body -----------------------------------------------------


def test_input_output_and_cpus_are_local_names(tmp_path: Path) -> None:
    code = """
        return {
            "attr": input.text,
            "item": output["counts"],
            "all": list(input),
            "str": str(input),
            "cpus": cpus,
        }
    """
    spec = run_spec(
        tmp_path, code, value_outputs=["r"], cpus=3,
        input_files={"text": "data/a.txt", "more": ["x 1.txt", "y.txt"]},
        output_files={"counts": "counts/a.tsv"},
    )
    assert run_python(spec)["r"] == {
        "attr": "data/a.txt",
        "item": "counts/a.tsv",
        "all": ["data/a.txt", "x 1.txt", "y.txt"],
        "str": "data/a.txt x 1.txt y.txt",
        "cpus": 3,
    }


def test_unknown_file_name_says_which_exist() -> None:
    files = Files({"text": "a.txt"})
    with pytest.raises(AttributeError, match="there are: text"):
        _ = files.other


def test_multiline_strings_in_a_body_are_kept(tmp_path: Path) -> None:
    code = 'return """one\n  two\nthree"""\n'
    spec = run_spec(tmp_path, code, value_outputs=["x"], code_line=10)
    assert run_python(spec) == {"x": "one\n  two\nthree"}


# -- tracebacks ---------------------------------------------------------------


def test_traceback_shows_the_outflowfile_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "Outflowfile"
    path.write_text(OUTFLOWFILE)
    lines = OUTFLOWFILE.splitlines()
    # The engine dedents the block by its indentation; the string's second
    # line is not indented, and stays as it is.
    code = "".join(line.removeprefix(" " * 8) + "\n" for line in lines[6:])
    spec = run_spec(
        tmp_path, code, code_line=7, params={"transformed": 42, "multiplier": 2},
        value_outputs=["computation_result"],
    )
    message = error_of(spec)
    assert message.startswith("Traceback (most recent call last):\n")
    assert f'File "{path}", line {FAILING_LINE}, in compute' in message
    assert "return transformed * multiplier / 0" in message
    assert message.endswith("ZeroDivisionError: division by zero")
    assert "runner.py" not in message


def test_syntax_error_shows_the_outflowfile_line(tmp_path: Path) -> None:
    path = tmp_path / "Outflowfile"
    path.write_text("task t():\n    run:\n        x = (1,\n")
    message = error_of(run_spec(tmp_path, "x = (1,\n", code_line=3))
    assert f'File "{path}", line 3' in message
    assert "SyntaxError" in message


def test_sys_exit_in_a_body_fails_the_job(tmp_path: Path) -> None:
    assert "SystemExit" in error_of(run_spec(tmp_path, "import sys\nsys.exit(4)"))


# -- call: ----------------------------------------------------------------------


def write_module(tmp_path: Path, package: str, text: str) -> None:
    pkg = tmp_path / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "steps.py").write_text(textwrap.dedent(text))


def test_call_imports_from_the_project_directory(tmp_path: Path) -> None:
    write_module(tmp_path, "callpkg_a", """
        def double(n, input, cpus):
            return {"n": n * 2, "file": input.text, "cpus": cpus}
    """)
    spec = run_spec(
        tmp_path, "callpkg_a.steps:double", kind="call", params={"n": 21},
        input_files={"text": "a.txt"}, value_outputs=["r"], cpus=2,
    )
    assert run_python(spec) == {"r": {"n": 42, "file": "a.txt", "cpus": 2}}


def test_call_one_output_from_a_dict_keyed_by_its_name(tmp_path: Path) -> None:
    write_module(tmp_path, "callpkg_e", """
        def total(n):
            return {"total": n * 2}
    """)
    spec = run_spec(tmp_path, "callpkg_e.steps:total", kind="call", params={"n": 21},
                    value_outputs=["total"])
    assert run_python(spec) == {"total": 42}


def test_call_passes_extras_only_when_the_signature_has_them(tmp_path: Path) -> None:
    write_module(tmp_path, "callpkg_b", """
        def split(n):
            return {"half": n // 2, "rest": n - n // 2}
    """)
    spec = run_spec(tmp_path, "callpkg_b.steps:split", kind="call", params={"n": 5},
                    value_outputs=["half", "rest"])
    assert run_python(spec) == {"half": 2, "rest": 3}


def test_call_traceback_shows_the_users_module(tmp_path: Path) -> None:
    write_module(tmp_path, "callpkg_c", """
        def fail(n):
            return n / 0
    """)
    spec = run_spec(tmp_path, "callpkg_c.steps:fail", kind="call", params={"n": 1},
                    value_outputs=["x"])
    message = error_of(spec)
    assert f'File "{tmp_path / "callpkg_c" / "steps.py"}", line 3, in fail' in message
    assert message.endswith("ZeroDivisionError: division by zero")
    assert "runner.py" not in message


def test_call_missing_module_or_function(tmp_path: Path) -> None:
    write_module(tmp_path, "callpkg_d", "def f():\n    pass\n")
    missing_module = run_spec(tmp_path, "callpkg_nope.steps:f", kind="call")
    assert "cannot import callpkg_nope.steps" in error_of(missing_module)
    missing_function = run_spec(tmp_path, "callpkg_d.steps:g", kind="call")
    assert "has no function 'g'" in error_of(missing_function)


def test_shell_command_is_bash_with_pipefail(tmp_path: Path) -> None:
    spec = run_spec(tmp_path, "false | true", kind="shell")
    assert run_shell_command(spec) == ["/bin/bash", "-c", "set -eo pipefail\nfalse | true"]
