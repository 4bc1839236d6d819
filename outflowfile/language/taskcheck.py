"""Per-task checks: names, types, bodies, resources, file patterns and the
fields of a shell command. Part of ``outflowfile.language.check``."""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field

from outflowfile.language import typerules
from outflowfile.language.codefiles import SCRIPT_RUNNERS, script_runner
from outflowfile.language.defaultcheck import check_computed
from outflowfile.language.environments import MIXED_HINT, mixed_with_container
from outflowfile.language.expressions import Expression
from outflowfile.language.findings import Findings, did_you_mean, join_hints
from outflowfile.language.model import (
    CallBody,
    Glob,
    Location,
    ScriptBody,
    ShellBody,
    Task,
    TypeRef,
)
from outflowfile.language.patterns import PatternError, fields, root_field


@dataclass
class TaskChecker:
    """The checks of one task on its own: names, types, body, resources, patterns."""

    findings: Findings
    task: Task
    # The config entries' types: a computed default may use them.
    config: Mapping[str, TypeRef | None] = field(default_factory=dict)

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        self.findings.add(message, loc or self.task.loc, hint)

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
            found = p.default if isinstance(p.default, Glob) else nested_glob(p.default)
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
            if not self.findings.check_type(p.type, what, p.loc or self.task.loc):
                continue
            if isinstance(p.default, Expression):
                continue  # check_computed
            if p.has_default and not typerules.matches(p.default, p.type):
                self.add(
                    f"{what} is declared {p.type} but its default is "
                    f"{typerules.describe(p.default)}",
                    p.loc,
                )
        for o in self.task.outputs:
            if o.type is not None:
                what = f"output '{o.name}' of task '{name}'"
                self.findings.check_type(o.type, what, o.loc or self.task.loc)
        check_computed(self.findings, self.task, self.config)

    # -- 7. bodies --

    def check_body(self) -> None:
        body = self.task.body
        if isinstance(body, (ShellBody, ScriptBody)):
            kind = "shell" if isinstance(body, ShellBody) else "script"
            for o in self.task.outputs:
                self.add(
                    f"{kind} task '{self.task.name}' declares value output '{o.name}': "
                    f"{kind} tasks produce files; declare it under output:",
                    o.loc,
                    f'for example: output: {o.name} = "results/{o.name}.txt"',
                )
        if isinstance(body, CallBody):
            self.check_call(body)
        elif isinstance(body, ScriptBody) and script_runner(body.path) is None:
            suffixes = ", ".join(SCRIPT_RUNNERS)
            self.add(
                f"script '{body.path}' of task '{self.task.name}': outflow runs scripts "
                f"ending in {suffixes}",
                body.loc or self.task.directive_locs.get("script"),
                "a .py script runs with outflow's Python, .R with Rscript, .sh with bash; "
                'run any other program from shell: "perl {input.script} ..."',
            )

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
        mixed = mixed_with_container(res.container, res.venv, res.envmodules)
        if mixed is not None:
            self.add(f"task '{self.task.name}': {mixed}",
                     locs.get("venv") or locs.get("envmodules") or locs.get("container"),
                     MIXED_HINT)
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
            # where it may write: outflowfile.language.outputcheck
        if self.task.log is not None:
            loc = self.task.directive_locs.get("log")
            self.check_pattern(self.task.log, "log pattern", loc)
            # where it may write, as an output: outflowfile.language.outputcheck

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
                hint = None
                if root in self.config:  # a config entry: bound through an input
                    hint = (f"'{root}' is a config entry: declare an input '{root}' to use it, "
                            f"or compute the value, for example an input "
                            f"x: str = {name}")
                self.report_unknown_field(f"{what} {pattern!r}", root, loc, hint)

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
            join_hints(did_you_mean(root, self.param_names), hint),
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
            did_you_mean(file_name, declared),
        )


def nested_glob(value: object) -> Glob | None:
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
        found = nested_glob(item)
        if found is not None:
            return found
    return None
