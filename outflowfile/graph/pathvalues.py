"""Paths that travel as values: which of a job's input values are files.

Besides its ``input:`` files (and the output files of upstream jobs it is
given through a pipe, ``expand.file_paths``), a job reads as files:

- every path in an input declared ``path``, or of a type holding paths
  (``list[path]``, ``set[path]``, ``tuple[path, ...]``, ``dict[str, path]``
  and so on), wherever its value comes from: the config, a default, a map
  item, an upstream job's value;
- every path in a value an upstream job declares so (``-> (reads: path)``),
  whatever the type of the input it feeds;
- a map item that is another job's output file, whatever its input's type
  (the items of a map over the files an earlier map made).

Such a file is stamped and compared like an ``input:`` file, and when
another job makes it, the reader depends on that job. A path is left out
when it is where the job writes rather than what it reads: one of its own
output files or a directory holding one (``outdir: path`` with
``output: "{outdir}/x.txt"``), or the project directory itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterable
from pathlib import PurePath
from typing import Any

from outflowfile.language.model import Task, TypeRef
from outflowfile.language.ownership import normalize

# The one rule of path spellings (``./a//b`` is ``a/b``), applied where a path
# is bound; cheap for the paths that are normal already.
normal_path = normalize

# Finds the paths in one input's value.
PathsOf = Callable[[Any], list[str]]


def path_inputs(task: Task) -> tuple[tuple[str, PathsOf], ...]:
    """The task's inputs whose declared type holds paths, each with what
    finds them in its value: empty for most tasks."""
    return tuple(
        (p.name, _reader(p.type)) for p in task.params if p.type is not None and holds_paths(p.type)
    )


def holds_paths(t: TypeRef | None) -> bool:
    """Whether a value of type ``t`` may hold paths (``path`` or a
    container of them). Untyped and ``any`` do not say so."""
    return t is not None and (t.name == "path" or any(holds_paths(a) for a in t.args))


def _reader(t: TypeRef) -> PathsOf:
    def read(value: Any) -> list[str]:
        return paths_in(value, t)

    return read


def paths_in(value: Any, t: TypeRef) -> list[str]:
    """The paths in ``value``, read as type ``t``."""
    found: list[str] = []
    _collect(value, t, found)
    return found


def makes_path_values(tasks: Iterable[Task]) -> bool:
    """Whether any of these tasks declares a value output that holds paths."""
    return any(o.type is not None and holds_paths(o.type) for t in tasks for o in t.outputs)


def value_output_type(task: Task, name: str) -> TypeRef | None:
    """The declared type of the task's value output ``name`` (not of an
    output file: those are followed as files already)."""
    for o in task.outputs:
        if o.name == name:
            return o.type
    return None


def _collect(value: Any, t: TypeRef, found: list[str]) -> None:
    """Add the paths in ``value``, read as type ``t``, to ``found``. A value
    not of its type adds nothing (the type check reports it)."""
    name, args = t.name, t.args
    if name == "path":
        if isinstance(value, (str, os.PathLike)):
            found.append(os.fspath(value))
    elif name == "dict":
        if isinstance(value, dict) and args:
            if holds_paths(args[0]):
                for key in value:
                    _collect(key, args[0], found)
            if len(args) > 1 and holds_paths(args[1]):
                for item in value.values():
                    _collect(item, args[1], found)
    elif isinstance(value, (list, tuple, set, frozenset)) and args:
        if name == "tuple" and len(args) > 1:
            for item, arg in zip(value, args, strict=False):
                _collect(item, arg, found)
        else:
            for item in value:
                _collect(item, args[0], found)


def read_paths(
    candidates: Iterable[str], outputs: Iterable[str], produced: Container[str]
) -> list[str]:
    """The files a job reads among the paths its values name, each once,
    without those where it writes, spelled by the one rule (``normal_path``:
    ``./a``, ``a/`` and ``a//`` are ``a``)."""
    outs = [normal_path(o) for o in outputs]
    found: dict[str, None] = {}
    for raw in candidates:
        if not raw:
            continue
        path = raw if raw in produced else normal_path(raw)
        if path == "." or path in found:
            continue
        inside = path + "/"
        if any(o == path or o.startswith(inside) for o in outs):
            continue
        found[path] = None
    return list(found)


def normal_value(value: Any) -> Any:
    """A path value (or a list, tuple or set of them) with its paths normal;
    anything else as it is."""
    if type(value) is str:
        return normal_path(value)
    if isinstance(value, PurePath):
        return type(value)(normal_path(value.as_posix()))
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(normal_value(v) for v in value)
    return value
