"""The checks of a task's computed defaults (``rg: str = f"@RG\\tID:{sample}"``):
every name one uses is another input of the task or a config entry, the
operations fit the types that are known, the value fits the input's
declared type, and no default needs itself (directly or through another).
Part of ``language/taskcheck.py``."""

from __future__ import annotations

from collections.abc import Mapping

from outflowfile.language import typerules
from outflowfile.language.expressions import Expression, infer_type
from outflowfile.language.findings import Findings
from outflowfile.language.model import Param, Task, TypeRef


def computed(task: Task) -> dict[str, Expression]:
    """The task's computed defaults, by input name."""
    return {p.name: p.default for p in task.params if isinstance(p.default, Expression)}


def check_computed(findings: Findings, task: Task, config: Mapping[str, TypeRef | None]) -> None:
    exprs = computed(task)
    if not exprs:
        return
    for param in task.params:
        expr = exprs.get(param.name)
        if expr is not None:
            _check_one(findings, task, param, expr, config)
    cycle = evaluation_cycle(task)
    if cycle:
        first = exprs[cycle[0]]
        findings.add(
            f"the defaults of task '{task.name}' need each other: {' -> '.join(cycle)}",
            first.loc,
            "a computed default may use inputs whose values do not depend on it",
        )


def _check_one(findings: Findings, task: Task, param: Param, expr: Expression,
               config: Mapping[str, TypeRef | None]) -> None:
    what = f"the default of input '{param.name}' of task '{task.name}'"
    if param.name in expr.names:
        findings.add(f"{what} uses '{param.name}' itself", expr.loc,
                     "a default is computed from the task's other inputs and config entries")
        return
    types: dict[str, TypeRef | None] = dict(config)
    for other in task.params:
        if other.name != param.name:
            types[other.name] = _known(other.type)
    result, problems = infer_type(expr, types)
    for message, loc, hint in problems:
        findings.add(f"{what}: {message}", loc, hint)
    declared = _known(param.type)
    if not problems and result is not None and declared is not None:
        if not typerules.compatible(result, declared):
            findings.add(f"{what} gives {result}, but the input is declared {declared}",
                         expr.loc, f"convert it, for example {declared.name}(...)"
                         if declared.name in ("int", "float", "str", "bool") else None)


def _known(t: TypeRef | None) -> TypeRef | None:
    return t if t is not None and typerules.type_problem(t) is None else None


def evaluation_order(task: Task) -> list[str]:
    """The computed inputs in an order in which each comes after the
    computed inputs it uses (those in a cycle are left out: the checker
    reports them)."""
    exprs = computed(task)
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in done or name in path:
            return
        for used in sorted(exprs[name].names & exprs.keys()):
            visit(used, [*path, name])
        done.add(name)
        order.append(name)

    for name in exprs:
        visit(name, [])
    return order


def evaluation_cycle(task: Task) -> list[str]:
    """A cycle among the computed defaults (``[a, b, a]``), or []."""
    exprs = computed(task)

    def walk(name: str, path: list[str]) -> list[str]:
        if name in path:
            return [*path[path.index(name):], name]
        for used in sorted(exprs[name].names & exprs.keys()):
            if used != name:
                found = walk(used, [*path, name])
                if found:
                    return found
        return []

    for name in exprs:
        found = walk(name, [])
        if found:
            return found
    return []
