"""Semantic checks of a parsed Outflowfile.

``check(model)`` finds every problem it can (duplicate names, unknown types,
unknown stages, workflow cycles, data flow, file patterns, task bodies) and
raises them together as one ``OutflowfileError``, sorted by location.

The binding rules walked here are the ones the engine applies at run time.
A stage is evaluated with two scopes of names: ``prev``, the outputs of the
stage just before, and ``earlier``, everything visible before that (the
pipeline's own input, the outputs of earlier stages, enclosing scopes; a later
name shadows an earlier one). A task parameter binds to, in order: ``prev``,
``earlier``, the config entry of the same name, its default.

- ``a | b | c``: ``b`` gets prev = outputs of ``a`` and earlier = the pipe's
  earlier + the pipe's prev; ``c`` gets prev = outputs of ``b`` and earlier =
  that + outputs of ``a``. The pipe gives the outputs of its last stage.
- ``(b, c)``: each branch gets the same scopes; the outputs are the union,
  and a name produced by two branches is an error.
- a workflow named as a stage: its pipeline, evaluated in the same scopes.
- ``map(xs -> x) { inner }``: ``xs`` comes from prev, earlier or config and
  must be a list; ``x`` must be an input of the inner pipeline's first task.
  ``inner`` gets prev = {x: item} and earlier = earlier + prev + {x}. Each
  output of its last stage comes out as a list under the same name.
"""

from __future__ import annotations

import keyword
import posixpath
import string
from collections.abc import Iterator
from dataclasses import dataclass, field

from outflowfile.errors import ProblemList
from outflowfile.language import typerules
from outflowfile.language.model import (
    NO_DEFAULT,
    Branch,
    CallBody,
    ConfigEntry,
    FileSpec,
    Glob,
    Location,
    Map,
    ModelIndex,
    Outflowfile,
    Pipe,
    ShellBody,
    Stage,
    StageRef,
    Task,
    TypeRef,
    Workflow,
)
from outflowfile.language.patterns import PatternError, fields, glob_regex, root_field

MAP_OPTIONS = ("cpus", "mem", "time", "partition", "cluster", "retries", "local", "cache")
SHELL_NAMES = ("input", "output", "cpus", "log")
LIST_OF_STR = TypeRef("list", (TypeRef("str"),))

_FORMATTER = string.Formatter()


# ---------------------------------------------------------------------------
# Helpers the engine reuses


def build_index(model: Outflowfile) -> ModelIndex:
    """Name lookups where the first definition of a name wins (the checker
    reports the later ones)."""
    tasks: dict[str, Task] = {}
    workflows: dict[str, Workflow] = {}
    config: dict[str, ConfigEntry] = {}
    for t in model.tasks:
        tasks.setdefault(t.name, t)
    for w in model.workflows:
        workflows.setdefault(w.name, w)
    for c in model.config:
        config.setdefault(c.name, c)
    return ModelIndex(tasks=tasks, workflows=workflows, config=config)


def resolve(name: str, index: ModelIndex) -> Task | Workflow | None:
    """The task, else the workflow, called ``name``."""
    return index.tasks.get(name) or index.workflows.get(name)


def resolve_ref(ref: StageRef, index: ModelIndex) -> Task | Workflow | None:
    """The task or workflow a stage reference names, or None."""
    return resolve(ref.name, index)


def first_tasks(stage: Stage, index: ModelIndex) -> list[Task]:
    """The tasks that receive a stage's input: a task itself; the first tasks
    of a workflow's pipeline; of a pipe, its first stage's; of a branch, each
    branch's; of a map, its body's. Unknown names and workflow cycles give
    nothing."""
    return [e for e in _entry_points(stage, index, set(), into_maps=True) if isinstance(e, Task)]


def _entry_points(
    stage: Stage, index: ModelIndex, seen: set[str], into_maps: bool
) -> list[Task | Map]:
    if isinstance(stage, StageRef):
        target = resolve_ref(stage, index)
        if isinstance(target, Task):
            return [target]
        if isinstance(target, Workflow) and target.name not in seen:
            return _entry_points(target.pipeline, index, seen | {target.name}, into_maps)
        return []
    if isinstance(stage, Pipe):
        return _entry_points(stage.stages[0], index, seen, into_maps) if stage.stages else []
    if isinstance(stage, Branch):
        return [e for b in stage.branches for e in _entry_points(b, index, seen, into_maps)]
    if into_maps:
        return _entry_points(stage.body, index, seen, into_maps)
    return [stage]


def config_type(entry: ConfigEntry) -> TypeRef | None:
    """The type a config entry's value has: the declared one, else ``list[str]``
    for a ``glob(...)``, else None (any)."""
    if entry.type is not None:
        return entry.type
    if isinstance(entry.default, Glob):
        return LIST_OF_STR
    return None


def stage_loc(stage: Stage) -> Location | None:
    """Where a stage was written (a pipe or branch without one: its first part)."""
    if stage.loc is not None:
        return stage.loc
    if isinstance(stage, Pipe) and stage.stages:
        return stage_loc(stage.stages[0])
    if isinstance(stage, Branch) and stage.branches:
        return stage_loc(stage.branches[0])
    return None


def iter_stages(stage: Stage) -> Iterator[Stage]:
    """A stage and every stage inside it, depth first."""
    yield stage
    if isinstance(stage, Pipe):
        for s in stage.stages:
            yield from iter_stages(s)
    elif isinstance(stage, Branch):
        for b in stage.branches:
            yield from iter_stages(b)
    elif isinstance(stage, Map):
        yield from iter_stages(stage.body)


def normalize_pattern(pattern: str) -> str:
    """A pattern with its wildcards renamed, so that ``a/{x}.txt`` and
    ``./a/{y}.txt`` compare equal. Raises ``PatternError`` when malformed."""
    try:
        parts = []
        for literal, name, _, _ in _FORMATTER.parse(pattern):
            parts.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is not None:
                parts.append("{}")
    except ValueError as exc:
        raise PatternError(f"malformed pattern {pattern!r}: {exc}") from None
    return posixpath.normpath("".join(parts))


def escapes_project(pattern: str) -> bool:
    """True for a relative pattern whose ``..`` climb above the directory
    it starts in, each ``{field}`` counting as one directory level."""
    if posixpath.isabs(pattern):
        return False
    try:
        parts = []
        for literal, name, _, _ in _FORMATTER.parse(pattern):
            parts.append(literal)
            if name is not None:
                parts.append("_")
    except ValueError:
        return False  # a malformed pattern, reported by the pattern checks
    path = posixpath.normpath("".join(parts))
    return path == ".." or path.startswith("../")


# ---------------------------------------------------------------------------
# Symbolic scopes for the data-flow walk


@dataclass(frozen=True)
class Sym:
    """A name's declared type and where its value comes from (for messages)."""

    type: TypeRef | None
    source: str


@dataclass(frozen=True)
class Scope:
    """Names visible to a stage. ``open`` means an unknown stage fed in, so any
    name may be present: the checker then stays quiet instead of cascading."""

    names: dict[str, Sym] = field(default_factory=dict)
    open: bool = False

    def get(self, name: str) -> Sym | None:
        return self.names.get(name)

    def merged(self, later: Scope) -> Scope:
        return Scope({**self.names, **later.names}, self.open or later.open)


_OPEN = Scope(open=True)


def _quoted(names: list[str] | set[str]) -> str:
    return ", ".join(sorted(names))


def _did_you_mean(name: str, candidates: set[str] | list[str]) -> str | None:
    near = typerules.suggest(name, set(candidates))
    return f"did you mean '{near}'?" if near else None


def _join_hints(*parts: str | None) -> str | None:
    text = " ".join(p for p in parts if p)
    return text or None


# ---------------------------------------------------------------------------
# The checker


def check(model: Outflowfile) -> None:
    """Check a parsed model; raises ``OutflowfileError`` listing every problem."""
    checker = _Checker(model)
    checker.run()
    checker.problems.raise_if_any()


def check_target(model: Outflowfile, name: str) -> None:
    """Check the data flow of one task or workflow run on its own, as when it
    is named on the command line: every input must come from inside it, from
    config or from a default."""
    checker = _Checker(model)
    target = resolve(name, checker.index)
    if target is None:
        hint = _did_you_mean(name, set(checker.index.tasks) | set(checker.index.workflows))
        checker.add(f"unknown target '{name}'", None, hint)
    elif isinstance(target, Task):
        checker.flow.bind_task(target, StageRef(name, target.loc), Scope(), Scope())
    else:
        checker.flow.eval_stage(target.pipeline, Scope(), Scope())
    checker.problems.raise_if_any()


@dataclass
class _Checker:
    model: Outflowfile
    index: ModelIndex = field(init=False)
    problems: ProblemList = field(default_factory=ProblemList)
    seen: set[tuple[str, Location | None]] = field(default_factory=set)
    flow: _Flow = field(init=False)
    _refs: dict[str, list[StageRef]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = build_index(self.model)
        self.flow = _Flow(self)

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        # A sub-workflow is walked once per use; report each problem once.
        if (message, loc) in self.seen:
            return
        self.seen.add((message, loc))
        self.problems.add(message, loc, hint)

    def run(self) -> None:
        if not self.model.tasks and not self.model.workflows:
            self.add(
                "Outflowfile defines no task or workflow",
                Location(self.model.path, 1, 1),
                "declare one: task name(input: int) -> (output: int): ...",
            )
            return
        self.check_duplicate_names()
        self.check_config()
        for task in self.model.tasks:
            _TaskChecker(self, task).run()
        self.check_output_patterns()
        self.check_stages()
        self.check_cycles()
        self.check_flow()

    # -- 1. names ------------------------------------------------------------

    def check_duplicate_names(self) -> None:
        tasks: dict[str, Task] = {}
        for t in self.model.tasks:
            if t.name in tasks:
                self.add(
                    f"task '{t.name}' is defined twice",
                    t.loc,
                    f"first defined at {_line(tasks[t.name].loc)}",
                )
            else:
                tasks[t.name] = t
        workflows: dict[str, Workflow] = {}
        for w in self.model.workflows:
            if w.name in workflows:
                self.add(
                    f"workflow '{w.name}' is defined twice",
                    w.loc,
                    f"first defined at {_line(workflows[w.name].loc)}",
                )
                continue
            workflows[w.name] = w
            if w.name in tasks:
                self.add(
                    f"workflow '{w.name}' has the same name as a task",
                    w.loc,
                    f"task '{w.name}' is defined at {_line(tasks[w.name].loc)}; "
                    "a stage reference would be ambiguous, rename one of them",
                )
        entries: dict[str, ConfigEntry] = {}
        for c in self.model.config:
            if c.name in entries:
                self.add(
                    f"config key '{c.name}' is defined twice",
                    c.loc,
                    f"first defined at {_line(entries[c.name].loc)}",
                )
            else:
                entries[c.name] = c

    # -- 2. config types and defaults ------------------------------------------

    def check_config(self) -> None:
        for entry in self.model.config:
            known = True
            if entry.type is not None:
                known = self.check_type(entry.type, f"config '{entry.name}'", entry.loc)
            nested = _nested_glob(entry.default)
            if nested is not None:
                self.add(
                    "glob(...) must be the whole default of a config entry, not part of it",
                    nested.loc or entry.loc,
                    f'write {entry.name}: list = glob("...")',
                )
            elif isinstance(entry.default, Glob):
                self.check_glob(entry, known)
            elif known and entry.type is not None and entry.default is not NO_DEFAULT:
                if not typerules.matches(entry.default, entry.type):
                    self.add(
                        f"config '{entry.name}' is declared {entry.type} but its default "
                        f"is {typerules.describe(entry.default)}",
                        entry.loc,
                    )

    def check_glob(self, entry: ConfigEntry, type_known: bool) -> None:
        glob = entry.default
        loc = glob.loc or entry.loc
        try:
            fields(glob.pattern)
            _, names = glob_regex(glob.pattern)
        except PatternError as exc:
            self.add(str(exc), loc)
            return
        if len(names) != 1:
            self.add(
                f"glob({glob.pattern!r}) needs exactly one {{wildcard}}, found {len(names)}",
                loc,
                'for example: glob("data/{sample}.txt")',
            )
        if (
            type_known
            and entry.type is not None
            and not typerules.compatible(LIST_OF_STR, entry.type)
        ):
            self.add(
                f"config '{entry.name}' is declared {entry.type} but glob(...) gives a list of str",
                entry.loc,
                f"declare it as list: {entry.name}: list = glob(...)",
            )

    def check_type(self, t: TypeRef, what: str, loc: Location | None) -> bool:
        found = typerules.type_problem(t)
        if found is None:
            return True
        message, hint = found
        self.add(f"{what}: {message}", loc, hint)
        return False

    # -- 5. two tasks writing the same files ----------------------------------------

    def check_output_patterns(self) -> None:
        writers: dict[str, tuple[Task, FileSpec]] = {}
        defined: set[str] = set()
        for task in self.model.tasks:
            if task.name in defined:
                continue  # a duplicate definition, reported already
            defined.add(task.name)
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
            f"{_line(first_spec.loc or first_task.loc)})",
            where,
            "every file must be made by one task only",
        )

    # -- 3. stage references, map options, cycles -------------------------------------

    def check_stages(self) -> None:
        known = set(self.index.tasks) | set(self.index.workflows)
        for workflow in self.model.workflows:
            for stage in iter_stages(workflow.pipeline):
                if isinstance(stage, StageRef) and stage.name not in known:
                    self.report_unknown_stage(stage, known)
                elif isinstance(stage, Map):
                    self.check_map_options(stage)

    def report_unknown_stage(self, ref: StageRef, known: set[str]) -> None:
        hint = _did_you_mean(ref.name, known)
        if hint is None:
            hint = _join_hints(
                f"tasks: {_quoted(set(self.index.tasks))};" if self.index.tasks else None,
                f"workflows: {_quoted(set(self.index.workflows))}"
                if self.index.workflows
                else None,
            )
        self.add(f"unknown task or workflow '{ref.name}'", ref.loc, hint)

    def check_map_options(self, m: Map) -> None:
        seen: set[str] = set()
        for option in m.options:
            loc = option.loc or m.loc
            if option.name not in MAP_OPTIONS:
                self.add(
                    f"unknown map option '{option.name}'",
                    loc,
                    _join_hints(
                        _did_you_mean(option.name, list(MAP_OPTIONS)),
                        f"map options: {', '.join(MAP_OPTIONS)}",
                    ),
                )
            elif option.name in seen:
                self.add(f"map option '{option.name}' is given twice", loc)
            seen.add(option.name)

    def workflow_refs(self, workflow: Workflow) -> list[StageRef]:
        """References to workflows (not tasks) in a workflow's pipeline."""
        refs = self._refs.get(workflow.name)
        if refs is None:
            refs = [
                s
                for s in iter_stages(workflow.pipeline)
                if isinstance(s, StageRef)
                and s.name not in self.index.tasks
                and s.name in self.index.workflows
            ]
            self._refs[workflow.name] = refs
        return refs

    def check_cycles(self) -> None:
        done: set[str] = set()
        for workflow in self.index.workflows.values():
            if workflow.name not in done:
                self.find_cycles(workflow, [], done)

    def find_cycles(self, workflow: Workflow, path: list[str], done: set[str]) -> None:
        path.append(workflow.name)
        for ref in self.workflow_refs(workflow):
            if ref.name in path:
                cycle = path[path.index(ref.name) :] + [ref.name]
                self.add(
                    f"workflow cycle: {' -> '.join(cycle)}",
                    ref.loc,
                    "a workflow cannot use itself, directly or through others",
                )
            elif ref.name not in done:
                self.find_cycles(self.index.workflows[ref.name], path, done)
        path.pop()
        done.add(workflow.name)

    # -- 4. data flow --------------------------------------------------------

    def check_flow(self) -> None:
        """Walk every workflow that no other workflow uses, on its own; the
        others are walked where they are used (their inputs may come from
        there). Workflows reached from none of those (cycles) are walked alone."""
        used = {
            ref.name
            for w in self.index.workflows.values()
            for ref in self.workflow_refs(w)
            if ref.name != w.name
        }
        roots = [w for w in self.index.workflows.values() if w.name not in used]
        reached = self.reachable(roots)
        roots += [w for w in self.index.workflows.values() if w.name not in reached]
        for workflow in roots:
            self.flow.eval_stage(workflow.pipeline, Scope(), Scope())

    def reachable(self, roots: list[Workflow]) -> set[str]:
        reached: set[str] = set()
        todo = [w.name for w in roots]
        while todo:
            name = todo.pop()
            if name in reached:
                continue
            reached.add(name)
            todo.extend(r.name for r in self.workflow_refs(self.index.workflows[name]))
        return reached


def _line(loc: Location | None) -> str:
    return f"line {loc.line}" if loc is not None else "an earlier line"


# ---------------------------------------------------------------------------
# Per-task checks: names, types, bodies, patterns


@dataclass
class _TaskChecker:
    checker: _Checker
    task: Task

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        self.checker.add(message, loc or self.task.loc, hint)

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.task.params]

    def run(self) -> None:
        self.check_names()
        self.check_types()
        self.check_body()
        self.check_resources()
        self.check_file_patterns()
        if isinstance(self.task.body, ShellBody):
            self.check_shell_fields(self.task.body)

    # -- 1. duplicate inputs and outputs --

    def check_names(self) -> None:
        name = self.task.name
        seen: set[str] = set()
        for p in self.task.params:
            if p.name in seen:
                self.add(f"task '{name}' has two inputs named '{p.name}'", p.loc)
            seen.add(p.name)
        outputs: set[str] = set()
        for o in self.task.outputs:
            if o.name in outputs:
                self.add(f"task '{name}' has two outputs named '{o.name}'", o.loc)
            outputs.add(o.name)
        for spec in self.task.output_files:
            if spec.name in outputs:
                self.add(
                    f"task '{name}' has two outputs named '{spec.name}'",
                    spec.loc,
                    "value outputs and output files share one set of names",
                )
            outputs.add(spec.name)
        inputs: set[str] = set()
        for spec in self.task.input_files:
            if spec.name in inputs:
                self.add(f"task '{name}' has two input files named '{spec.name}'", spec.loc)
            elif spec.name in outputs:
                self.add(
                    f"task '{name}' input file '{spec.name}' has the same name as an output",
                    spec.loc,
                    "input files, output files and value outputs share one set of names",
                )
            inputs.add(spec.name)

    # -- 2. types --

    def check_types(self) -> None:
        name = self.task.name
        for p in self.task.params:
            what = f"input '{p.name}' of task '{name}'"
            found = p.default if isinstance(p.default, Glob) else _nested_glob(p.default)
            if found is not None:
                self.add(
                    f"{what}: glob(...) can only be the default of a config entry",
                    found.loc or p.loc,
                    f'declare it under config: ({p.name}: list = glob("...")); '
                    "the input binds to it by name",
                )
                continue
            if p.type is None:
                continue
            if not self.checker.check_type(p.type, what, p.loc or self.task.loc):
                continue
            if p.has_default and not typerules.matches(p.default, p.type):
                self.add(
                    f"{what} is declared {p.type} but its default is "
                    f"{typerules.describe(p.default)}",
                    p.loc,
                )
        for o in self.task.outputs:
            if o.type is not None:
                what = f"output '{o.name}' of task '{name}'"
                self.checker.check_type(o.type, what, o.loc or self.task.loc)

    # -- 7. bodies --

    def check_body(self) -> None:
        body = self.task.body
        if isinstance(body, ShellBody):
            for o in self.task.outputs:
                self.add(
                    f"shell task '{self.task.name}' declares value output '{o.name}': "
                    "shell tasks produce files; declare it under output:",
                    o.loc,
                    f'for example: output: {o.name} = "results/{o.name}.txt"',
                )
        elif isinstance(body, CallBody):
            self.check_call(body)

    def check_call(self, body: CallBody) -> None:
        loc = body.loc or self.task.directive_locs.get("call")
        written = f"{body.module}:{body.function}"
        if not body.module or not body.function:
            self.add(
                f"call: {written!r} needs a module and a function",
                loc,
                "write call: package.module:function",
            )
        elif not all(part.isidentifier() for part in body.module.split(".")):
            self.add(f"call: {body.module!r} is not a Python module name", loc)
        elif not body.function.isidentifier() or keyword.iskeyword(body.function):
            self.add(f"call: {body.function!r} is not a Python function name", loc)

    def check_resources(self) -> None:
        res = self.task.resources
        locs = self.task.directive_locs
        if res.cpus < 1:
            self.add(
                f"task '{self.task.name}' asks for {res.cpus} cpus",
                locs.get("cpus"),
                "cpus must be at least 1",
            )
        if res.retries < 0:
            self.add(
                f"task '{self.task.name}' has negative retries ({res.retries})", locs.get("retries")
            )

    # -- 6. patterns --

    def check_file_patterns(self) -> None:
        for spec in self.task.input_files:
            self.check_pattern(spec.pattern, "input pattern", spec.loc)
        for spec in self.task.output_files:
            self.check_pattern(spec.pattern, "output pattern", spec.loc)
            self.check_inside_project(spec.pattern, "output pattern", spec.loc)
        if self.task.log is not None:
            loc = self.task.directive_locs.get("log")
            self.check_pattern(self.task.log, "log pattern", loc)
            self.check_inside_project(self.task.log, "log pattern", loc)

    def check_inside_project(self, pattern: str, what: str, loc: Location | None) -> None:
        """A relative path that climbs out of the project with ``..`` is a
        slip more often than a wish; an absolute path says it on purpose."""
        if escapes_project(pattern):
            self.add(
                f"{what} {pattern!r} of task '{self.task.name}' writes outside the project "
                "directory",
                loc,
                "keep outputs inside the project; to write elsewhere on purpose, "
                "write it as an absolute path",
            )

    def pattern_fields(self, pattern: str, loc: Location | None) -> list[str] | None:
        try:
            return fields(pattern)
        except PatternError as exc:
            self.add(str(exc), loc, "write {{ and }} for literal braces")
            return None

    def check_pattern(self, pattern: str, what: str, loc: Location | None) -> None:
        names = self.pattern_fields(pattern, loc)
        for name in names or []:
            root = root_field(name)
            if root not in self.param_names:
                self.report_unknown_field(f"{what} {pattern!r}", root, loc)

    def inputs_note(self) -> str:
        if not self.param_names:
            return "(the task has no inputs)"
        return f"(inputs: {', '.join(self.param_names)})"

    def report_unknown_field(
        self, what: str, root: str, loc: Location | None, hint: str | None = None
    ) -> None:
        task = self.task.name
        if not root:
            self.add(
                f"{what} of task '{task}' has an empty {{}}",
                loc,
                "name an input of the task inside the braces; write {{ and }} for literal braces",
            )
            return
        self.add(
            f"{what} of task '{task}' names '{root}', which is not an input of the task "
            f"{self.inputs_note()}",
            loc,
            _join_hints(_did_you_mean(root, self.param_names), hint),
        )

    def check_shell_fields(self, body: ShellBody) -> None:
        loc = body.loc or self.task.directive_locs.get("shell")
        names = self.pattern_fields(body.command, loc)
        for name in names or []:
            root = root_field(name)
            if root in ("input", "output"):
                self.check_file_field(name, root, loc)
            elif root in self.param_names or root in ("cpus", "log"):
                if name != root:
                    self.add(
                        f"shell command of task '{self.task.name}' uses '{{{name}}}': "
                        "only whole values can be substituted",
                        loc,
                        f"write {{{root}}}",
                    )
            else:
                self.report_unknown_field(
                    "shell command",
                    root,
                    loc,
                    "a command can use the task's inputs, {input}, {input.NAME}, "
                    "{output}, {output.NAME}, {cpus} and {log}",
                )

    def check_file_field(self, name: str, root: str, loc: Location | None) -> None:
        if name == root:
            return
        specs = self.task.input_files if root == "input" else self.task.output_files
        declared = [s.name for s in specs]
        if not name.startswith(root + "."):
            self.add(
                f"shell command of task '{self.task.name}' uses '{{{name}}}'",
                loc,
                f"write {{{root}}} for all {root} files or {{{root}.NAME}} for one",
            )
            return
        file_name = name[len(root) + 1 :]
        if file_name in declared:
            return
        listed = f"{root} files: {', '.join(declared)}" if declared else f"no {root} files"
        self.add(
            f"shell command of task '{self.task.name}' names '{{{name}}}', but the task "
            f"declares no {root} file '{file_name}' ({listed})",
            loc,
            _did_you_mean(file_name, declared),
        )


# ---------------------------------------------------------------------------
# 4. Data flow


@dataclass
class _Flow:
    checker: _Checker
    stack: list[str] = field(default_factory=list)  # workflows being walked

    @property
    def index(self) -> ModelIndex:
        return self.checker.index

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        self.checker.add(message, loc, hint)

    def eval_stage(self, stage: Stage, prev: Scope, earlier: Scope) -> Scope:
        """The outputs of ``stage`` given the two scopes; reports problems."""
        if isinstance(stage, StageRef):
            return self.eval_ref(stage, prev, earlier)
        if isinstance(stage, Pipe):
            return self.eval_pipe(stage, prev, earlier)
        if isinstance(stage, Branch):
            return self.eval_branch(stage, prev, earlier)
        return self.eval_map(stage, prev, earlier)

    def eval_ref(self, ref: StageRef, prev: Scope, earlier: Scope) -> Scope:
        target = resolve_ref(ref, self.index)
        if isinstance(target, Task):
            self.bind_task(target, ref, prev, earlier)
            return self.task_outputs(target)
        if target is None or target.name in self.stack:
            return _OPEN  # unknown name or cycle: reported elsewhere
        self.stack.append(target.name)
        try:
            return self.eval_stage(target.pipeline, prev, earlier)
        finally:
            self.stack.pop()

    def eval_pipe(self, pipe: Pipe, prev: Scope, earlier: Scope) -> Scope:
        for stage in pipe.stages:
            out = self.eval_stage(stage, prev, earlier)
            earlier = earlier.merged(prev)
            prev = out
        return prev

    def eval_branch(self, branch: Branch, prev: Scope, earlier: Scope) -> Scope:
        names: dict[str, Sym] = {}
        is_open = False
        for b in branch.branches:
            out = self.eval_stage(b, prev, earlier)
            is_open = is_open or out.open
            for name, sym in out.names.items():
                if name in names:
                    self.add(
                        f"output '{name}' comes from two branches: from {names[name].source} "
                        f"and from {sym.source}",
                        stage_loc(b) or branch.loc,
                        "the stage after a branch receives the outputs of all branches; "
                        "rename one of them",
                    )
                else:
                    names[name] = sym
        return Scope(names, is_open)

    def task_outputs(self, task: Task) -> Scope:
        source = f"'{task.name}'"
        names = {o.name: Sym(_known(o.type), source) for o in task.outputs}
        for spec in task.output_files:
            names.setdefault(spec.name, Sym(TypeRef("path"), source))
        return Scope(names)

    def config_sym(self, name: str) -> Sym | None:
        entry = self.index.config.get(name)
        if entry is None:
            return None
        return Sym(_known(config_type(entry)), f"config entry '{name}'")

    def lookup(self, name: str, prev: Scope, earlier: Scope) -> Sym | None:
        return prev.get(name) or earlier.get(name) or self.config_sym(name)

    def available(self, prev: Scope, earlier: Scope) -> str:
        names = set(prev.names) | set(earlier.names) | set(self.index.config)
        return f"available here: {_quoted(names)}" if names else "nothing is available here"

    def bind_task(self, task: Task, ref: StageRef, prev: Scope, earlier: Scope) -> None:
        for p in task.params:
            sym = self.lookup(p.name, prev, earlier)
            if sym is None:
                if not p.has_default and not prev.open and not earlier.open:
                    self.report_unbound(task, p.name, ref, prev, earlier)
                continue
            expected = _known(p.type)
            if not typerules.compatible(sym.type, expected):
                self.add(
                    f"task '{task.name}' input '{p.name}' expects {expected} but receives "
                    f"{sym.type} from {sym.source}",
                    ref.loc,
                )

    def report_unbound(
        self, task: Task, name: str, ref: StageRef, prev: Scope, earlier: Scope
    ) -> None:
        candidates = set(prev.names) | set(earlier.names) | set(self.index.config)
        self.add(
            f"task '{task.name}' input '{name}' is not provided: no upstream output, "
            "map item, config value or default has that name",
            ref.loc,
            _join_hints(_did_you_mean(name, candidates), self.available(prev, earlier)),
        )

    # -- maps --

    def eval_map(self, m: Map, prev: Scope, earlier: Scope) -> Scope:
        if m.source is None or m.target is None:
            chosen = self.short_map(m, prev)
            if chosen is None:
                out = self.eval_stage(m.body, _OPEN, earlier.merged(prev))
                return self.collect(out)
            source, target = chosen
        else:
            source, target = m.source, m.target
            if not self.check_map_target(m, target):
                out = self.eval_stage(m.body, _OPEN, earlier.merged(prev))
                return self.collect(out)
        item_type = self.check_map_source(m, source, prev, earlier)
        item = Scope({target: Sym(item_type, f"the items of '{source}'")})
        out = self.eval_stage(m.body, item, earlier.merged(prev).merged(item))
        return self.collect(out)

    def collect(self, out: Scope) -> Scope:
        names = {
            name: Sym(_list_of(sym.type), f"{sym.source} through a map")
            for name, sym in out.names.items()
        }
        return Scope(names, out.open)

    def check_map_source(self, m: Map, source: str, prev: Scope, earlier: Scope) -> TypeRef | None:
        sym = self.lookup(source, prev, earlier)
        if sym is None:
            if not prev.open and not earlier.open:
                candidates = set(prev.names) | set(earlier.names) | set(self.index.config)
                self.add(
                    f"map source '{source}' is not an output of an earlier stage or a config entry",
                    m.loc,
                    _join_hints(_did_you_mean(source, candidates), self.available(prev, earlier)),
                )
            return None
        if sym.type is not None and sym.type.name not in ("list", "any"):
            self.add(
                f"map source '{source}' is {sym.type}, not a list",
                m.loc,
                f"'{source}' comes from {sym.source}; a map runs its body once per item of a list",
            )
            return None
        return typerules.element_type(sym.type)

    def check_map_target(self, m: Map, target: str) -> bool:
        """Is ``target`` an input of the body's first task(s)? Reports it if not."""
        entries = _entry_points(m.body, self.index, set(self.stack), into_maps=False)
        for entry in entries:
            if isinstance(entry, Map) and entry.source in (target, None):
                return True
            if isinstance(entry, Task) and entry.param(target) is not None:
                return True
        tasks = [e for e in entries if isinstance(e, Task)]
        if not tasks:
            return True
        described = " or ".join(
            f"'{t.name}' (its inputs: {', '.join(p.name for p in t.params) or 'none'})"
            for t in tasks
        )
        candidates = {p.name for t in tasks for p in t.params}
        self.add(
            f"map target '{target}' is not an input of {described}",
            m.loc,
            _join_hints(
                _did_you_mean(target, candidates),
                "the target names the input of the map's first task that receives each item",
            ),
        )
        return False

    def short_map(self, m: Map, prev: Scope) -> tuple[str, str] | None:
        """``(source, target)`` of ``map { ... }``, or None after reporting why
        it cannot be inferred (or when an unknown stage hides it)."""
        hint = "write map(source -> target) { ... }"
        entries = _entry_points(m.body, self.index, set(self.stack), into_maps=False)
        tasks = [e for e in entries if isinstance(e, Task)]
        if prev.open or not entries:
            return None
        if len(tasks) != len(entries):
            self.add(
                "map { ... } without (source -> target) needs a task, not a map, first in its body",
                m.loc,
                hint,
            )
            return None
        if len(prev.names) != 1:
            listed = f" ({_quoted(set(prev.names))})" if prev.names else ""
            self.add(
                "map { ... } without (source -> target) needs exactly one output from the "
                f"stage before it, but there are {len(prev.names)}{listed}",
                m.loc,
                hint,
            )
            return None
        for t in tasks:
            if len(t.params) != 1:
                self.add(
                    "map { ... } without (source -> target) needs its first task to have "
                    f"exactly one input, but '{t.name}' has {len(t.params)}"
                    + (f" ({', '.join(p.name for p in t.params)})" if t.params else ""),
                    m.loc,
                    hint,
                )
                return None
        targets = {t.params[0].name for t in tasks}
        if len(targets) != 1:
            self.add(
                "map { ... } without (source -> target) needs its first tasks to share "
                f"one input, but they take {_quoted(targets)}",
                m.loc,
                hint,
            )
            return None
        return next(iter(prev.names)), targets.pop()


def _nested_glob(value: object) -> Glob | None:
    """A ``glob(...)`` inside a container value (a whole-value glob is not nested)."""
    if isinstance(value, dict):
        items: list[object] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return None
    for item in items:
        if isinstance(item, Glob):
            return item
        found = _nested_glob(item)
        if found is not None:
            return found
    return None


def _known(t: TypeRef | None) -> TypeRef | None:
    """A declared type, or None when it is invalid (already reported): an
    unknown type must not cause a second, confusing mismatch error."""
    if t is None or typerules.type_problem(t) is not None:
        return None
    return t


def _list_of(t: TypeRef | None) -> TypeRef:
    if t is None or t.name == "any":
        return TypeRef("list")
    return TypeRef("list", (t,))
