"""Cycles among jobs, found before any of them runs.

Pipes and maps alone make no cycle (the checker walks the workflow as a
tree), but a file dependency without a pipe does when a job reads a file
that is made, directly or through others, from what it makes itself; the
patterns prove the literal ones (``outflowfile.language.filecycles``),
bound values show the others. No job of such a cycle could ever start:
they would wait on each other forever. ``find_cycle`` finds one,
``cycle_error`` says it, with the Outflowfile places of the patterns.
"""

from __future__ import annotations

from collections.abc import Iterable

from outflowfile.errors import UserError
from outflowfile.graph.expand import Job, MapNode, Node, Ref, producers
from outflowfile.language.filecycles import HINT, where
from outflowfile.language.model import FileSpec

_ON_PATH, _DONE = 1, 2


def find_cycle(starts: Iterable[Node]) -> list[Node] | None:
    """A cycle of dependencies reachable from ``starts``, each node
    depending on the next and the last on the first; None if there is none.
    Depth first and iterative, each node visited once."""
    state: dict[int, int] = {}
    for start in starts:
        if id(start) in state:
            continue
        path = [start]
        stack = [iter(start.deps)]
        state[id(start)] = _ON_PATH
        while stack:
            dep = next(stack[-1], None)
            if dep is None:
                stack.pop()
                state[id(path.pop())] = _DONE
                continue
            seen = state.get(id(dep))
            if seen == _ON_PATH:
                return path[path.index(dep):]
            if seen is None:
                state[id(dep)] = _ON_PATH
                path.append(dep)
                stack.append(iter(dep.deps))
    return None


def cycle_error(cycle: list[Node], producer_of: dict[str, Job]) -> UserError:
    """The error for a cycle: each step said, located at the first input
    pattern through which a job reads a file of the cycle."""
    steps: list[str] = []
    loc = None
    for i, node in enumerate(cycle):
        dep = cycle[(i + 1) % len(cycle)]
        step, spec = _step(node, dep, producer_of)
        steps.append(step)
        if loc is None and spec is not None:
            loc = spec.loc
    return UserError("a cycle through files: " + "; ".join(steps), loc=loc, hint=HINT)


def _step(node: Node, dep: Node, producer_of: dict[str, Job]) -> tuple[str, FileSpec | None]:
    """Why ``node`` depends on ``dep``, and the input pattern if by a file."""
    if isinstance(node, Job):
        for spec in node.task.input_files:
            path = (node.input_files or {}).get(spec.name)
            if path is not None and producer_of.get(path) is dep:
                made = _output_spec(dep, path)
                return (
                    f"job '{node.label}' reads {path} ({where(spec.loc)}), "
                    f"which {_name(dep)} makes ({where(made.loc if made else None)})"
                ), spec
        for name, expr in node.bindings.items():
            if dep in producers(expr):
                return f"job '{node.label}' takes its input '{name}' from {_name(dep)}", None
    if isinstance(node, MapNode):
        if isinstance(node.source, Ref) and node.source.node is dep:
            return f"{_name(node)} maps over a value of {_name(dep)}", None
        return f"{_name(node)} waits for {_name(dep)}", None
    return f"{_name(node)} waits for {_name(dep)}", None


def _output_spec(job: Node, path: str) -> FileSpec | None:
    if not isinstance(job, Job):
        return None
    for spec in job.task.output_files:
        if (job.output_files or {}).get(spec.name) == path:
            return spec
    return None


def _name(node: Node) -> str:
    if isinstance(node, Job):
        return f"job '{node.label}'"
    if isinstance(node, MapNode):
        return node.describe() + (f" ({where(node.loc)})" if node.loc else "")
    return f"node {node.id}"
