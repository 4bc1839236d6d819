"""Run one job's body in the current process (a worker, usually).

``run:`` blocks are compiled as the body of a function named after the task,
with the Outflowfile as the code's file name and its own line numbers, so a
traceback points at the line the user wrote. ``call:`` bodies import a
function from the project directory. Either way the return value becomes the
job's value outputs by the rules in ``outputs_from``.

This module is imported by every worker at start-up: keep its imports light.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import linecache
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from types import CodeType, FunctionType, TracebackType
from typing import Any

from outflowfile.run.jobspec import JobSpec

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_IMPORTLIB_DIR = os.path.dirname(importlib.__file__)
_EXTRA_NAMES = ("input", "output", "cpus")


class TaskError(Exception):
    """A job failed: ``message`` is what the user sees (a trimmed traceback,
    or a sentence naming what was wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Files:
    """The ``input`` and ``output`` of a ``run:`` body: file paths by name.

    ``input.text`` and ``input["text"]`` give one entry (a path, or a list of
    paths); iterating gives every path; ``str(input)`` the paths joined by
    spaces."""

    def __init__(self, files: Mapping[str, str | list[str]]) -> None:
        self._files = dict(files)

    def __getattr__(self, name: str) -> str | list[str]:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._files[name]
        except KeyError:
            raise AttributeError(f"no file named {name!r}; there are: {self._names()}") from None

    def __getitem__(self, name: str) -> str | list[str]:
        try:
            return self._files[name]
        except KeyError:
            raise KeyError(f"no file named {name!r}; there are: {self._names()}") from None

    def __iter__(self) -> Iterator[str]:
        for value in self._files.values():
            if isinstance(value, (list, tuple)):
                yield from value
            else:
                yield value

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __str__(self) -> str:
        return " ".join(self)

    def __repr__(self) -> str:
        return f"Files({self._files!r})"

    def keys(self) -> list[str]:
        return list(self._files)

    def items(self) -> list[tuple[str, str | list[str]]]:
        return list(self._files.items())

    def _names(self) -> str:
        return ", ".join(self._files) or "(none)"


def run_python(spec: JobSpec) -> dict[str, Any]:
    """Run a ``run:`` or ``call:`` job here; its value outputs by name.
    Raises ``TaskError`` when the body fails or returns the wrong thing."""
    if spec.kind == "run":
        func = compile_run(spec.outflowfile, spec.code_line, spec.code, spec.task,
                           tuple(spec.params))
        kwargs = dict(spec.params)
        kwargs.update(_extras(spec, _EXTRA_NAMES))
    elif spec.kind == "call":
        func = import_call(spec.code, spec.workdir)
        kwargs = dict(spec.params)
        kwargs.update(_extras(spec, _accepted_extras(func)))
    else:
        raise TaskError(f"cannot run a {spec.kind!r} body in Python")
    try:
        result = func(**kwargs)
    except BaseException as exc:  # noqa: B036 - sys.exit() in a body fails the job too
        raise TaskError(user_traceback(exc)) from None
    return outputs_from(result, spec.value_outputs, spec.task)


def run_shell_command(spec: JobSpec) -> list[str]:
    """The argv of a ``shell:`` job; ``spec.code`` is already formatted and quoted."""
    return ["/bin/bash", "-c", "set -eo pipefail\n" + spec.code]


def outputs_from(result: Any, names: list[str], task: str) -> dict[str, Any]:
    """A body's return value as value outputs: nothing for no declared
    output; a dict with exactly the declared names gives each its entry, for
    one output as for several; otherwise one output is the value itself.

    So ``return {"total": 6}`` and ``return 6`` are the same for a task
    declaring ``-> (total)``; a task whose one output is itself such a dict
    returns it wrapped: ``return {"total": {"total": 6}}``."""
    if not names:
        if result is None or isinstance(result, dict):
            return {}
        raise TaskError(
            f"task {task} declares no value outputs, but its body returned "
            f"a {type(result).__name__}: {_short_repr(result)}"
        )
    if len(names) == 1:
        name = names[0]
        if isinstance(result, dict) and len(result) == 1 and name in result:
            return {name: result[name]}
        return {name: result}
    if not isinstance(result, dict):
        raise TaskError(
            f"task {task} declares the outputs {', '.join(names)}: its body must return "
            f"a dict with those keys, not a {type(result).__name__}"
        )
    missing = [n for n in names if n not in result]
    extra = [str(k) for k in result if k not in names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"is missing {', '.join(missing)}")
        if extra:
            parts.append(f"has unexpected {', '.join(extra)}")
        raise TaskError(f"the dict returned by task {task} {' and '.join(parts)} "
                        f"(declared outputs: {', '.join(names)})")
    return {n: result[n] for n in names}


def _extras(spec: JobSpec, wanted: tuple[str, ...]) -> dict[str, Any]:
    """``input``, ``output`` and ``cpus`` among ``wanted``, unless a
    parameter of the same name already provides it."""
    values = {
        "input": Files(spec.input_files),
        "output": Files(spec.output_files),
        "cpus": spec.cpus,
    }
    return {n: values[n] for n in wanted if n not in spec.params}


@lru_cache(maxsize=512)
def compile_run(
    outflowfile: str, code_line: int, code: str, task: str, params: tuple[str, ...]
) -> Callable[..., Any]:
    """A ``run:`` block as a function ``task(*params, input, output, cpus)``
    whose code has the Outflowfile's file name and line numbers."""
    padded = "\n" * max(code_line - 1, 0) + code
    try:
        body = ast.parse(padded, filename=outflowfile).body
    except SyntaxError as exc:
        raise TaskError("".join(traceback.format_exception_only(type(exc), exc)).rstrip()) from None
    _shift_columns(body, _indent_in_file(outflowfile, code_line, code))
    names = list(params) + [n for n in _EXTRA_NAMES if n not in params]
    name = task if task.isidentifier() else "run"
    func_def = ast.parse(f"def {name}({', '.join(names)}):\n    pass").body[0]
    assert isinstance(func_def, ast.FunctionDef)
    # The def line goes just above the code, whose lines are already right.
    ast.increment_lineno(func_def, max(code_line - 2, 0))
    func_def.body = body or [ast.Pass()]
    func_def.end_lineno = max(func_def.body[-1].end_lineno or 0, func_def.lineno)
    module = ast.Module(body=[func_def], type_ignores=[])
    ast.fix_missing_locations(module)
    try:
        code_obj = compile(module, outflowfile, "exec")
    except SyntaxError as exc:  # "'return' outside function" and friends
        raise TaskError("".join(traceback.format_exception_only(type(exc), exc)).rstrip()) from None
    func_code = next(c for c in code_obj.co_consts if isinstance(c, CodeType))
    namespace = {"__name__": "__outflow__", "__builtins__": builtins}
    return FunctionType(func_code, namespace, name)


def _indent_in_file(outflowfile: str, code_line: int, code: str) -> int:
    """How far the dedented ``code`` was indented in the Outflowfile, so that
    column positions (the ``^^^`` under a failing expression) match its lines."""
    for i, line in enumerate(code.splitlines()):
        if line.strip():
            in_file = linecache.getline(outflowfile, code_line + i)
            if in_file.strip() != line.strip():
                return 0
            return max(0, _indent(in_file) - _indent(line))
    return 0


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _shift_columns(body: list[ast.stmt], by: int) -> None:
    if by == 0:
        return
    for stmt in body:
        for node in ast.walk(stmt):
            located: Any = node  # not every kind of node has a position
            if isinstance(getattr(located, "col_offset", None), int):
                located.col_offset += by
            if isinstance(getattr(located, "end_col_offset", None), int):
                located.end_col_offset += by


def import_call(target: str, workdir: str) -> Callable[..., Any]:
    """The function named by ``package.module:function``, imported with the
    project directory on ``sys.path``."""
    module_name, sep, func_name = target.partition(":")
    if not sep or not module_name or not func_name:
        raise TaskError(f"call: needs 'package.module:function', got {target!r}")
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise TaskError(f"call: cannot import {module_name}: no module named {exc.name!r} "
                            f"(looked in {workdir} and the installed packages)") from None
        raise TaskError(user_traceback(exc)) from None
    except BaseException as exc:  # noqa: B036 - an error while importing the user's module
        raise TaskError(user_traceback(exc)) from None
    func = module
    for part in func_name.split("."):
        try:
            func = getattr(func, part)
        except AttributeError:
            raise TaskError(f"call: {module_name} has no function {func_name!r}") from None
    if not callable(func):
        raise TaskError(f"call: {target} is not a function")
    return func


def _accepted_extras(func: Callable[..., Any]) -> tuple[str, ...]:
    try:
        accepted = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return ()
    return tuple(n for n in _EXTRA_NAMES if n in accepted)


def user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` without outflow's own frames (nor the import
    machinery's), ending with the exception line."""
    tb = _skip_own_frames(exc.__traceback__)
    lines = traceback.format_exception(type(exc), exc, tb)
    return "".join(lines).rstrip()


def _skip_own_frames(tb: TracebackType | None) -> TracebackType | None:
    while tb is not None and _is_own_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def _is_own_frame(filename: str) -> bool:
    return (filename.startswith("<frozen importlib")
            or os.path.dirname(filename) in (_PACKAGE_DIR, _IMPORTLIB_DIR))


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
