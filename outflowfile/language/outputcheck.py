"""What the output patterns alone prove a task must not write (the rule of
``outflowfile.language.ownership``): a path no job may own, its own input or
a directory above it, the files of another task (the same pattern, or one
inside the other). Part of ``outflowfile.language.check``; the outputs of
mapped tasks are ``outflowfile.language.itemcheck``'s.

Only what a pattern proves is reported. Its literal part is known; each
``{field}`` is taken as one path segment, as values are checked to be when
they are bound. So ``out/{x}.txt`` is inside ``out``, but ``out/{x}.txt``
and ``out/{y}.tsv``, or ``a/{x}`` and ``a/{y}/b`` of two tasks, may well be
apart and are left to the values.
"""

from __future__ import annotations

import contextlib
import string
from dataclasses import dataclass, field
from pathlib import Path

from outflowfile.language import ownership
from outflowfile.language.findings import Findings, line_of
from outflowfile.language.model import FileSpec, Location, Outflowfile, Task
from outflowfile.language.ownership import Project, Refusal
from outflowfile.language.patterns import PatternError, escapes_project, normalize_pattern

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
    if refusal in (Refusal.OUTSIDE, Refusal.IN_OUTFLOW_DIR):
        return refusal
    return None  # inside the project, or "Outflowfile/{x}" (which cannot be made)


def _field_text(name: str, conv: str | None, spec: str | None) -> str:
    return "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"


def project_of(model: Outflowfile) -> Project:
    """The project as the checker knows it: the Outflowfile's directory."""
    path = Path(model.path)
    if not path.is_absolute():
        return Project(None, (*ownership.OUTFLOWFILE_NAMES, path.name))
    names = tuple(dict.fromkeys((*ownership.OUTFLOWFILE_NAMES, path.name)))
    return Project(str(path.parent), names)


_REFUSED_HINT = {
    Refusal.PROJECT: "outflow removes a job's outputs before it runs; "
    'write a file or directory inside the project, such as "results/out.txt"',
    Refusal.ABOVE_PROJECT: "outflow removes a job's outputs before it runs; "
    'write a file or directory inside the project, such as "results/out.txt"',
    Refusal.OUTSIDE: "keep outputs inside the project; to write elsewhere on purpose, "
    "write it as an absolute path",
    Refusal.OUTFLOW_DIR: ".outflow/ holds outflow's cache and logs; "
    'write your outputs elsewhere, such as "results/"',
    Refusal.IN_OUTFLOW_DIR: ".outflow/ holds outflow's cache and logs; "
    'write your outputs elsewhere, such as "results/"',
    Refusal.OUTFLOWFILE: "outflow removes a job's outputs before it runs; "
    "choose another name for the output",
}


@dataclass
class _Written:
    """An output pattern of a task, with its shape."""

    task: Task
    spec: FileSpec
    shape: Shape

    @property
    def loc(self) -> Location | None:
        return self.spec.loc or self.task.loc

    def describe(self) -> str:
        return (
            f"output '{self.spec.name}' ({self.spec.pattern!r}) of task '{self.task.name}' "
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
        self.check_logs(tasks)

    # -- one task --

    def check_task(self, task: Task) -> None:
        inputs = [(spec, shape(spec.pattern, self.project.root)) for spec in task.input_files]
        for spec in task.output_files:
            found = shape(spec.pattern, self.project.root)
            if found is None:
                if escapes_project(spec.pattern):
                    self.report_refused(task, spec, Refusal.OUTSIDE)
                continue
            refusal = refusal_of(found, self.project)
            if refusal is not None:
                self.report_refused(task, spec, refusal)
                continue
            self.written.append(_Written(task, spec, found))
            for in_spec, in_shape in inputs:
                if in_shape is not None:
                    self.check_input(task, spec, found, in_spec, in_shape)

    def report_refused(self, task: Task, spec: FileSpec, refusal: Refusal) -> None:
        what = f"output pattern {spec.pattern!r} of task '{task.name}'"
        if refusal is Refusal.OUTSIDE:
            message = f"{what} writes outside the project directory"
        else:
            message = f"{what} names {refusal.value}, which no job may write"
        self.add(message, spec.loc or task.loc, _REFUSED_HINT[refusal])

    def check_input(
        self, task: Task, spec: FileSpec, out: Shape, in_spec: FileSpec, in_shape: Shape
    ) -> None:
        where = f"{in_spec.name!r} ({in_spec.pattern!r}, {line_of(in_spec.loc or task.loc)})"
        hint = (
            "outflow removes a job's outputs before it runs, so the input would be lost; "
            "write the result to a new path"
        )
        if out.parts == in_shape.parts:
            self.add(
                f"output pattern {spec.pattern!r} of task '{task.name}' is also its input {where}",
                spec.loc or task.loc,
                hint,
            )
        elif out.contains(in_shape):
            self.add(
                f"output pattern {spec.pattern!r} of task '{task.name}' is a directory that "
                f"holds its input {where}",
                spec.loc or task.loc,
                hint,
            )

    # -- two tasks --

    def check_same_patterns(self, tasks: list[Task]) -> None:
        writers: dict[str, tuple[Task, FileSpec]] = {}
        for task in tasks:
            for spec in task.output_files:
                try:
                    key = normalize_pattern(spec.pattern)
                except PatternError:
                    continue  # reported by the pattern checks
                if key in writers:
                    self.report_same_output(task, spec, *writers[key])
                else:
                    writers[key] = (task, spec)

    def report_same_output(
        self, task: Task, spec: FileSpec, first_task: Task, first_spec: FileSpec
    ) -> None:
        where = spec.loc or task.loc
        if first_task is task:
            self.add(
                f"task '{task.name}' writes output pattern {spec.pattern!r} twice "
                f"(as '{first_spec.name}' and as '{spec.name}')",
                where,
            )
            return
        self.add(
            f"output pattern {spec.pattern!r} of task '{task.name}' is also written by "
            f"task '{first_task.name}' (output '{first_spec.name}' at "
            f"{line_of(first_spec.loc or first_task.loc)})",
            where,
            "every file must be made by one task only",
        )

    def check_logs(self, tasks: list[Task]) -> None:
        """One ``log:`` path per job: a log pattern of two tasks, or one that
        is also an output pattern, makes jobs write one file (a mapped task's
        log is ``itemcheck``'s). Patterns compare as outputs do above."""
        outputs: dict[str, tuple[Task, FileSpec]] = {}
        for task in tasks:
            for spec in task.output_files:
                with contextlib.suppress(PatternError):
                    outputs.setdefault(normalize_pattern(spec.pattern), (task, spec))
        logs: dict[str, Task] = {}
        for task in tasks:
            if task.log is None:
                continue
            try:
                key = normalize_pattern(task.log)
            except PatternError:
                continue  # reported by the pattern checks
            loc = task.directive_locs.get("log") or task.loc
            first = logs.setdefault(key, task)
            if first is not task:
                self.add(
                    f"log pattern {task.log!r} of task '{task.name}' is also the log of task "
                    f"'{first.name}' (at {line_of(first.directive_locs.get('log') or first.loc)})",
                    loc,
                    "their jobs would write one log file; give each task a log: path of its own",
                )
            if key in outputs:
                maker, spec = outputs[key]
                self.add(
                    f"log pattern {task.log!r} of task '{task.name}' is also output "
                    f"'{spec.name}' of task '{maker.name}' (at {line_of(spec.loc or maker.loc)})",
                    loc,
                    "a log must not be an output file",
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

    def report_nested(self, inner: _Written, outer: _Written) -> None:
        self.add(
            f"output pattern {inner.spec.pattern!r} of task '{inner.task.name}' is inside "
            f"{outer.describe()}",
            inner.loc,
            f"outflow removes '{outer.spec.pattern}' before '{outer.task.name}' runs, and "
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
