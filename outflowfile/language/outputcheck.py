"""What the output patterns alone prove a task must not write (the rule of
``outflowfile.language.ownership``): a path no job may own, its own input or
a directory above it, the files of another task (the same pattern, or one
inside the other). A ``log:`` pattern is written as an output is, and held
to the same rule (``written_specs``). Part of ``outflowfile.language.check``;
the outputs of mapped tasks are ``outflowfile.language.itemcheck``'s.

Only what a pattern proves is reported. Its literal part is known; each
``{field}`` is taken as one path segment, as values are checked to be when
they are bound. So ``out/{x}.txt`` is inside ``out``, but ``out/{x}.txt``
and ``out/{y}.tsv``, or ``a/{x}`` and ``a/{y}/b`` of two tasks, may well be
apart and are left to the values.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, field
from pathlib import Path

from outflowfile.language import ownership
from outflowfile.language.config import files_read
from outflowfile.language.findings import Findings, line_of
from outflowfile.language.model import FileSpec, Location, Outflowfile, Task
from outflowfile.language.ownership import Project, Refusal
from outflowfile.language.patterns import (
    PatternError,
    escapes_project,
    fields,
    normalize_pattern,
)

_FORMATTER = string.Formatter()
_MARK = "\0"  # around a field in a pattern's text, so a segment knows it has one


@dataclass(frozen=True)
class Shape:
    """What a pattern proves of its paths: its normalised segments (a field
    kept as written, ``{x:03d}``, between marks) and how many leading ones
    are literal."""

    parts: tuple[str, ...]
    fixed: int

    @property
    def exact(self) -> bool:
        """A pattern without fields: one path."""
        return self.fixed == len(self.parts)

    @property
    def path(self) -> str:
        """The literal leading segments as a path (all of it when exact)."""
        head = self.parts[: self.fixed]
        if head[:1] == ("/",):
            return "/" + "/".join(head[1:])
        return "/".join(head) or "."

    def contains(self, other: Shape) -> bool:
        """Whether every path of ``other`` lies inside this pattern's paths,
        when both are bound with the same values (fields compare as text)."""
        n = len(self.parts)
        return n < len(other.parts) and other.parts[:n] == self.parts


def shape(pattern: str, root: str | None) -> Shape | None:
    """The shape of a pattern, or None when it proves nothing: malformed, or
    a ``..`` after a field (where it lands depends on the value)."""
    try:
        text = "".join(
            literal + ("" if name is None else _MARK + _field_text(name, conv, spec) + _MARK)
            for literal, name, spec, conv in _FORMATTER.parse(pattern)
        )
    except ValueError:
        return None
    raw = text.split("/")
    first = next((i for i, part in enumerate(raw) if _MARK in part), len(raw))
    rest = [part for part in raw[first:] if part not in ("", ".")]
    if ".." in rest:
        return None
    head = "/".join(raw[:first])
    literal = ownership.normalize(head) if head else ("/" if text.startswith("/") else ".")
    if literal.startswith("/") and root is not None:
        literal = ownership.resolve_parents(literal, root, whole=bool(rest))
    # A segment with a field keeps its marks: "{{b}}" (a literal) is not "{b}".
    parts = (*ownership.segments(literal), *rest)
    return Shape(parts, len(parts) - len(rest))


def refusal_of(found: Shape, project: Project) -> Refusal | None:
    """Why no job may own what a pattern writes, as far as its shape proves."""
    refusal = ownership.never_owned(found.path, project)
    if found.exact or refusal is None:
        return refusal
    # Its paths lie strictly inside found.path, a directory.
    if refusal is Refusal.ABOVE_PROJECT:
        return None if found.path.startswith("/") else Refusal.OUTSIDE
    if refusal is Refusal.OUTFLOW_DIR:
        return Refusal.IN_OUTFLOW_DIR
    if refusal in (Refusal.OUTSIDE, Refusal.IN_OUTFLOW_DIR, Refusal.SYSTEM):
        return refusal
    return None  # inside the project, or "Outflowfile/{x}" (which cannot be made)


def _field_text(name: str, conv: str | None, spec: str | None) -> str:
    return "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"


def project_of(model: Outflowfile) -> Project:
    """The project as the checker knows it: the Outflowfile's directory (and
    the files it includes, and those its config entries read, that lie
    inside it)."""
    path = Path(model.path)
    inside = (_inside(name, str(path.parent)) for name in model.included)
    included = tuple(name for name in inside if name is not None)
    read = (_inside(name, str(path.parent)) for name in files_read(model))
    config = (ownership.OPTIONS_FILE, *(name for name in read if name is not None))
    names = tuple(dict.fromkeys((*ownership.OUTFLOWFILE_NAMES, path.name)))
    root = str(path.parent) if path.is_absolute() else None
    return Project(root, names, included, tuple(dict.fromkeys(config)))


def _inside(name: str, directory: str) -> str | None:
    """An included file's path (as its locations name it) relative to the
    Outflowfile's directory, or None when it lies outside."""
    rel = os.path.relpath(name, directory or ".")
    return None if ownership.climbs_out(rel) else rel


_REFUSED_HINT = {
    Refusal.PROJECT: "outflow replaces a job's outputs when it runs; "
    'write a file or directory inside the project, such as "results/out.txt"',
    Refusal.ABOVE_PROJECT: "outflow replaces a job's outputs when it runs; "
    'write a file or directory inside the project, such as "results/out.txt"',
    Refusal.OUTSIDE: "keep outputs inside the project; to write elsewhere on purpose, "
    "write it as an absolute path",
    Refusal.OUTFLOW_DIR: ".outflow/ holds outflow's cache and logs; "
    'write your outputs elsewhere, such as "results/"',
    Refusal.IN_OUTFLOW_DIR: ".outflow/ holds outflow's cache and logs; "
    'write your outputs elsewhere, such as "results/"',
    Refusal.OUTFLOWFILE: "outflow replaces a job's outputs when it runs; "
    "choose another name for the output",
    Refusal.INCLUDED: "outflow replaces a job's outputs when it runs; "
    "choose another name for the output",
    Refusal.CONFIG: "outflow reads it before any job runs, to know the workflow; "
    "choose another name for the output",
    Refusal.CACHE: "outflow keeps what it knows of every job there; "
    "choose another name for the output",
    Refusal.SYSTEM: "outflow moves a job's old outputs aside and replaces them; "
    "write to a file of your own (to discard what a job prints, leave out log:)",
    **dict.fromkeys(
        (Refusal.HOLDS_OUTFLOWFILE, Refusal.HOLDS_INCLUDED, Refusal.HOLDS_CONFIG,
         Refusal.HOLDS_CACHE),
        "outflow replaces a job's output directory whole when it runs, and the file with it; "
        'write the outputs to a directory of their own, such as "results/"'),
    Refusal.NUL: "a value that makes the path holds a NUL ('\\x00'): take it out of the "
    "config value or sample sheet it comes from",
}


LOG = "log"  # the kind of the file a task's ``log:`` names


@dataclass(frozen=True)
class WrittenSpec:
    """A file pattern a task writes: one of its outputs, or its ``log:``."""

    spec: FileSpec
    kind: str = "output"  # or LOG

    @property
    def what(self) -> str:
        """How a message names the pattern: "output pattern" or "log pattern"."""
        return f"{self.kind} pattern"

    @property
    def label(self) -> str:
        """How a message names the file: "output 'o'" or "log"."""
        return LOG if self.kind == LOG else f"output '{self.spec.name}'"


def written_specs(task: Task) -> list[WrittenSpec]:
    """The patterns of the files a task writes: its outputs, then its log."""
    found = [WrittenSpec(spec) for spec in task.output_files]
    if task.log is not None:
        log = FileSpec(LOG, task.log, task.directive_locs.get("log") or task.loc)
        found.append(WrittenSpec(log, LOG))
    return found


_LOG_REFUSED_HINT = {
    Refusal.PROJECT: "a job's log is written over what is at its path; "
    'give it a file of its own inside the project, such as "logs/run.log"',
    Refusal.ABOVE_PROJECT: "a job's log is written over what is at its path; "
    'give it a file of its own inside the project, such as "logs/run.log"',
    Refusal.OUTFLOWFILE: "a job's log is written over what is at its path; "
    'give it a file of its own, such as "logs/run.log"',
    Refusal.INCLUDED: "a job's log is written over what is at its path; "
    'give it a file of its own, such as "logs/run.log"',
    Refusal.OUTFLOW_DIR: "without log:, outflow keeps a job's log in .outflow/logs/ itself; "
    'write yours elsewhere, such as "logs/run.log"',
    Refusal.IN_OUTFLOW_DIR: "without log:, outflow keeps a job's log in .outflow/logs/ itself; "
    'write yours elsewhere, such as "logs/run.log"',
    Refusal.NUL: "a value that makes the path holds a NUL ('\\x00'): take it out of the "
    "config value or sample sheet it comes from",
}


@dataclass
class _Written:
    """A pattern a task writes, with its shape."""

    task: Task
    written: WrittenSpec
    shape: Shape

    @property
    def spec(self) -> FileSpec:
        return self.written.spec

    @property
    def loc(self) -> Location | None:
        return self.spec.loc or self.task.loc

    def describe(self) -> str:
        return (
            f"{self.written.label} ({self.spec.pattern!r}) of task '{self.task.name}' "
            f"at {line_of(self.loc)}"
        )


@dataclass
class OutputCheck:
    """The ownership checks of every task's output patterns."""

    findings: Findings
    model: Outflowfile
    project: Project = field(init=False)
    written: list[_Written] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.project = project_of(self.model)

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        self.findings.add(message, loc, hint)

    def run(self) -> None:
        tasks = _first_definitions(self.model.tasks)
        for task in tasks:
            self.check_task(task)
        self.check_same_patterns(tasks)
        self.check_nested()
        self.check_logs_read(tasks)

    # -- one task --

    def check_task(self, task: Task) -> None:
        inputs = [(spec, shape(spec.pattern, self.project.root)) for spec in task.input_files]
        for written in written_specs(task):
            spec = written.spec
            found = shape(spec.pattern, self.project.root)
            if found is None:
                if escapes_project(spec.pattern):
                    self.report_refused(task, written, Refusal.OUTSIDE)
                continue
            refusal = refusal_of(found, self.project)
            if refusal is not None:
                self.report_refused(task, written, refusal)
                continue
            self.written.append(_Written(task, written, found))
            for in_spec, in_shape in inputs:
                if in_shape is not None:
                    self.check_input(task, written, found, in_spec, in_shape)

    def report_refused(self, task: Task, written: WrittenSpec, refusal: Refusal) -> None:
        spec = written.spec
        what = f"{written.what} {spec.pattern!r} of task '{task.name}'"
        if refusal is Refusal.OUTSIDE:
            message = f"{what} writes outside the project directory"
        else:
            held = ownership.reason(refusal, ownership.normalize(spec.pattern), self.project)
            message = f"{what} names {held}, which no job may write"
        hints = _LOG_REFUSED_HINT if written.kind == LOG else _REFUSED_HINT
        self.add(message, spec.loc or task.loc, hints.get(refusal, _REFUSED_HINT[refusal]))

    def check_input(
        self, task: Task, written: WrittenSpec, out: Shape, in_spec: FileSpec, in_shape: Shape
    ) -> None:
        spec = written.spec
        where = f"{in_spec.name!r} ({in_spec.pattern!r}, {line_of(in_spec.loc or task.loc)})"
        what = f"{written.what} {spec.pattern!r} of task '{task.name}'"
        if written.kind == LOG:
            hint = "outflow writes the log over it, so the input would be lost; " \
                "give the log its own path"
        else:
            hint = (
                "outflow replaces a job's outputs when it runs, so the input would be lost; "
                "write the result to a new path"
            )
        if out.parts == in_shape.parts:
            self.add(f"{what} is also its input {where}", spec.loc or task.loc, hint)
        elif out.contains(in_shape):
            self.add(
                f"{what} is a directory that holds its input {where}", spec.loc or task.loc, hint
            )

    # -- two tasks --

    def check_same_patterns(self, tasks: list[Task]) -> None:
        writers: dict[str, tuple[Task, WrittenSpec]] = {}
        for task in tasks:
            for written in written_specs(task):
                try:
                    key = normalize_pattern(written.spec.pattern)
                except PatternError:
                    continue  # reported by the pattern checks
                if key in writers:
                    if _one_module_twice(written, writers[key][1]):
                        continue
                    self.report_same_output(task, written, *writers[key])
                else:
                    writers[key] = (task, written)

    def report_same_output(
        self, task: Task, written: WrittenSpec, first_task: Task, first: WrittenSpec
    ) -> None:
        spec, first_spec = written.spec, first.spec
        where = spec.loc or task.loc
        if first_task is task and written.kind == LOG:
            self.add(
                f"log pattern {spec.pattern!r} of task '{task.name}' is also its "
                f"{first.label} (at {line_of(first_spec.loc or task.loc)})",
                where,
                "give the log its own path",
            )
            return
        if first_task is task:
            self.add(
                f"task '{task.name}' writes output pattern {spec.pattern!r} twice "
                f"(as '{first_spec.name}' and as '{spec.name}')",
                where,
            )
            return
        self.add(
            f"{written.what} {spec.pattern!r} of task '{task.name}' is also written by "
            f"task '{first_task.name}' ({first.label} at "
            f"{line_of(first_spec.loc or first_task.loc, where)})",
            where,
            "every file must be made by one task only",
        )

    def check_nested(self) -> None:
        """An output of one task inside an exact output (a path without
        fields) of another: each output looks up its literal leading parts."""
        exact: dict[tuple[str, ...], _Written] = {}
        for w in self.written:
            if w.shape.exact:
                exact.setdefault(w.shape.parts, w)
        for w in self.written:
            for n in range(1, min(w.shape.fixed, len(w.shape.parts) - 1) + 1):
                outer = exact.get(w.shape.parts[:n])
                if outer is not None and outer.task is not w.task:
                    self.report_nested(w, outer)
                    break

    def check_logs_read(self, tasks: list[Task]) -> None:
        """A log pattern (without fields) that is another task's input pattern:
        a log is no output, so the input is a file no job makes, and the log
        would be written over it."""
        logs = [w for w in self.written if w.written.kind == LOG and w.shape.exact]
        if not logs:
            return
        read: dict[tuple[str, ...], tuple[Task, FileSpec]] = {}
        for task in tasks:
            for spec in task.input_files:
                found = shape(spec.pattern, self.project.root)
                if found is not None and found.exact:
                    read.setdefault(found.parts, (task, spec))
        for w in logs:
            reader = read.get(w.shape.parts)
            if reader is None or reader[0] is w.task:
                continue
            task, spec = reader
            self.add(
                f"log pattern {w.spec.pattern!r} of task '{w.task.name}' is the input "
                f"'{spec.name}' of task '{task.name}' ({spec.pattern!r}, "
                f"{line_of(spec.loc or task.loc, w.loc)})",
                w.loc,
                "outflow writes a job's log over what is at its path, and no job reads another's "
                "log (it is no output); give the log its own path, or make what is read an "
                "output",
            )

    def report_nested(self, inner: _Written, outer: _Written) -> None:
        self.add(
            f"{inner.written.what} {inner.spec.pattern!r} of task '{inner.task.name}' is inside "
            f"{outer.describe()}",
            inner.loc,
            f"outflow replaces '{outer.spec.pattern}' whole when '{outer.task.name}' runs, and "
            f"with it what '{inner.task.name}' wrote; give each task its own files",
        )


def _first_definitions(tasks: list[Task]) -> list[Task]:
    """Each task name's first definition (the checker reports the others)."""
    seen: set[str] = set()
    first = []
    for task in tasks:
        if task.name not in seen:
            seen.add(task.name)
            first.append(task)
    return first


def _one_module_twice(written: WrittenSpec, first: WrittenSpec) -> bool:
    """The same pattern, written once, of a file included under two prefixes:
    its tasks write different files when their inputs differ, which only
    the bound values show (``plan/owned.py`` refuses two jobs that meet).
    A pattern without fields is one file whatever the inputs."""
    if written.spec.loc is None or written.spec.loc != first.spec.loc:
        return False
    try:
        return bool(fields(written.spec.pattern))
    except PatternError:
        return False
