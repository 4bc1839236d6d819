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
  (``walk_item``). Each output of its last stage comes out as a list under
  the same name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from outflowfile.language.model import Branch, Map, Pipe, Stage, StageRef

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

    __slots__ = ()

    def walk(self, stage: Stage, prev: S, earlier: S) -> S:
        """The outputs of ``stage`` given the two scopes."""
        if isinstance(stage, StageRef):
            return self.walk_ref(stage, prev, earlier)
        if isinstance(stage, Pipe):
            return self.walk_pipe(stage, prev, earlier)
        if isinstance(stage, Branch):
            return self.walk_branch(stage, prev, earlier)
        return self.walk_map(stage, prev, earlier)

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

    def walk_item(self, body: Stage, inherited: S, item: S) -> S:
        """A map's body for one item (``item`` binds the map's target):
        prev = the item, earlier = ``inherited`` (what ``map_scope`` gave) + it."""
        return self.walk(body, item, self.extend(inherited, item))

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
    def join_branches(self, branch: Branch, parts: Iterator[tuple[Stage, S]]) -> S:
        """The outputs of a branch from those of its parts, in order."""
