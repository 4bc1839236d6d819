"""The nodes of a job graph and the expressions their inputs are bound to.

A job's input is bound to an *expression*: a constant (a config value, a map
item, a default), a reference to another node's output, or the gathered
outputs of a map. ``resolve`` gives its value once the nodes it refers to are
complete, ``UNKNOWN`` before (a dry run). A ``MapNode`` stands for the jobs a
map makes once its source is known; a ``ChoiceNode`` for those of the side a
condition chooses once its value is known.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

from outflowfile import valuecodec
from outflowfile.language.model import Choice, Location, Map, Resources, Stage, Task

# --- expressions -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    """A value known when the graph is built. ``origin`` names where it came
    from: ``config:NAME``, ``item``, ``default``."""

    value: Any
    origin: str


@dataclass(eq=False, slots=True)
class Ref:
    """Output ``name`` of ``node`` (a Job or a MapNode)."""

    node: Node
    name: str


@dataclass(frozen=True, slots=True)
class Gather:
    """A map's output: one expression per item, in item order."""

    items: tuple[Expr, ...]


Expr = Const | Ref | Gather
Env = dict[str, Expr]


class Unknown:
    """The value of an expression whose producer will run but has not yet
    (dry run)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = Unknown()


# --- nodes -------------------------------------------------------------------


class NodeState(Enum):
    """Where a node is on its way through a run (or a dry run)."""

    WAITING = "waiting"  # some of its dependencies are not complete
    READY = "ready"  # to be decided (a job) or expanded (a map)
    RUNNING = "running"  # handed to the executor
    DONE = "done"  # ran, or found up to date
    SKIPPED = "skipped"  # up to date: its cached values were taken
    WOULD_RUN = "would-run"  # dry run: it would run
    FAILED = "failed"  # its job failed (or it cannot be planned)
    BLOCKED = "blocked"  # something it depends on failed


#: The states in which what depends on a node may go ahead. A tuple, not a
#: set: membership is then a comparison by identity, where a set would call
#: Enum's Python-level __hash__ (a run asks this for every edge of its graph).
COMPLETE = (NodeState.DONE, NodeState.SKIPPED, NodeState.WOULD_RUN)


@dataclass(eq=False, slots=True)
class Node:
    id: int
    deps: list[Node] = field(default_factory=list)
    dependents: list[Node] = field(default_factory=list)
    state: NodeState = NodeState.WAITING
    waiting: int = 0

    def output(self, name: str) -> Any:
        """The value of output ``name``, or UNKNOWN until it has one."""
        raise NotImplementedError


# kw_only: the fields follow Node's defaulted ones; the __init__ is written out.
@dataclass(eq=False, slots=True, init=False, kw_only=True)
class Job(Node):
    task: Task
    # What makes it the same job as another of the graph (``identity_part``).
    identity: tuple[Any, ...]
    label: str
    bindings: Env
    resources: Resources
    # Filled when the job's inputs are known (resolve_files).
    params: dict[str, Any] | None
    input_files: dict[str, str] | None  # input: patterns, formatted, by name
    output_files: dict[str, str] | None
    # Every input file: the input: files, the files among its values
    # (pathvalues.py), then producers' output files among its values.
    inputs: list[str]
    value_files: Sequence[str]  # the files among its values (pathvalues.py)
    # Filled when the job is complete (ran, or found up to date).
    values: dict[str, Any] | None
    _slot: str | None

    # Written out rather than generated: a map makes a job per item, and the
    # generated keyword __init__ took twice as long.
    def __init__(
        self,
        id: int,
        deps: list[Node],
        task: Task,
        identity: tuple[Any, ...],
        label: str,
        bindings: Env,
        resources: Resources,
    ) -> None:
        self.id = id
        self.deps = deps
        self.dependents = []
        self.state = NodeState.WAITING
        self.waiting = 0
        self.task = task
        self.identity = identity
        self.label = label
        self.bindings = bindings
        self.resources = resources
        self.params = None
        self.input_files = None
        self.output_files = None
        self.inputs = []
        self.value_files = ()  # one empty tuple for all: most jobs have none
        self.values = None
        self._slot = None

    @property
    def slot(self) -> str:
        """What identifies the job across runs: task name, and where its
        inputs come from (``slot_part``). Made when first asked for: a run
        with nothing to do mostly does not."""
        if self._slot is None:
            parts = [[k, slot_part(e)] for k, e in self.bindings.items()]
            self._slot = make_hash(repr([self.task.name, parts]))
        return self._slot

    def output(self, name: str) -> Any:
        if self.output_files is not None and name in self.output_files:
            return self.output_files[name]
        if self.values is None:
            return UNKNOWN
        return self.values.get(name, UNKNOWN)


@dataclass(eq=False, slots=True)
class MapNode(Node):
    kind: ClassVar[str] = "map"  # what views call it
    map: Map = None  # type: ignore[assignment]
    source: Expr = None  # type: ignore[assignment]
    target: str = ""
    earlier: Env = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    label_prefix: str = ""
    slot: str = ""
    expanded: bool = False
    outputs: Env = field(default_factory=dict)  # name -> Gather, once expanded
    output_names: list[str] = field(default_factory=list)
    # Ids of the nodes its expansion made (``range(*members)``), for views
    # that gather a map's jobs (graphview.py). A nested map expanded later
    # has its own range; its MapNode is in the enclosing one.
    members: tuple[int, int] = (0, 0)

    def output(self, name: str) -> Any:
        if not self.expanded:
            return UNKNOWN
        return resolve(self.outputs[name])

    @property
    def stage(self) -> Stage:
        """The stage of the model it stands for."""
        return self.map

    @property
    def loc(self) -> Location | None:
        return self.map.loc

    def describe(self) -> str:
        """How messages name it: ``map(samples -> sample)``."""
        m = self.map
        return f"map({m.source} -> {m.target})" if m.source else "map"


@dataclass(eq=False, slots=True)
class ChoiceNode(MapNode):
    """``if (cond) { a } else { b }``: grows the jobs of the side ``cond``
    chooses once the values of its names are known (``expanded``: decided).
    ``names`` binds the names the condition reads; ``prev`` and the map's
    ``earlier`` are the scopes the chosen side is walked in."""

    kind: ClassVar[str] = "condition"
    choice: Choice = None  # type: ignore[assignment]
    names: Env = field(default_factory=dict)
    prev: Env = field(default_factory=dict)
    chosen: Stage | None = None  # once decided: the side, None for no side

    @property
    def stage(self) -> Stage:
        return self.choice

    @property
    def loc(self) -> Location | None:
        return self.choice.loc

    def describe(self) -> str:
        return f"if ({self.choice.text})"


# --- resolution --------------------------------------------------------------


def resolve(expr: Expr) -> Any:
    """The value of an expression, or UNKNOWN if a producer has no value yet."""
    if type(expr) is Const:
        return expr.value
    if type(expr) is Ref:
        return expr.node.output(expr.name)
    # A map's output: one item per job of the map, often tens of thousands.
    items = []
    for e in expr.items:  # type: ignore[union-attr]
        value = e.node.output(e.name) if type(e) is Ref else resolve(e)
        if value is UNKNOWN:
            return UNKNOWN
        items.append(value)
    return items


def producers(expr: Expr) -> list[Node]:
    if isinstance(expr, Const):
        return []
    if isinstance(expr, Ref):
        return [expr.node]
    out: list[Node] = []
    for e in expr.items:
        out.extend(producers(e))
    return out


def file_paths(expr: Expr) -> list[str]:
    """Paths among an expression's values that are other jobs' output files."""
    if type(expr) is Const:
        return []
    if type(expr) is Ref:
        node = expr.node
        if type(node) is Job:
            path = _output_file(node, expr.name)
            return [] if path is None else [path]
        if isinstance(node, MapNode) and node.expanded:
            return file_paths(node.outputs[expr.name])
        return []
    out: list[str] = []
    for e in expr.items:  # type: ignore[union-attr]
        if type(e) is Ref and type(e.node) is Job:  # the usual item, without recursing
            path = _output_file(e.node, e.name)
            if path is not None:
                out.append(path)
        else:
            out.extend(file_paths(e))
    return out


def _output_file(job: Job, name: str) -> str | None:
    files = job.output_files
    return files.get(name) if files else None


def slot_part(expr: Expr) -> Any:
    """What of an expression identifies a job across runs: config *names*
    (a changed value is a changed parameter of the same job), item values,
    upstream slots."""
    if isinstance(expr, Const):
        if expr.origin == "item":
            return ["item", valuecodec.digest(expr.value)]
        return [expr.origin]
    if isinstance(expr, Ref):
        return ["ref", expr.node.slot, expr.name]  # type: ignore[attr-defined]
    return ["gather", [slot_part(e) for e in expr.items]]


def identity_part(expr: Expr) -> Any:
    """What finds the same job again within one graph, as a key that is
    cheap to make (hashing every item's value would cost more than the rest
    of making the job). A constant is its value, wherever it comes from: a
    job bound to config ``x = 2`` is the job of map item 2, as their cache
    keys are equal (plan/key.py), and it is made once. An upstream job is
    itself; a map, not made once per identity, is named by its slot."""
    if type(expr) is Const:
        value = expr.value
        return ("str", value) if type(value) is str else ("value", valuecodec.encode(value))
    if type(expr) is Ref:
        node = expr.node
        if type(node) is Job:
            return ("job", id(node), expr.name)
        return ("map", node.slot, expr.name)  # type: ignore[attr-defined]
    return ("gather", tuple(identity_part(e) for e in expr.items))  # type: ignore[union-attr]


def make_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def short_value(value: Any, limit: int = 30) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


