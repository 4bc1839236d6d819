"""What each stage of a workflow sees: the one rule for binding names.

The checker (``outflowfile.language.flowcheck``, on declared types) and
expansion (``outflowfile.graph.expand``, on expressions) walk a workflow with
this rule, so what the checker accepts is what a run binds.

A stage is evaluated with two scopes of names: ``prev``, the outputs of the
stage just before, and ``earlier``, everything visible before that (the
pipeline's own input, the outputs of earlier stages, enclosing scopes; a later
name shadows an earlier one). A task input binds to, in order: ``prev``,
``earlier``, the config entry of the same name (``lookup``), its default.

- ``a | b | c``: ``b`` gets prev = outputs of ``a`` and earlier = the pipe's
  earlier + the pipe's prev; ``c`` gets prev = outputs of ``b`` and earlier =
  that + outputs of ``a``. The pipe gives the outputs of its last stage.
- ``(b, c)``: each branch gets the same scopes; the outputs are joined.
- a workflow named as a stage: its pipeline, evaluated in the same scopes.
- ``map(xs -> x) { inner }``: ``xs`` is looked up like a task input. The
  body inherits earlier + prev (``map_scope``); for each item, ``inner``
  gets prev = {x: item} and earlier = that inheritance + {x}
  (``walk_item``). The map passes on every output of every stage inside its
  body (tasks, workflows named there, nested maps and conditions; not what
  is inside a nested map or a condition's sides), each as a list in item
  order under its own name; a name two stages make is the later stage's, as
  a later name shadows an earlier one in a pipe. ``as (new = name, other)``
  passes on only the names it lists, renamed (``passed_on``).
  ``provided_names`` is that rule on names alone, for what needs them before
  any item is known.
- ``if (cond) { a } else { b }``: the condition's names are looked up like a
  task input; each side is walked in the same scopes as the choice; it gives
  the names both sides give (without ``else``: nothing).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Generic, Protocol, TypeVar

from outflowfile.language.model import Branch, Choice, Map, ModelIndex, Pipe, Stage, StageRef
from outflowfile.language.stages import choice_sides

V = TypeVar("V")  # what a name is bound to
V_co = TypeVar("V_co", covariant=True)
S = TypeVar("S")  # a scope: names to what they are bound to


class Names(Protocol[V_co]):
    """A scope as ``lookup`` reads it (a dict qualifies)."""

    def get(self, name: str, /) -> V_co | None: ...


class ScopeWalk(ABC, Generic[S, V]):
    """Walks a stage, handing each part the scopes the rule gives it.

    A subclass says what a scope is (``extend``, ``from_config``) and what a
    reference to a task or workflow, a map, and the joined outputs of a
    branch's parts give."""

    # The outputs of the stages walked so far of the map body being walked
    # (``walk_item``), or None outside a map.
    __slots__ = ("_made",)
    _made: list[Any] | None

    def walk(self, stage: Stage, prev: S, earlier: S) -> S:
        """The outputs of ``stage`` given the two scopes."""
        if isinstance(stage, StageRef):
            out = self.walk_ref(stage, prev, earlier)
        elif isinstance(stage, Pipe):
            return self.walk_pipe(stage, prev, earlier)
        elif isinstance(stage, Branch):
            return self.walk_branch(stage, prev, earlier)
        elif isinstance(stage, Map):
            out = self.walk_map(stage, prev, earlier)
        else:
            out = self.walk_choice(stage, prev, earlier)
        made: list[S] | None = getattr(self, "_made", None)
        if made is not None:
            made.append(out)
        return out

    def walk_pipe(self, pipe: Pipe, prev: S, earlier: S) -> S:
        out = prev
        for i, stage in enumerate(pipe.stages):
            if i:  # the stage before's outputs, and what it saw before them
                earlier = self.extend(earlier, prev)
                prev = out
            out = self.walk(stage, prev, earlier)
        return out

    def walk_branch(self, branch: Branch, prev: S, earlier: S) -> S:
        # A generator: each part is walked as join_branches reaches it.
        parts = ((part, self.walk(part, prev, earlier)) for part in branch.branches)
        return self.join_branches(branch, parts)

    def lookup(self, name: str, prev: Names[V], earlier: Names[V]) -> V | None:
        """What ``name`` is bound to before any default: the stage before's
        output, else an earlier one, else the config entry. (A bound value is
        never falsy: a symbol or an expression object.)"""
        return prev.get(name) or earlier.get(name) or self.from_config(name)

    def map_scope(self, prev: S, earlier: S) -> S:
        """What a map's body inherits, whatever its items."""
        return self.extend(earlier, prev)

    def walk_item(self, m: Map, inherited: S, item: S) -> S:
        """A map's body for one item (``item`` binds the map's target):
        prev = the item, earlier = ``inherited`` (what ``map_scope`` gave) +
        it. Gives what the map passes on for the item: every stage's
        outputs, the later shadowing the earlier, then ``passed_on``."""
        outer = getattr(self, "_made", None)
        made: list[S] = []
        self._made = made
        try:
            self.walk(m.body, item, self.extend(inherited, item))
        finally:
            self._made = outer
        provided = made[0]
        for out in made[1:]:
            provided = self.extend(provided, out)
        return self.passed_on(m, provided)

    def passed_on(self, m: Map, provided: S) -> S:
        """What a map passes on of what its body made for an item: all of
        it, or what its ``as (...)`` lists, renamed."""
        if m.outputs is None:
            return provided
        return self.renamed(provided, [(o.name, o.source) for o in m.outputs])

    def walk_apart(self, stage: Stage, prev: S, earlier: S) -> S:
        """``walk``, but what the stage's own stages make is not what an
        enclosing map passes on (a condition's sides)."""
        outer = getattr(self, "_made", None)
        self._made = None
        try:
            return self.walk(stage, prev, earlier)
        finally:
            self._made = outer

    @abstractmethod
    def extend(self, earlier: S, later: S) -> S:
        """``earlier`` with ``later``'s names added, shadowing its own."""

    @abstractmethod
    def from_config(self, name: str) -> V | None:
        """The config entry called ``name``, if there is one."""

    @abstractmethod
    def walk_ref(self, ref: StageRef, prev: S, earlier: S) -> S:
        """A task (binding its inputs with ``lookup``), or a workflow's
        pipeline walked in the same scopes."""

    @abstractmethod
    def walk_map(self, m: Map, prev: S, earlier: S) -> S:
        """A map: its body walked by ``walk_item``, its outputs gathered."""

    @abstractmethod
    def walk_choice(self, choice: Choice, prev: S, earlier: S) -> S:
        """A run-time condition: the names both its sides give."""

    @abstractmethod
    def renamed(self, provided: S, pairs: list[tuple[str, str]]) -> S:
        """``provided``'s names ``old`` as ``new``, for each ``(new, old)``
        pair (a name it lacks is left out: the checker reports it)."""

    @abstractmethod
    def join_branches(self, branch: Branch, parts: Iterator[tuple[Stage, S]]) -> S:
        """The outputs of a branch from those of its parts, in order."""


NameSet = dict[str, None]  # names in order (a dict for its order)


class _NameWalk(ScopeWalk[NameSet, None]):
    """The rule on names alone: what a stage gives, without binding inputs
    (the graph needs a map's or a condition's names before it expands)."""

    __slots__ = ("index",)

    def __init__(self, index: ModelIndex) -> None:
        self.index = index

    def extend(self, earlier: NameSet, later: NameSet) -> NameSet:
        return {**earlier, **later}

    def from_config(self, name: str) -> None:
        return None

    def walk_ref(self, ref: StageRef, prev: NameSet, earlier: NameSet) -> NameSet:
        task = self.index.tasks.get(ref.name)
        if task is not None:
            return dict.fromkeys(task.output_names())
        workflow = self.index.workflows.get(ref.name)
        return {} if workflow is None else self.walk(workflow.pipeline, prev, earlier)

    def walk_map(self, m: Map, prev: NameSet, earlier: NameSet) -> NameSet:
        return self.walk_item(m, {}, {})

    def walk_choice(self, choice: Choice, prev: NameSet, earlier: NameSet) -> NameSet:
        sides = [self.walk_apart(s, prev, earlier) for s in choice_sides(choice)]
        if len(sides) == 1:
            return {}
        return {name: None for name in sides[0] if name in sides[1]}

    def renamed(self, provided: NameSet, pairs: list[tuple[str, str]]) -> NameSet:
        return {new: None for new, old in pairs if old in provided}

    def join_branches(self, branch: Branch, parts: Iterator[tuple[Stage, NameSet]]) -> NameSet:
        out: NameSet = {}
        for _, names in parts:
            out.update(names)
        return out


def provided_names(stage: Map | Choice, index: ModelIndex) -> list[str]:
    """The names a map (or a condition) gives the stages after it, in order."""
    return list(_NameWalk(index).walk(stage, {}, {}))
