"""What the bound values show a job must not write: the rule of
``outflowfile.language.ownership`` applied to the paths of a plan's jobs.

The checker refuses what the output patterns alone prove
(``language/outputcheck.py``); a value can still make a pattern name the
project directory (``{where}`` bound to ``"."``), leave the project
(``"../../victim"``), name the job's own input (``"./data.txt"``), meet
another job's path (two items ``"a"`` and ``"./a"``), or go through a
symbolic link out of the project. ``Owned`` is told every job once its
paths are bound (before the run, and as maps expand and jobs learn their
upstream values) and answers with the problems, located at the pattern,
before any of those jobs starts or any file is removed.

A job must not write what a ``glob()`` of the config lists, nor a file
the config reads (``csv("sheet.csv")``) either: the config is taken when
outflow starts, before any job runs, so its value (and the jobs made from
it) would depend on whether that job had run before, and a run would not
do what a clean run does (``Globbed``).

One pass: each path is normalised and placed (``ownership.Places``, one
disk read per distinct parent directory) and claimed in one dict
(``ownership.Claims``).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any, cast

from outflowfile.errors import Problem, UserError
from outflowfile.graph.expand import Const, Job
from outflowfile.language import ownership
from outflowfile.language.model import Glob, Location, Outflowfile, Reader, Task
from outflowfile.language.ownership import Claim, Claims, Overlap, Places, Project, Refusal
from outflowfile.language.patterns import (
    PatternError,
    fields,
    format_pattern,
    glob_regex,
    root_field,
)

LOG = ""  # the name a job's log file is claimed under (output names are never empty)
SHOWN = 20  # problems told one by one; the rest are counted
LOGS_DIR = f"{ownership.OUTFLOW_DIR}/logs/"  # where outflow writes logs itself


@dataclass(frozen=True, slots=True)
class _Written:
    """What a task writes: for each output name (and LOG), its pattern,
    whether it is written as an absolute path, and where it is written."""

    patterns: dict[str, str]
    absolute: dict[str, bool]
    locs: dict[str, Location | None]
    shown: tuple[str, ...]  # the inputs that name a job in messages
    logged: bool  # a log: pattern

    @classmethod
    def of(cls, task: Task) -> _Written:
        patterns = {f.name: f.pattern for f in task.output_files}
        locs = {f.name: f.loc or task.loc for f in task.output_files}
        if task.log:
            patterns[LOG] = task.log
            locs[LOG] = task.directive_locs.get("log") or task.loc
        used: set[str] = set()
        for pattern in patterns.values():
            try:
                used.update(root_field(name) for name in fields(pattern))
            except PatternError:
                pass
        shown = tuple(p.name for p in task.params if p.name in used)
        absolute = {name: pattern.startswith("/") for name, pattern in patterns.items()}
        return cls(patterns, absolute, locs, shown, LOG in patterns)


@dataclass(frozen=True)
class Globbed:
    """A config entry whose value is taken from the files there when
    outflow starts: a ``glob()`` (what it may list) or a file it reads."""

    entry: str
    written: str  # as the Outflowfile says it: glob('data/{s}.txt'), csv('s.csv')
    loc: Location | None
    regex: re.Pattern[str]
    head: str  # the literal directory its files are in ('' when a wildcard is in it)
    verb: str = "lists"

    @classmethod
    def of(cls, entry: str, pattern: str, loc: Location | None) -> Globbed:
        spelled = posixpath.normpath(pattern)  # ``./a//b`` lists what ``a/b`` does
        head = spelled.rpartition("/")[0]
        head = "" if "{" in head or "}" in head else head + "/"
        return cls(entry, f"glob({pattern!r})", loc, glob_regex(spelled)[0], head)

    @classmethod
    def read(cls, entry: str, reader: Reader, workdir: str) -> Globbed:
        """A file the config reads: ``reader.path`` is relative to the file
        it is written in."""
        base = os.path.dirname(reader.loc.file) if reader.loc.file else workdir
        path = ownership.normalize(os.path.relpath(os.path.join(base, reader.path), workdir))
        head = path.rpartition("/")[0]
        return cls(entry, f"{reader.kind}({reader.path!r})", reader.loc,
                   re.compile(re.escape(path) + r"\Z"), head + "/" if head else "", "reads")

    def lists(self, where: str) -> str:
        """What of the file at ``where`` it may take: that file (when it
        matches) or the files in it (a directory holding those it takes);
        '' for neither."""
        if self.regex.match(where):
            return _shown(where)
        if self.head and self.head.startswith(where + "/"):
            return f"the files in {_shown(where)}"
        return ""


class Owned:
    """The paths of one run's jobs, claimed as the jobs learn them."""

    def __init__(self, workdir: str, outflowfile: str, included: Iterable[str] = (),
                 globs: Iterable[Globbed] = (), *, read: Iterable[str] = (),
                 cache: Iterable[str] = (), logs: bool = True) -> None:
        """``included``: the files the Outflowfile includes (``Outflowfile.included``);
        ``globs``: the config's ``glob()`` entries this run takes; ``read``: the
        files its config and options are read from; ``cache``: the files of the
        cache database (``project_of``); ``logs``: whether a task has a ``log:``
        (then no log may be a file another job reads)."""
        self.places = Places(workdir)
        self.project = project_of(self.places.real_root, outflowfile, included, read, cache)
        # Where jobs read and where logs are written, when there are logs: a
        # log is no job's output, so nothing else keeps it off another's input.
        self.reads: dict[str, tuple[Job, str]] | None = {} if logs else None
        self.logs: dict[str, Job] = {}
        self.claims = Claims()
        self.written: dict[str, _Written] = {}
        self.problems: list[Problem] = []
        self.more = 0  # problems found past SHOWN
        self.globs = tuple(globs)
        self.globs_told: set[str] = set()  # entries told already

    # -- checking ------------------------------------------------------------

    def check(self, nodes: Iterable[object]) -> bool:
        """Claim the paths of every job among ``nodes`` whose paths are bound
        (the others are to be told again when they are); whether that found
        a problem (``error`` tells them all)."""
        found = len(self.problems) + self.more
        place = self.places.place
        project = self.project
        refusal_of = ownership.refusal_of_made
        written = self.written
        deep = project.deep
        claims: list[Claim] = []
        for job in nodes:
            if type(job) is not Job:
                continue
            outputs = job.output_files
            if outputs is None:
                continue
            info = written.get(job.task.name)
            if info is None:
                info = written[job.task.name] = _Written.of(job.task)
            absolute = info.absolute
            first = len(claims)
            for name, path in outputs.items():
                where = place(path)
                # Most places are "dir/name": no refusal can apply (refusal_at).
                if where[0] in "./" or not ("/" in where and not deep):
                    refusal = refusal_of(where, project, absolute=absolute[name])
                    if refusal is not None:
                        self._refused(job, name, path, where, refusal)
                        continue
                claims.append((where, job, name))
            if info.logged:
                self._log(job, info, claims)
            inputs = job.input_files
            if inputs and self.reads is not None:
                self._read(job, inputs)
            if inputs and len(claims) > first:
                mine = claims[first:]
                for name, path in inputs.items():
                    where = place(path)
                    for out, _, made in mine:
                        # Its own input, or a directory holding it?
                        if where.startswith(out) and (
                            len(where) == len(out) or where[len(out)] == "/"
                        ):
                            self._own_input(job, made, name, path, len(where) != len(out))
        for overlap, claim, other in self.claims.add(claims):
            self._clash(overlap, claim, other)
        if self.globs:
            self._globbed(claims)
        return len(self.problems) + self.more > found

    def _globbed(self, claims: list[Claim]) -> None:
        """Tell each glob that lists a path a job writes (once per glob)."""
        for glob in self.globs:
            if glob.entry in self.globs_told:
                continue
            for where, job, name in claims:
                listed = glob.lists(where) if name != LOG else ""
                if listed:
                    self.globs_told.add(glob.entry)
                    self._glob_lists(glob, cast(Job, job), cast(str, name), listed)
                    break

    def _glob_lists(self, glob: Globbed, job: Job, name: str, listed: str) -> None:
        here, there = self._loc(job, name), glob.loc
        at = ""
        if here is not None:
            same_file = there is not None and here.file == there.file
            at = f", at line {here.line}" if same_file else f", at {here}"
        self._add(
            f"config entry '{glob.entry}' is {glob.written}, which {glob.verb} "
            f"{listed}, {_what(name)} of job {job_name(job, self)}{at}",
            glob.loc,
            "the config is taken from the files there when outflow starts, before any job "
            "runs, so its value would change once that job has run; take it from the files "
            "the job is made from, or have a task read or list what it made and use that "
            "task's value",
        )

    def _log(self, job: Job, info: _Written, claims: list[Claim]) -> None:
        try:
            path = format_pattern(info.patterns[LOG], job.params or {})
        except PatternError:
            return  # the run says why when the job starts (run/specs.py)
        where = self.places.place(path)
        refusal = ownership.refusal_of_made(where, self.project, absolute=info.absolute[LOG])
        if refusal is Refusal.IN_OUTFLOW_DIR and (where + "/").startswith(LOGS_DIR):
            refusal = None  # among outflow's own logs
        if refusal is not None:
            self._refused(job, LOG, path, where, refusal)
            return
        claims.append((where, job, LOG))
        if self.reads is not None:
            self.logs.setdefault(where, job)
            reader = self.reads.get(where)
            if reader is not None and reader[0] is not job:
                self._log_read(job, path, *reader)

    def _read(self, job: Job, inputs: dict[str, str]) -> None:
        """Note where ``job`` reads; a log written there by another job is refused."""
        assert self.reads is not None
        for name, path in inputs.items():
            where = self.places.place(path)
            self.reads.setdefault(where, (job, name))
            writer = self.logs.get(where)
            if writer is not None and writer is not job:
                self._log_read(writer, _path_of(writer, LOG), job, name)

    # -- telling -------------------------------------------------------------

    def _add(self, message: str, loc: Location | None, hint: str) -> None:
        if len(self.problems) < SHOWN:
            self.problems.append(Problem(message, loc, hint))
        else:
            self.more += 1

    def _refused(self, job: Job, name: str, path: str, where: str, refusal: Refusal) -> None:
        root = self.places.real_root
        lexical = ownership.relative_to(ownership.normalize(os.path.join(root, path)), root)
        via = f" ({where} through a symbolic link)" if lexical != where else ""
        self._add(
            f"{_what(name)} of job {job_name(job, self)} is {_shown(path)}{via}, "
            f"{ownership.reason(refusal, where, self.project)}",
            self._loc(job, name),
            _HINTS[refusal],
        )

    def _clash(self, overlap: Overlap, claim: Claim, other: Claim) -> None:
        job, name = cast(Job, claim[1]), cast(str, claim[2])
        them, their_name = cast(Job, other[1]), cast(str, other[2])
        path, other_path = _path_of(job, name), _path_of(them, their_name)
        here, there = self._loc(job, name), self._loc(them, their_name)
        at = ""
        if there is not None and there != here:
            same_file = here is not None and here.file == there.file
            at = f", at line {there.line}" if same_file else f", at {there}"
        theirs = f"{_what(their_name)} of job {job_name(them, self)} ({_shown(other_path)}{at})"
        mine = f"{_what(name)} of job {job_name(job, self)} is {_shown(path)}"
        if overlap is Overlap.SAME:
            message = f"{mine}, the same path as {theirs}"
            hint = ("every file must be made by one job only; make the path differ per job "
                    "(values such as 'a' and './a' name one path)")
            if job_name(job, self) == job_name(them, self):
                hint = ("the two jobs have one name: a map's source holds that item twice "
                        "(a sample sheet with two rows of one sample?); " + hint)
        elif overlap is Overlap.INSIDE:
            message = f"{mine}, inside {theirs}"
            hint = (f"outflow replaces {_shown(other_path)} whole when that job runs, and with it "
                    "what this one wrote; give each job its own files")
        else:
            message = f"{mine}, a directory that holds {theirs}"
            hint = (f"outflow replaces {_shown(path)} whole when this job runs, and with it what "
                    "the other one wrote; give each job its own files")
        self._add(message, here, hint)

    def _log_read(self, job: Job, path: str, reader: Job, name: str) -> None:
        read = (reader.input_files or {}).get(name, "")
        self._add(
            f"log of job {job_name(job, self)} is {_shown(path)}, the input '{name}' of job "
            f"{job_name(reader, self)} ({_shown(read)})",
            self._loc(job, LOG),
            "outflow writes a job's log over what is at its path, and no job reads another's "
            "log (it is no output); give the log its own path, or make what is read an output",
        )

    def _own_input(self, job: Job, out: str, name: str, path: str, holds: bool) -> None:
        assert job.output_files is not None
        out_path = _path_of(job, out)
        what = f"{_what(out)} of job {job_name(job, self)} is {_shown(out_path)}"
        if holds:
            message = f"{what}, a directory that holds its input '{name}' ({_shown(path)})"
        else:
            spelled = f" ({_shown(path)})" if path != out_path else ""
            message = f"{what}, also its input '{name}'{spelled}"
        self._add(
            message,
            self._loc(job, out),
            "outflow replaces a job's outputs when it runs, so the input would be lost; "
            "write the result to a new path",
        )

    def _loc(self, job: Job, name: str) -> Location | None:
        info = self.written.get(job.task.name)
        return info.locs.get(name) if info is not None else job.task.loc

    def error(self) -> UserError:
        """The problems found so far (``check`` said there are) as one error
        (exit status 2)."""
        assert self.problems, "no problem found"
        problems = list(self.problems)
        if self.more:
            problems.append(Problem(f"and {self.more} more problems with the paths of jobs"))
        return UserError(problems[0].message, problems=problems)


def globs_taken(model: Outflowfile, overrides: Container[str], workdir: str) -> list[Globbed]:
    """The config entries whose value this run takes from files, a
    ``glob()`` or a file read (not set on the command line)."""
    found = []
    for e in model.config:
        if e.name in overrides:
            continue
        if isinstance(e.default, Glob):
            found.append(Globbed.of(e.name, e.default.pattern, e.default.loc))
        elif isinstance(e.default, Reader):
            found.append(Globbed.read(e.name, e.default, workdir))
    return found


def project_of(root: str, outflowfile: str, included: Iterable[str] = (),
               read: Iterable[str] = (), cache: Iterable[str] = ()) -> Project:
    """The project in the directory ``root`` (symlinks resolved) as the rule
    knows it: each file (absolute, or relative to the current directory),
    relative to it when inside it, both as written (its directories' links
    resolved) and as what it leads to, when a link."""
    own = _inside(root, [outflowfile])
    names = tuple(dict.fromkeys((*ownership.OUTFLOWFILE_NAMES, *own)))
    config = (ownership.OPTIONS_FILE, *_inside(root, read))
    return Project(root, names, _inside(root, included), tuple(dict.fromkeys(config)),
                   _inside(root, cache))


def _inside(root: str, paths: Iterable[str]) -> tuple[str, ...]:
    """Each of ``paths`` relative to ``root`` when inside it, else absolute."""
    found: dict[str, None] = {}
    for path in paths:
        full = os.path.abspath(path)
        for place in (ownership.resolve_parents(full, root),
                      ownership.resolve_parents(full, root, whole=True)):
            found[place] = None
    return tuple(found)


def job_name(job: Job, owned: Owned | None = None) -> str:
    """A job as the messages name it: its task, and the values it is bound
    to that its output patterns use, ``write[name='../x']``."""
    info = owned.written.get(job.task.name) if owned is not None else None
    shown = info.shown if info is not None else _Written.of(job.task).shown
    params = job.params or {}
    parts = []
    for name in shown:
        if name in params:
            parts.append(f"{name}={_short(params[name])}")
    if not parts:  # none of them: the map items it is for
        parts = [f"{k}={_short(e.value)}" for k, e in job.bindings.items()
                 if type(e) is Const and e.origin == "item"]
    return f"{job.task.name}[{', '.join(parts)}]" if parts else job.task.name


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path_of(job: Job, name: str) -> str:
    if name == LOG:
        try:
            return format_pattern(job.task.log or "", job.params or {})
        except PatternError:
            return job.task.log or ""
    return (job.output_files or {}).get(name, "")


def _what(name: str) -> str:
    return "log" if name == LOG else f"output '{name}'"


def _shown(path: str) -> str:
    """A path in a message: as it is, unless blank, padded or holding a
    character a terminal does not show."""
    return path if path and path.strip() == path and path.isprintable() else repr(path)


_INSIDE = "outflow replaces a job's outputs when it runs; make the values give a path inside " \
    'the project, such as "results/out.txt"'
_HINTS = {
    Refusal.PROJECT: _INSIDE,
    Refusal.ABOVE_PROJECT: _INSIDE,
    Refusal.OUTSIDE: "keep outputs inside the project; to write elsewhere on purpose, "
    "write the pattern as an absolute path",
    Refusal.OUTFLOW_DIR: ".outflow/ holds outflow's cache and logs; "
    'write your outputs elsewhere, such as "results/"',
    Refusal.IN_OUTFLOW_DIR: ".outflow/ holds outflow's cache and logs; "
    'write your outputs elsewhere, such as "results/"',
    Refusal.OUTFLOWFILE: "outflow replaces a job's outputs when it runs; "
    "make the values give another name",
    Refusal.INCLUDED: "outflow replaces a job's outputs when it runs; "
    "make the values give another name",
    Refusal.CONFIG: "outflow reads it before any job runs, to know the workflow; "
    "make the values give another name",
    Refusal.CACHE: "outflow keeps what it knows of every job there; "
    "make the values give another name, or keep the cache elsewhere (--db)",
    Refusal.SYSTEM: "outflow moves a job's old outputs aside and replaces them; "
    "make the values give a file of your own",
    **dict.fromkeys(
        (Refusal.HOLDS_OUTFLOWFILE, Refusal.HOLDS_INCLUDED, Refusal.HOLDS_CONFIG,
         Refusal.HOLDS_CACHE),
        "outflow replaces a job's output directory whole when it runs, and the file with it; "
        'make the values give a directory of its own, such as "results/"'),
    Refusal.NUL: "a value that makes the path holds a NUL ('\\x00'): take it out of the "
    "config value or sample sheet it comes from",
}
