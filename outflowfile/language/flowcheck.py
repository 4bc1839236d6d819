"""The data-flow check: every task input bound, with a compatible type.

Walks each workflow with the binding rule of ``outflowfile.language.scopes``
(the rule expansion applies at run time) on symbolic scopes: each name's
declared type and where it comes from. Part of ``outflowfile.language.check``.

- ``(b, c)``: a name produced by two branches is an error.
- ``map(xs -> x) { inner }``: ``xs`` must be a list; ``x`` must be an input of
  the inner pipeline's first task; ``map { inner }`` infers both from the one
  output before it and the one input of the body's first task. An
  ``as (new = name)`` clause must name what the body makes, each new name once.
- ``if (cond) { a } else { b }``: every name the condition reads must be
  bound where the condition stands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from outflowfile.language import typerules
from outflowfile.language.config import config_type
from outflowfile.language.expressions import infer_type
from outflowfile.language.findings import Findings, did_you_mean, join_hints, quoted
from outflowfile.language.model import (
    Branch,
    Choice,
    Location,
    Map,
    ModelIndex,
    Stage,
    StageRef,
    Task,
    TypeRef,
)
from outflowfile.language.scopes import ScopeWalk
from outflowfile.language.stages import choice_sides, entry_points, resolve_ref, stage_loc


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


@dataclass
class FlowCheck(ScopeWalk[Scope, Sym]):
    """Walks workflows with the binding rule of ``outflowfile.language.scopes``
    on declared types, reporting inputs nothing provides, type mismatches,
    names two branches produce and maps that cannot be bound."""

    findings: Findings
    index: ModelIndex
    stack: list[str] = field(default_factory=list)  # workflows being walked
    # For each map being walked: the names two branches of its body make,
    # with where the second one is (``walk_branch``).
    doubled: list[dict[str, tuple[Stage, str, str]]] = field(default_factory=list)

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        self.findings.add(message, loc, hint)

    def extend(self, earlier: Scope, later: Scope) -> Scope:
        return earlier.merged(later)

    def walk_ref(self, ref: StageRef, prev: Scope, earlier: Scope) -> Scope:
        target = resolve_ref(ref, self.index)
        if isinstance(target, Task):
            self.bind_task(target, ref, prev, earlier)
            return self.task_outputs(target)
        if target is None or target.name in self.stack:
            return _OPEN  # unknown name or cycle: reported elsewhere
        self.stack.append(target.name)
        try:
            return self.walk(target.pipeline, prev, earlier)
        finally:
            self.stack.pop()

    def join_branches(self, branch: Branch, parts: Iterator[tuple[Stage, Scope]]) -> Scope:
        names: dict[str, Sym] = {}
        is_open = False
        for b, out in parts:
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

    def from_config(self, name: str) -> Sym | None:
        entry = self.index.config.get(name)
        if entry is None:
            return None
        return Sym(_known(config_type(entry)), f"config entry '{name}'")

    def available(self, prev: Scope, earlier: Scope) -> str:
        names = set(prev.names) | set(earlier.names) | set(self.index.config)
        return f"available here: {quoted(names)}" if names else "nothing is available here"

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
                    _sheet_hint(p.name, expected) if sym.source.startswith("column") else None,
                )

    def report_unbound(
        self, task: Task, name: str, ref: StageRef, prev: Scope, earlier: Scope
    ) -> None:
        candidates = set(prev.names) | set(earlier.names) | set(self.index.config)
        self.add(
            f"task '{task.name}' input '{name}' is not provided: no upstream output, "
            "map item, config value or default has that name",
            ref.loc,
            join_hints(did_you_mean(name, candidates), self.available(prev, earlier)),
        )

    # -- maps --

    def walk_map(self, m: Map, prev: Scope, earlier: Scope) -> Scope:
        inherited = self.map_scope(prev, earlier)
        if m.over_rows and m.source is not None:
            rows = self.row_scope(m, prev, earlier)
            self.doubled.append({})  # taken by passed_on, at the end of walk_item
            return self.collect(self.walk_item(m, inherited, rows))
        names = self.map_names(m, prev)
        self.doubled.append({})  # taken by passed_on, at the end of walk_item
        if names is None:  # no item to bind (reported, or hidden by an unknown stage)
            return self.collect(self.walk_item(m, inherited, _OPEN))
        source, target = names
        item_type = self.check_map_source(m, source, prev, earlier)
        item = Scope({target: Sym(item_type, f"the items of '{source}'")})
        return self.collect(self.walk_item(m, inherited, item))

    def passed_on(self, m: Map, provided: Scope) -> Scope:
        doubled = self.doubled.pop()
        if m.outputs is not None:
            self.check_map_outputs(m, provided)
        passed = provided.names if m.outputs is None else {o.source for o in m.outputs}
        for name, (part, first, second) in doubled.items():
            if name in passed:
                self.add(
                    f"map passes on '{name}', which two branches of its body make: "
                    f"{first} and {second}",
                    stage_loc(part) or m.loc,
                    "branches run side by side, so neither is the later one; rename one, "
                    "or pass on what you mean with as (...)",
                )
        return super().passed_on(m, provided)

    def walk_branch(self, branch: Branch, prev: Scope, earlier: Scope) -> Scope:
        """As ``ScopeWalk.walk_branch``; inside a map's body, also notes the
        names two of its parts make (not only their last stages, which
        ``join_branches`` reports): which would the map pass on?"""
        made = getattr(self, "_made", None)
        if made is None or not self.doubled:
            return super().walk_branch(branch, prev, earlier)
        first_by: dict[str, Sym] = {}
        finals: dict[str, int] = {}

        def parts() -> Iterator[tuple[Stage, Scope]]:
            for part in branch.branches:
                start = len(made)
                out = self.walk(part, prev, earlier)
                for scope in made[start:]:
                    for name, sym in scope.names.items():
                        seen = first_by.setdefault(name, sym)
                        final_twice = name in out.names and finals.get(name, 0) > 0
                        if seen.source != sym.source and not final_twice:
                            self.doubled[-1].setdefault(name, (part, seen.source, sym.source))
                for name in out.names:
                    finals[name] = finals.get(name, 0) + 1
                yield part, out

        return self.join_branches(branch, parts())

    def check_map_outputs(self, m: Map, provided: Scope) -> None:
        """Each name of ``as (...)`` is made in the body, each new name once."""
        given: set[str] = set()
        for out in m.outputs or []:
            if out.name in given:
                self.add(f"map passes on '{out.name}' twice", out.loc, "give each name once")
            given.add(out.name)
            if out.source not in provided.names and not provided.open:
                made = set(provided.names)
                self.add(
                    f"map passes on '{out.source}', but no stage of its body makes it",
                    out.source_loc,
                    join_hints(
                        did_you_mean(out.source, made),
                        f"its body makes: {quoted(made)}" if made else None,
                    ),
                )

    def renamed(self, provided: Scope, pairs: list[tuple[str, str]]) -> Scope:
        names = {new: provided.names[old] for new, old in pairs if old in provided.names}
        return Scope(names, provided.open)

    # -- run-time conditions --

    def walk_choice(self, choice: Choice, prev: Scope, earlier: Scope) -> Scope:
        types: dict[str, TypeRef | None] = {}
        for name in choice.condition.uses():
            sym = self.lookup(name.name, prev, earlier)
            types[name.name] = None if sym is None else sym.type
            if sym is None and not (prev.open or earlier.open):
                candidates = set(prev.names) | set(earlier.names) | set(self.index.config)
                self.add(
                    f"condition reads '{name.name}', which is not an output of an earlier "
                    "stage or a config entry",
                    name.loc or choice.loc,
                    join_hints(did_you_mean(name.name, candidates), self.available(prev, earlier)),
                )
        # The type checks of a computed default (language/expressions.py).
        for message, loc, hint in infer_type(choice.condition, types)[1]:
            self.add(f"if ({choice.text}): {message}", loc, hint)
        sides = [self.walk_apart(side, prev, earlier) for side in choice_sides(choice)]
        if len(sides) == 1:
            return Scope(open=sides[0].open)
        first, second = sides
        names = {n: sym for n, sym in first.names.items() if n in second.names}
        return Scope(names, first.open or second.open)

    def row_scope(self, m: Map, prev: Scope, earlier: Scope) -> Scope:
        """What ``map(rows -> (a, b))`` binds for each row: the columns it
        names (each must be an input of the body's first task; a sheet's
        values are str), or for ``map(rows -> *)`` columns unknown until the
        table is read (an open scope)."""
        assert m.source is not None
        row = self.check_map_source(m, m.source, prev, earlier)
        if row is not None and row.name not in ("dict", "any"):
            self.add(f"map({m.source} -> {m.target}): the items of '{m.source}' are {row}, "
                     "not table rows", m.loc,
                     "a map over columns needs a table: csv(), tsv(), a glob() of several "
                     "wildcards, or a list of dicts")
        if m.all_columns:
            return _OPEN
        column_type = None
        if row is not None and row == typerules.TABLE_ROW:
            column_type = TypeRef("str")
        source = f"column '{{}}' of '{m.source}'"
        names = {}
        for column in m.columns:
            self.check_map_target(m, column)
            names[column] = Sym(column_type, source.format(column))
        return Scope(names)

    def map_names(self, m: Map, prev: Scope) -> tuple[str, str] | None:
        """``(source, target)`` of a map, or None when they cannot be told."""
        if m.source is None or m.target is None:
            return self.short_map(m, prev)
        if not self.check_map_target(m, m.target):
            return None
        return m.source, m.target

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
                    join_hints(did_you_mean(source, candidates), self.available(prev, earlier)),
                )
            return None
        if sym.type is not None and sym.type.name not in ("list", "any", "table"):
            self.add(
                f"map source '{source}' is {sym.type}, not a list",
                m.loc,
                f"'{source}' comes from {sym.source}; a map runs its body once per item of a list",
            )
            return None
        return typerules.element_type(sym.type)

    def check_map_target(self, m: Map, target: str) -> bool:
        """Is ``target`` an input of the body's first task(s)? Reports it if not."""
        entries = entry_points(m.body, self.index, set(self.stack), into_maps=False)
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
            join_hints(
                did_you_mean(target, candidates),
                "the target names the input of the map's first task that receives each item",
            ),
        )
        return False

    def short_map(self, m: Map, prev: Scope) -> tuple[str, str] | None:
        """``(source, target)`` of ``map { ... }``, or None after reporting why
        it cannot be inferred (or when an unknown stage hides it)."""
        hint = "write map(source -> target) { ... }"
        entries = entry_points(m.body, self.index, set(self.stack), into_maps=False)
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
            listed = f" ({quoted(set(prev.names))})" if prev.names else ""
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
                f"one input, but they take {quoted(targets)}",
                m.loc,
                hint,
            )
            return None
        return next(iter(prev.names)), targets.pop()


def _sheet_hint(name: str, expected: TypeRef | None) -> str:
    kind = expected.name if expected is not None else "int"
    return (f"a sample sheet's values are text: declare '{name}' as str and compute what "
            f"needs a {kind} from it, for example {name}_{kind}: {kind} = {kind}({name})")


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
