"""Cycles through files that the patterns alone prove: a task reads a file
that a task makes which reads, directly or through others, a file the first
one makes. No job of such a cycle could ever start. Part of
``outflowfile.language.check``.

Only patterns without fields prove a path (``data/x.txt``); a pattern with
fields names a file only once its values are bound, and the cycles those
make are found when the jobs are (``outflowfile.graph.cycles``). Paths
compare by the one rule of ``ownership.normalize``: ``./x.txt`` is ``x.txt``.
"""

from __future__ import annotations

from dataclasses import dataclass

from outflowfile.language.findings import Findings
from outflowfile.language.model import FileSpec, Location, Task
from outflowfile.language.ownership import normalize
from outflowfile.language.patterns import PatternError, fields


@dataclass(frozen=True)
class FileEdge:
    """``reader`` reads ``path`` (its input ``read``), which ``maker`` makes
    (its output ``made``)."""

    reader: Task
    read: FileSpec
    path: str
    maker: Task
    made: FileSpec


def where(loc: Location | None) -> str:
    """A pattern's place, short: ``line 3:13``."""
    return f"line {loc.line}:{loc.column}" if loc is not None else "an earlier line"


def describe(edges: list[FileEdge]) -> str:
    """One cycle, edge by edge, each file with the places of its patterns."""
    parts = [
        f"task '{e.reader.name}' reads {e.path} ({where(e.read.loc)}), "
        f"which task '{e.maker.name}' makes ({where(e.made.loc)})"
        for e in edges
    ]
    return "a cycle through files: " + "; ".join(parts)


HINT = "no job of a cycle can start: one of these tasks must read another file"


def check_file_cycles(findings: Findings, tasks: list[Task]) -> None:
    """Report every cycle the tasks' exact patterns prove, once each."""
    makers: dict[str, tuple[Task, FileSpec]] = {}
    for task in tasks:
        for spec in task.output_files:
            path = _exact(spec.pattern)
            if path is not None:
                makers.setdefault(path, (task, spec))
    edges: dict[str, list[FileEdge]] = {}  # reader task -> what it reads from others
    for task in tasks:
        for spec in task.input_files:
            path = _exact(spec.pattern)
            found = makers.get(path) if path is not None else None
            if found is not None and found[0] is not task:  # its own: outputcheck's
                edge = FileEdge(task, spec, path, found[0], found[1])  # type: ignore[arg-type]
                edges.setdefault(task.name, []).append(edge)
    reported: set[frozenset[str]] = set()
    for cycle in _cycles(edges):
        names = frozenset(e.reader.name for e in cycle)
        if names not in reported:
            reported.add(names)
            findings.add(describe(cycle), cycle[0].read.loc, HINT)


def _exact(pattern: str) -> str | None:
    """The one path a pattern without fields names, normalised; else None."""
    try:
        if fields(pattern):
            return None
    except PatternError:
        return None  # reported by the task's own checks
    return normalize(pattern.replace("{{", "{").replace("}}", "}"))


def _cycles(edges: dict[str, list[FileEdge]]) -> list[list[FileEdge]]:
    """A cycle through each edge that closes one (depth first, iterative)."""
    found: list[list[FileEdge]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        if start in state:
            continue
        path: list[FileEdge] = []
        stack = [iter(edges.get(start, ()))]
        state[start] = 1
        while stack:
            edge = next(stack[-1], None)
            if edge is None:
                stack.pop()
                done = path.pop().maker.name if path else start
                state[done] = 2
                continue
            to = edge.maker.name
            if state.get(to) == 1:
                back = [i for i, e in enumerate(path) if e.reader.name == to]
                found.append(path[back[0]:] + [edge] if back else [edge])
            elif to not in state:
                state[to] = 1
                path.append(edge)
                stack.append(iter(edges.get(to, ())))
    return found
