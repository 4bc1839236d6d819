"""Semantic checks of a parsed Outflowfile.

``check(model)`` finds every problem it can (duplicate names, unknown types,
unknown stages, workflow cycles, data flow, file patterns, task bodies) and
raises them together as one ``OutflowfileError``, sorted by location.

The checks of each task on its own are in ``outflowfile.language.taskcheck``;
the data flow (the binding rule of ``outflowfile.language.scopes``, which the
engine applies at run time) in ``outflowfile.language.flowcheck``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from outflowfile.language import typerules
from outflowfile.language.codecheck import check_code
from outflowfile.language.config import LIST_OF_STR, TABLE, config_type
from outflowfile.language.directives import MAP_OPTIONS
from outflowfile.language.environments import MIXED_HINT, mixed_with_container
from outflowfile.language.filecycles import check_file_cycles
from outflowfile.language.findings import Findings, did_you_mean, join_hints, line_of, quoted
from outflowfile.language.flowcheck import FlowCheck, Scope
from outflowfile.language.itemcheck import check_items
from outflowfile.language.model import (
    NO_DEFAULT,
    ConfigEntry,
    Glob,
    Location,
    Map,
    ModelIndex,
    Outflowfile,
    Reader,
    StageRef,
    Task,
    Workflow,
)
from outflowfile.language.outputcheck import OutputCheck
from outflowfile.language.patterns import PatternError, fields, glob_regex
from outflowfile.language.stages import build_index, iter_stages, resolve, stage_tasks
from outflowfile.language.tables import TABLE_READERS
from outflowfile.language.taskcheck import TaskChecker, nested_glob


def check(model: Outflowfile, project: Path | None = None) -> None:
    """Check a parsed model; raises ``OutflowfileError`` listing every problem.
    With the ``project`` directory, the code ``call:`` and ``script:`` name
    must be found too."""
    checker = _Checker(model)
    checker.run()
    if project is not None:
        check_code(checker.findings, checker.model.tasks, project, Path(model.path))
    checker.findings.problems.raise_if_any()


def check_target(model: Outflowfile, name: str) -> None:
    """Check the data flow of one task or workflow run on its own, as when it
    is named on the command line: every input must come from inside it, from
    config or from a default."""
    checker = _Checker(model)
    target = resolve(name, checker.index)
    if target is None:
        hint = did_you_mean(name, set(checker.index.tasks) | set(checker.index.workflows))
        checker.add(f"unknown target '{name}'", None, hint)
    elif isinstance(target, Task):
        checker.flow.bind_task(target, StageRef(name, target.loc), Scope(), Scope())
    else:
        checker.flow.walk(target.pipeline, Scope(), Scope())
    checker.findings.problems.raise_if_any()


@dataclass
class _Checker:
    """The checks of the file as a whole; each task's own checks are
    ``TaskChecker``'s, the data flow ``FlowCheck``'s."""

    model: Outflowfile
    index: ModelIndex = field(init=False)
    findings: Findings = field(default_factory=Findings)
    flow: FlowCheck = field(init=False)
    _refs: dict[str, list[StageRef]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = build_index(self.model)
        self.flow = FlowCheck(self.findings, self.index)

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        self.findings.add(message, loc, hint)

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
        config = {c.name: config_type(c) for c in self.model.config}
        for task in self.model.tasks:
            TaskChecker(self.findings, task, config).run()
        OutputCheck(self.findings, self.model).run()
        check_file_cycles(self.findings, self.model.tasks)
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
                    f"first defined at {line_of(tasks[t.name].loc, t.loc)}",
                )
            else:
                tasks[t.name] = t
        workflows: dict[str, Workflow] = {}
        for w in self.model.workflows:
            if w.name in workflows:
                self.add(
                    f"workflow '{w.name}' is defined twice",
                    w.loc,
                    f"first defined at {line_of(workflows[w.name].loc, w.loc)}",
                )
                continue
            workflows[w.name] = w
            if w.name in tasks:
                self.add(
                    f"workflow '{w.name}' has the same name as a task",
                    w.loc,
                    f"task '{w.name}' is defined at {line_of(tasks[w.name].loc, w.loc)}; "
                    "a stage reference would be ambiguous, rename one of them",
                )
        entries: dict[str, ConfigEntry] = {}
        for c in self.model.config:
            if c.name in entries:
                self.add(
                    f"config key '{c.name}' is defined twice",
                    c.loc,
                    f"first defined at {line_of(entries[c.name].loc, c.loc)}",
                )
            else:
                entries[c.name] = c

    # -- 2. config types and defaults ------------------------------------------

    def check_config(self) -> None:
        for entry in self.model.config:
            known = True
            if entry.type is not None:
                known = self.findings.check_type(entry.type, f"config '{entry.name}'", entry.loc)
            nested = nested_glob(entry.default)
            if nested is not None:
                self.add(
                    "glob(...) must be the whole default of a config entry, not part of it",
                    nested.loc or entry.loc,
                    f'write {entry.name}: list = glob("...")',
                )
            elif isinstance(entry.default, Glob):
                self.check_glob(entry, known)
            elif isinstance(entry.default, Reader):
                self.check_reader(entry, known)
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
        if not names:
            self.add(
                f"glob({glob.pattern!r}) needs a {{wildcard}}",
                loc,
                'for example: glob("data/{sample}.txt"), or glob("data/{sample}_{unit}.fq") '
                "for a table",
            )
        gives, kind = (LIST_OF_STR, "a list of str") if len(names) <= 1 else (TABLE, "a table")
        if (
            type_known
            and entry.type is not None
            and not typerules.compatible(gives, entry.type)
        ):
            self.add(
                f"config '{entry.name}' is declared {entry.type} but glob(...) gives {kind}",
                entry.loc,
                f"declare it as {gives.name}: {entry.name}: {gives.name} = glob(...)",
            )

    def check_reader(self, entry: ConfigEntry, type_known: bool) -> None:
        reader = entry.default
        if reader.kind not in TABLE_READERS or not type_known or entry.type is None:
            return
        if not typerules.compatible(TABLE, entry.type):
            self.add(
                f"config '{entry.name}' is declared {entry.type} but {reader.kind}(...) gives "
                "a table",
                entry.loc,
                f"declare it as table: {entry.name}: table = {reader.kind}(...)",
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
        hint = did_you_mean(ref.name, known)
        if hint is None:
            hint = join_hints(
                f"tasks: {quoted(set(self.index.tasks))};" if self.index.tasks else None,
                f"workflows: {quoted(set(self.index.workflows))}" if self.index.workflows else None,
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
                    join_hints(
                        did_you_mean(option.name, list(MAP_OPTIONS)),
                        f"map options: {', '.join(MAP_OPTIONS)}",
                    ),
                )
            elif option.name in seen:
                self.add(f"map option '{option.name}' is given twice", loc)
            seen.add(option.name)
        self.check_map_environments(m)

    def check_map_environments(self, m: Map) -> None:
        """An image and a venv or modules meeting on one task through map
        options (the task's own directives win, as at run time)."""
        given = {o.name: o for o in m.options if o.name in ("container", "venv", "envmodules")}
        if not given:
            return
        for name in sorted(stage_tasks(m.body, self.index)):
            task = self.index.tasks[name]
            res, own = task.resources, task.directive_locs
            values = {n: (getattr(res, n) if n in own or n not in given else given[n].value)
                      for n in ("container", "venv", "envmodules")}
            mixed = mixed_with_container(**values)
            if mixed is not None:
                option = given.get("venv") or given.get("envmodules") or given["container"]
                self.add(f"task '{name}' in this map: {mixed} (through the map option "
                         f"{option.name}=)", option.loc or m.loc, MIXED_HINT)

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
        roots = self.root_workflows()
        for workflow in roots:
            self.flow.walk(workflow.pipeline, Scope(), Scope())
        check_items(self.findings, self.index, [w.pipeline for w in roots])

    def root_workflows(self) -> list[Workflow]:
        """The workflows no other uses, then those reached from none of them."""
        used = {
            ref.name
            for w in self.index.workflows.values()
            for ref in self.workflow_refs(w)
            if ref.name != w.name
        }
        roots = [w for w in self.index.workflows.values() if w.name not in used]
        reached = self.reachable(roots)
        roots += [w for w in self.index.workflows.values() if w.name not in reached]
        return roots

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
