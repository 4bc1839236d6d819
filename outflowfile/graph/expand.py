"""Expansion: a workflow becomes a graph of jobs.

A job is a task whose inputs are bound to *expressions*: a constant (a config
value, a map item, a default), a reference to another job's output, or the
gathered outputs of a map. Expressions are resolved to values only when the
jobs they refer to are complete, so the same graph serves a dry run (where
some values stay unknown) and a real run.

A map whose source is known when it is reached expands at once; otherwise it
becomes a ``MapNode`` that expands when its source is complete. The run loop
drives that (``run/loop.py``); this module only builds nodes.

Every job has a *slot*: its identity across runs and edits (task name plus
where its inputs come from: config names, map item values, upstream slots),
used to explain why a job must run (``plan.py``) and to share a job between
workflows that contain the same stage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from outflowfile.graph.logpaths import LogClaims, LogClash
from outflowfile.graph.nodes import (
    COMPLETE,
    UNKNOWN,
    ChoiceNode,
    Const,
    Env,
    Expr,
    Gather,
    Job,
    MapNode,
    Node,
    NodeState,
    Ref,
    Unknown,
    file_paths,
    identity_part,
    make_hash,
    producers,
    resolve,
    short_value,
    slot_part,
)
from outflowfile.graph.pathvalues import (
    PathsOf,
    holds_paths,
    makes_path_values,
    normal_path,
    normal_value,
    path_inputs,
    paths_in,
    read_paths,
    value_output_type,
)
from outflowfile.language.computing import compute_defaults, computed_params
from outflowfile.language.expressions import EvaluationError
from outflowfile.language.model import (
    Branch,
    Choice,
    Location,
    Map,
    ModelIndex,
    Outflowfile,
    Param,
    Resources,
    Stage,
    StageRef,
    Task,
)
from outflowfile.language.patterns import format_pattern
from outflowfile.language.scopes import ScopeWalk, provided_names
from outflowfile.language.stages import first_tasks
from outflowfile.language.tables import row_bindings, row_label

# The nodes and expressions live in nodes.py; named here too, where the
# stages after this one have always found them.
__all__ = [
    "COMPLETE", "UNKNOWN", "ChoiceNode", "Const", "Env", "ExpansionError", "Expr", "Gather",
    "Graph", "Job", "MapNode", "Node", "NodeState", "Ref", "TaskShape", "Unknown", "checked_items",
    "effective_resources", "file_paths", "identity_part", "normal_path", "producers",
    "resolve", "short_value", "slot_part",
]

# --- the graph ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskShape:
    """What making each job of a task reads of it, laid out once per graph:
    a map makes thousands of jobs of the same task."""

    params: tuple[tuple[str, Param], ...]
    input_files: tuple[tuple[str, str], ...]  # name, pattern
    output_files: tuple[tuple[str, str], ...]
    output_names: tuple[str, ...]
    path_inputs: tuple[tuple[str, PathsOf], ...]  # inputs typed to hold paths
    path_params: tuple[str, ...]  # their names: the values to spell as paths
    # Computed defaults (language/computing.py), in the order to compute them.
    computed: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, task: Task) -> TaskShape:
        paths = path_inputs(task)
        params, computed = computed_params(task)
        return cls(
            params=params,
            computed=computed,
            input_files=tuple((f.name, f.pattern) for f in task.input_files),
            output_files=tuple((f.name, f.pattern) for f in task.output_files),
            output_names=tuple(task.output_names()),
            path_inputs=paths,
            path_params=tuple(name for name, _ in paths),
        )


class ExpansionError(Exception):
    """A problem found while expanding (e.g. a map source that is not a list
    at run time). The engine turns it into a user-facing error, at ``loc``
    in the Outflowfile when the problem has a place there."""

    def __init__(self, message: str, loc: Location | None = None) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass
class Graph:
    model: Outflowfile
    index: ModelIndex
    config: dict[str, Any]
    nodes: list[Node] = field(default_factory=list)
    by_identity: dict[tuple[Any, ...], Job] = field(default_factory=dict)
    producer_of: dict[str, Job] = field(default_factory=dict)  # output path -> job
    logs: LogClaims = field(default_factory=LogClaims)  # one log: path per job
    fresh: list[Node] = field(default_factory=list)  # created since last taken
    # Made once per graph rather than once per job.
    config_consts: dict[str, Const] = field(default_factory=dict, init=False, repr=False)
    config_idents: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    shapes: dict[str, TaskShape] = field(default_factory=dict, init=False, repr=False)
    # Some map's items are other jobs' output files: map items are then
    # looked for among them (``value_files``).
    item_files: bool = field(default=False, init=False, repr=False)
    # Some task declares a value output holding paths (``-> (f: path)``).
    path_outputs: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.path_outputs = makes_path_values(self.index.tasks.values())

    def config_identity(self, expr: Const) -> Any:
        """``identity_part`` of a config value's constant, made once per
        graph: every job of a map may be bound to the same long list."""
        name = expr.origin
        part = self.config_idents.get(name)
        if part is None:
            part = self.config_idents[name] = identity_part(expr)
        return part

    def take_fresh(self) -> list[Node]:
        fresh, self.fresh = self.fresh, []
        return fresh

    def jobs(self) -> list[Job]:
        return [n for n in self.nodes if isinstance(n, Job)]

    def known_files(self) -> list[str]:
        """The files of every job whose paths are known yet, each once:
        its output files, then its input files."""
        paths: dict[str, None] = {}
        for node in self.nodes:
            if type(node) is Job and node.output_files is not None:
                for path in node.output_files.values():
                    paths[path] = None
                for path in node.inputs:
                    paths[path] = None
        return list(paths)

    def add_node(self, node: Node) -> None:
        self.nodes.append(node)
        self.fresh.append(node)

    def next_id(self) -> int:
        return len(self.nodes)

    # -- stages --

    def expand_workflow(self, name: str) -> Env:
        wf = self.index.workflows[name]
        return _Expansion(self, {}, "").walk(wf.pipeline, {}, {})

    def expand_task(self, task: Task) -> Env:
        """A task named as a target outside any workflow: inputs from config
        and defaults."""
        return _Expansion(self, {}, "").make_job(task, {}, {})

    def map_names(self, m: Map, prev: Env) -> tuple[str, str]:
        if m.source is not None and m.target is not None:
            return m.source, m.target
        # Short form: the single output before the map feeds the single input
        # of the inner pipeline's first task (the checker guarantees both).
        (source,) = prev.keys()
        first = first_tasks(m.body, self.index)[0]
        return source, first.params[0].name

    def expand_map_items(self, node: MapNode, items: list[Any]) -> None:
        """Expand a map whose source is now known; fills ``node.outputs``."""
        per_item: list[Env] = []
        target, options = node.target, node.options
        if not self.item_files:
            produced = self.producer_of
            self.item_files = any(type(i) is str and i in produced for i in items)
        first = len(self.nodes)
        prefix = f"{node.label_prefix} {target}=".lstrip()
        walk = _Expansion(self, options, "")  # one for all items; each gets its label
        rows = node.map.over_rows  # over a table: each row binds the columns named
        for item in row_bindings(node.map, items, ExpansionError) if rows else items:
            if rows:
                walk.label = row_label(node.label_prefix, item, short_value)
                scope: Env = {k: Const(v, "item") for k, v in item.items()}
            else:
                walk.label = (prefix + short_value(item)).rstrip()
                scope = {target: Const(item, "item")}
            per_item.append(walk.walk_item(node.map, node.earlier, scope))
        node.outputs = {
            name: Gather(tuple(env[name] for env in per_item)) for name in node.output_names
        }
        node.members = (first, len(self.nodes))
        node.expanded = True

    def decide_choice(self, node: ChoiceNode, values: dict[str, Any]) -> None:
        """Expand the side of a condition its names' ``values`` choose;
        fills ``node.outputs``."""
        choice = node.choice
        try:
            chosen = choice.condition.holds(values)
        except EvaluationError as exc:
            raise ExpansionError(f"{node.describe()}: {exc.message}", exc.loc) from None
        side = choice.then if chosen else choice.otherwise
        first = len(self.nodes)
        out: Env = {}
        if side is not None:
            walk = _Expansion(self, node.options, node.label_prefix)
            out = walk.walk_apart(side, node.prev, node.earlier)
        node.outputs = {name: out[name] for name in node.output_names}
        node.chosen = side
        node.members = (first, len(self.nodes))
        node.expanded = True

    # -- jobs --

    def shape(self, task: Task) -> TaskShape:
        shape = self.shapes.get(task.name)
        if shape is None:
            shape = self.shapes[task.name] = TaskShape.of(task)
        return shape

    def resolve_files(self, job: Job) -> None:
        """Bind the job's parameters to values and format its file patterns.
        Call when every producer it refers to is complete."""
        params: dict[str, Any] = {}
        unknown = False
        for name, e in job.bindings.items():
            if type(e) is Const:
                params[name] = e.value
            else:
                value = params[name] = resolve(e)
                unknown = unknown or value is UNKNOWN
        if unknown:
            job.params = params
            return
        self.format_files(job, params, self.shape(job.task))

    def format_files(self, job: Job, params: dict[str, Any], shape: TaskShape) -> None:
        """With every parameter known: the job's file paths, and the jobs
        making them."""
        if shape.computed:  # computed defaults (language/computing.py)
            compute_defaults(params, shape.computed, self.config, job.label, ExpansionError)
        for name in shape.path_params:
            if name in params:
                params[name] = normal_value(params[name])
        job.params = params
        inputs: dict[str, str] = {}
        outputs: dict[str, str] = {}
        try:
            for name, pattern in shape.input_files:
                inputs[name] = normal_path(pattern.format_map(params))
            for name, pattern in shape.output_files:
                outputs[name] = normal_path(pattern.format_map(params))
        except Exception:  # noqa: BLE001 - format_pattern says what is wrong
            try:
                for _, pattern in shape.input_files + shape.output_files:
                    format_pattern(pattern, params)
            except ValueError as exc:
                raise ExpansionError(f"{job.label}: {exc}", getattr(exc, "loc", None)) from None
            raise
        if self.logs.owner or job.task.log is not None:
            try:
                self.logs.claim(job, params, self.producer_of)
                self.logs.check_outputs(job, outputs)
            except LogClash as exc:
                raise ExpansionError(str(exc)) from None
        job.input_files = inputs
        job.output_files = outputs
        paths = list(inputs.values())
        if shape.path_inputs or self.item_files or (self.path_outputs and job.deps):
            job.value_files = self.value_files(job, params, shape)
            paths.extend(job.value_files)
        if job.deps:
            for e in job.bindings.values():
                if type(e) is not Const:
                    paths.extend(file_paths(e))
        job.inputs = paths
        claim = self.producer_of.setdefault
        for path in outputs.values():
            claim(path, job)

    def value_files(self, job: Job, params: dict[str, Any], shape: TaskShape) -> list[str]:
        """The files among a job's input values (pathvalues.py): those of
        its inputs typed to hold paths, those of upstream values declared
        so, and map items that are other jobs' output files."""
        named: list[str] = []
        for name, paths_of in shape.path_inputs:
            named.extend(paths_of(params.get(name)))
        produced = self.producer_of
        for name, e in job.bindings.items():
            if type(e) is Const:
                if e.origin == "item" and type(e.value) is str and e.value in produced:
                    named.append(e.value)
            elif type(e) is Ref and type(e.node) is Job:
                t = value_output_type(e.node.task, e.name)
                if t is not None and holds_paths(t):
                    named.extend(paths_in(params.get(name), t))
        if not named:
            return named
        return read_paths(named, (job.output_files or {}).values(), self.producer_of)

    def container_producer(self, path: str) -> Job | None:
        """The job whose output directory holds ``path`` (a file in a
        directory another job makes, passed as a value), or None."""
        parent = os.path.dirname(path)
        while parent and parent != "/":
            producer = self.producer_of.get(parent)
            if producer is not None:
                return producer
            parent = os.path.dirname(parent)
        return None

    def link_file_dependencies(self, job: Job) -> list[Job]:
        """Jobs producing this job's input files that it does not already
        depend on (a file dependency without a pipe): its ``input:`` files,
        and the files among its values, which may also lie in a directory
        another job makes."""
        extra: list[Job] = []
        deps = job.deps
        have: set[int] | None = None  # ids of deps, made only when needed
        producer_of = self.producer_of
        value_files = job.value_files
        files: Any = (job.input_files or {}).values()
        if value_files:
            files = [*files, *value_files]
        for path in files:
            producer = producer_of.get(path)
            if producer is None and value_files and path in value_files:
                producer = self.container_producer(path)
            if producer is None or producer is job or producer in extra:
                continue
            if deps:
                if have is None:
                    have = set(map(id, deps))
                if id(producer) in have:
                    continue
            extra.append(producer)
        return extra


class _Expansion(ScopeWalk[Env, Expr]):
    """Adds the nodes of a stage to a graph, binding names by the rule of
    ``outflowfile.language.scopes``; its jobs get the map ``options`` as
    resource defaults and ``label`` (the map items they are for)."""

    __slots__ = ("graph", "options", "label")

    def __init__(self, graph: Graph, options: dict[str, Any], label: str) -> None:
        self.graph = graph
        self.options = options
        self.label = label

    def extend(self, earlier: Env, later: Env) -> Env:
        return {**earlier, **later}

    def from_config(self, name: str) -> Expr | None:
        graph = self.graph
        expr = graph.config_consts.get(name)
        if expr is None and name in graph.config:
            expr = graph.config_consts[name] = Const(graph.config[name], f"config:{name}")
        return expr

    def walk_ref(self, ref: StageRef, prev: Env, earlier: Env) -> Env:
        index = self.graph.index
        task = index.tasks.get(ref.name)
        if task is not None:
            return self.make_job(task, prev, earlier)
        return self.walk(index.workflows[ref.name].pipeline, prev, earlier)

    def join_branches(self, branch: Branch, parts: Iterator[tuple[Stage, Env]]) -> Env:
        out: Env = {}
        for _, env in parts:
            out.update(env)
        return out

    def walk_map(self, m: Map, prev: Env, earlier: Env) -> Env:
        graph = self.graph
        source_name, target = graph.map_names(m, prev)
        source = self.lookup(source_name, prev, earlier)
        if source is None:
            raise ExpansionError(f"map source {source_name!r} is not available")
        merged = dict(self.options)
        merged.update({o.name: o.value for o in m.options})
        node = MapNode(
            id=graph.next_id(),
            map=m,
            source=source,
            target=target,
            earlier=self.map_scope(prev, earlier),
            options=merged,
            label_prefix=self.label,
            output_names=provided_names(m, graph.index),
        )
        node.slot = make_hash(repr(["map", source_name, target, slot_part(source), self.label]))
        # Inner jobs may read any earlier output, not only the source: the map
        # expands only once all of them are complete.
        node.deps = _unique(d for e in [source, *node.earlier.values()] for d in producers(e))
        graph.add_node(node)
        if isinstance(source, Const):
            # Known now (a config list): expand at once, so the plan and file
            # targets see every item's jobs before anything runs.
            graph.expand_map_items(node, checked_items(source.value, m, source_name, target))
            node.deps = _unique(d for e in node.outputs.values() for d in producers(e))
        return {name: Ref(node, name) for name in node.output_names}

    def renamed(self, provided: Env, pairs: list[tuple[str, str]]) -> Env:
        return {new: provided[old] for new, old in pairs}

    def walk_choice(self, choice: Choice, prev: Env, earlier: Env) -> Env:
        graph = self.graph
        names: Env = {}
        for cond_name in choice.condition.uses():
            expr = self.lookup(cond_name.name, prev, earlier)
            if expr is None:
                raise ExpansionError(f"condition name {cond_name.name!r} is not available")
            names[cond_name.name] = expr
        node = ChoiceNode(
            id=graph.next_id(),
            choice=choice,
            names=names,
            prev=prev,
            earlier=earlier,
            options=self.options,
            label_prefix=self.label,
            output_names=provided_names(choice, graph.index),
        )
        parts = [[n, slot_part(e)] for n, e in names.items()]
        node.slot = make_hash(repr(["if", choice.text, parts, self.label]))
        # Either side may read any earlier output: it is chosen once all are complete.
        seen = [*names.values(), *prev.values(), *earlier.values()]
        node.deps = _unique(d for e in seen for d in producers(e))
        graph.add_node(node)
        if all(type(e) is Const for e in names.values()):
            # Known now (config): decide at once, so that the plan and file
            # targets see the chosen side's jobs before anything runs.
            graph.decide_choice(node, {n: e.value for n, e in names.items()})  # type: ignore[union-attr]
            node.deps = _unique(d for e in node.outputs.values() for d in producers(e))
        return {name: Ref(node, name) for name in node.output_names}

    def make_job(self, task: Task, prev: Env, earlier: Env) -> Env:
        """The job of ``task`` with its inputs bound here (the graph's, or a
        new one); its outputs."""
        graph = self.graph
        shape = graph.shapes.get(task.name) or graph.shape(task)
        bindings: Env = {}
        ident: list[Any] = [task.name]
        consts = True  # every input known now: the usual case, made quickly
        lookup = self.lookup
        for name, param in shape.params:
            expr = lookup(name, prev, earlier)
            if expr is None:
                if not param.has_default:
                    raise ExpansionError(f"task {task.name!r} input {name!r} is not provided")
                expr = Const(param.default, "default")
            elif type(expr) is not Const:
                consts = False
            bindings[name] = expr
            if type(expr) is Const and expr.origin[:7] == "config:":
                part = graph.config_identity(expr)  # a config value: encoded once
            else:
                part = identity_part(expr)
            ident.append((name, part))
        identity = tuple(ident)
        job = graph.by_identity.get(identity)
        if job is None:
            job = Job(
                len(graph.nodes),
                [] if consts else _producers_of(bindings.values()),
                task,
                identity,
                f"{task.name} {self.label}".strip() if self.label else task.name,
                bindings,
                effective_resources(task, self.options) if self.options else task.resources,
            )
            graph.by_identity[identity] = job
            graph.nodes.append(job)
            graph.fresh.append(job)
            if consts:
                params = {}
                for name, expr in bindings.items():
                    params[name] = expr.value  # type: ignore[union-attr]
                graph.format_files(job, params, shape)
            elif not job.deps:
                graph.resolve_files(job)
        # Loops rather than comprehensions here and below: for the one or two
        # names a task has, a comprehension's own call costs more than its work.
        env: Env = {}
        for name in shape.output_names:
            env[name] = Ref(job, name)
        return env


def checked_items(value: Any, m: Map, source: str, target: str) -> list[Any]:
    """The items of a map's source value; an error naming the map (where it
    is in the Outflowfile) and what the value is, when it is not a list."""
    if not isinstance(value, (list, tuple)):
        from outflowfile.language.typerules import describe

        raise ExpansionError(
            f"map({source} -> {target}): map source {source!r} is {describe(value)}, not a list",
            m.loc,
        )
    return list(value)


def effective_resources(task: Task, options: dict[str, Any]) -> Resources:
    """The task's resources, with map options as defaults for what the task
    does not set itself."""
    if not options:
        return task.resources
    values = dict(task.resources.__dict__)
    for name, value in options.items():
        if name not in task.directive_locs and name in values:
            values[name] = _option_value(name, value)
    return Resources(**values)


def _option_value(name: str, value: Any) -> Any:
    from outflowfile.language import units

    if name == "mem" and isinstance(value, (str, int)):
        return units.parse_mem(value)
    if name == "time" and isinstance(value, (str, int)):
        return units.parse_time(value)
    return value


def _producers_of(exprs: Any) -> list[Node]:
    """The nodes a job bound to these expressions depends on, each once."""
    out: list[Node] = []
    for e in exprs:
        if type(e) is not Const:
            out.extend(producers(e))
    return _unique(out) if len(out) > 1 else out


def _unique(nodes: Any) -> list[Node]:
    seen: set[int] = set()
    out: list[Node] = []
    for n in nodes:
        if id(n) not in seen:
            seen.add(id(n))
            out.append(n)
    return out
