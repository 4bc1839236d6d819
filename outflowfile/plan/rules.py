"""What deciding the jobs of one task reads of the task and the options,
worked out once per run (a map decides thousands of jobs of one task), and
the checks of a job's inputs that the decision makes before anything else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outflowfile.graph.expand import Const, ExpansionError, Job, MapNode, Node, NodeState, Ref
from outflowfile.language import typerules
from outflowfile.language.model import Task
from outflowfile.plan.code import CodeDigests
from outflowfile.plan.key import definition_hash


@dataclass(frozen=True, slots=True)
class TaskRules:
    """The rules of one task for this run."""

    def_hash: str
    checks: tuple[tuple[str, Callable[[Any], bool]], ...]  # typed inputs
    forced: str  # why every job of it runs (-F, -R), or ''
    trustable: bool  # its jobs may be decided from the plan memo (Decider.trusted)


@dataclass(frozen=True)
class Forcing:
    """What the command line forces to run whatever the files say."""

    all: bool = False  # -F
    tasks: frozenset[str] = frozenset()  # -R


def task_rules(
    task: Task, forcing: Forcing, code: CodeDigests | None = None, environment: str = ""
) -> TaskRules:
    def_hash = definition_hash(task, code.of(task) if code is not None else "", environment)
    checks = []
    for p in task.params:
        check = typerules.checker(p.type)
        if check is not None:
            checks.append((p.name, check))
    forced = ""
    if forcing.all:
        forced = "forced (-F)"
    elif task.name in forcing.tasks:
        forced = f"forced (-R {task.name})"
    trustable = not task.outputs and not forced
    return TaskRules(def_hash, tuple(checks), forced, trustable)


def check_params(job: Job, rules: TaskRules) -> None:
    """Stop a job an input of which is not of its declared type."""
    params = job.params or {}
    for name, check in rules.checks:
        if not check(params.get(name)):
            raise _bad_param(job, name)


def _bad_param(job: Job, name: str) -> ExpansionError:
    p = job.task.param(name)
    assert p is not None and p.type is not None
    value = (job.params or {}).get(name)
    return ExpansionError(
        f"task {job.task.name!r} input {name!r} expects {p.type} "
        f"but receives {typerules.describe(value)}{_origin(job, name)}"
    )


def _origin(job: Job, name: str) -> str:
    expr = job.bindings.get(name)
    if isinstance(expr, Ref):
        return f" from {label(expr.node)}"
    if isinstance(expr, Const) and expr.origin.startswith("config:"):
        return " from the config"
    return ""


def all_up_to_date(nodes: list[Node]) -> bool:
    """Every node found up to date this run (a map: every job it holds)."""
    for node in nodes:
        if isinstance(node, MapNode):
            if node.state != NodeState.DONE or not all_up_to_date(node.deps):
                return False
        elif node.state != NodeState.SKIPPED:
            return False
    return True


def label(node: Node) -> str:
    """How messages name a node."""
    if isinstance(node, Job):
        return node.label
    if isinstance(node, MapNode):
        return node.describe()
    return f"node {node.id}"
