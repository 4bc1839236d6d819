"""Mapped tasks must write one file per item.

A task inside ``map(xs -> x) { ... }`` runs once per item; if its output
(or ``log:``) pattern uses nothing that changes from one item to the next (the item, or
what an earlier task of the same map body made from it), every job writes
the same file and the last one wins. Walks the workflows with the binding
rule of ``outflowfile.language.scopes``, noting for each name the depth of
the map it varies with. Part of ``outflowfile.language.check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from outflowfile.language.findings import Findings, line_of
from outflowfile.language.model import Branch, Choice, Map, ModelIndex, Stage, StageRef, Task
from outflowfile.language.outputcheck import written_specs
from outflowfile.language.patterns import PatternError, fields, root_field
from outflowfile.language.scopes import ScopeWalk
from outflowfile.language.stages import choice_sides, entry_points, resolve_ref


@dataclass(frozen=True)
class Level:
    """How deep in maps a name was made: 0 outside any, 1 in a map's body..."""

    depth: int


@dataclass(frozen=True)
class Names:
    """A scope: each name's level. ``open``: an unknown stage fed in, so an
    unbound input may vary (reported elsewhere; stay quiet here)."""

    levels: dict[str, Level] = field(default_factory=dict)
    open: bool = False

    def get(self, name: str) -> Level | None:
        return self.levels.get(name)


@dataclass
class _Map:
    """A map being walked: where it is written and its item's name."""

    m: Map
    target: str


@dataclass
class ItemCheck(ScopeWalk[Names, Level]):
    """Reports the output patterns of mapped tasks that do not vary per item."""

    findings: Findings
    index: ModelIndex
    maps: list[_Map] = field(default_factory=list)  # the maps around the stage walked
    stack: list[str] = field(default_factory=list)  # workflows being walked

    @property
    def depth(self) -> int:
        return len(self.maps)

    def extend(self, earlier: Names, later: Names) -> Names:
        return Names({**earlier.levels, **later.levels}, earlier.open or later.open)

    def from_config(self, name: str) -> Level | None:
        return Level(0) if name in self.index.config else None

    def walk_ref(self, ref: StageRef, prev: Names, earlier: Names) -> Names:
        target = resolve_ref(ref, self.index)
        if isinstance(target, Task):
            if self.maps:
                self.check_task(target, prev, earlier)
            names = target.output_names()
            return Names({name: Level(self.depth) for name in names})
        if target is None or target.name in self.stack:
            return Names(open=True)
        self.stack.append(target.name)
        try:
            return self.walk(target.pipeline, prev, earlier)
        finally:
            self.stack.pop()

    def join_branches(self, branch: Branch, parts: Iterator[tuple[Stage, Names]]) -> Names:
        levels: dict[str, Level] = {}
        is_open = False
        for _, out in parts:
            levels.update(out.levels)
            is_open = is_open or out.open
        return Names(levels, is_open)

    def walk_map(self, m: Map, prev: Names, earlier: Names) -> Names:
        columns = list(m.columns)  # a map over a table's rows binds these (all: unknown)
        target = columns[0] if columns else m.target if m.source is not None else None
        target = target if m.source is not None else self.short_target(m)
        if target is None or not all(self.takes_item(m, t) for t in columns or [target]):
            return Names(open=True)  # cannot be told: reported by the flow check
        inherited = self.map_scope(prev, earlier)
        self.maps.append(_Map(m, target))
        try:
            level = Level(self.depth)
            item = Names({name: level for name in columns or [target]}, m.all_columns)
            out = self.walk_item(m, inherited, item)
        finally:
            self.maps.pop()
        return Names({name: Level(self.depth) for name in out.levels}, out.open)

    def walk_choice(self, choice: Choice, prev: Names, earlier: Names) -> Names:
        sides = [self.walk_apart(s, prev, earlier) for s in choice_sides(choice)]
        if len(sides) == 1:
            return Names(open=sides[0].open)
        first, second = sides
        levels = {n: level for n, level in first.levels.items() if n in second.levels}
        return Names(levels, first.open or second.open)

    def renamed(self, provided: Names, pairs: list[tuple[str, str]]) -> Names:
        levels = {new: provided.levels[old] for new, old in pairs if old in provided.levels}
        return Names(levels, provided.open)

    def short_target(self, m: Map) -> str | None:
        """The item's name in ``map { ... }``: the one input of its first tasks."""
        entries = entry_points(m.body, self.index, set(self.stack), into_maps=False)
        names = {p.name for e in entries if isinstance(e, Task) for p in e.params}
        if len(names) != 1 or not all(isinstance(e, Task) for e in entries):
            return None
        return names.pop()

    def takes_item(self, m: Map, target: str) -> bool:
        """Whether the body's first stages take the item (else the flow check
        reports the map, and its tasks are not judged on it)."""
        entries = entry_points(m.body, self.index, set(self.stack), into_maps=False)
        return not entries or any(
            isinstance(e, Map) or e.param(target) is not None for e in entries
        )

    def varies(self, task: Task, name: str, prev: Names, earlier: Names) -> bool:
        """Whether input ``name`` of ``task`` changes with the innermost map's item."""
        if task.param(name) is None:
            return True  # not an input: reported by the task's checks
        level = self.lookup(name, prev, earlier)
        if level is None:
            return prev.open or earlier.open
        return level.depth >= self.depth

    def check_task(self, task: Task, prev: Names, earlier: Names) -> None:
        around = self.maps[-1]
        for written in written_specs(task):
            spec = written.spec
            try:
                roots = {root_field(name) for name in fields(spec.pattern)}
            except PatternError:
                continue  # reported by the pattern checks
            if any(self.varies(task, root, prev, earlier) for root in roots):
                continue
            m = around.m
            mapping = f"({m.source} -> {m.target}) " if m.source is not None else ""
            uses = f", such as {{{around.target}}}" if task.param(around.target) else ""
            self.findings.add(
                f"{written.what} {spec.pattern!r} of task '{task.name}' is the same for every "
                f"item of the map at {line_of(m.loc)}: all its jobs would write one file",
                spec.loc or task.loc,
                f"map {mapping}runs '{task.name}' once per item '{around.target}'; "
                f"put a field that varies per item in the pattern{uses}",
            )


def check_items(findings: Findings, index: ModelIndex, roots: list[Stage]) -> None:
    """Walk each root stage (the workflows no other uses) for mapped outputs."""
    walker = ItemCheck(findings, index)
    for stage in roots:
        walker.walk(stage, Names(), Names())

