"""Computing a job's defaults: the values of its inputs' default
expressions (``language/expressions.py``), once its other inputs are known.

Expansion binds a computed input, when nothing else binds it, to a
placeholder (the expression's text, so that jobs with the same other inputs
are one job) and replaces it here, in an order in which each default comes
after those it uses. The value is the job's input, in its key, as any other:
a change of what the expression uses changes the key; a change of anything
else does not. A name an expression uses is another input of the task, else
a config entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from outflowfile.language import typerules
from outflowfile.language.defaultcheck import evaluation_order
from outflowfile.language.expressions import EvaluationError, Expression
from outflowfile.language.model import Location, Param, Task, TypeRef


def computed_params(
    task: Task,
) -> tuple[tuple[tuple[str, Param], ...], tuple[tuple[str, Any], ...]]:
    """The task's inputs with each computed default made a placeholder,
    and the computed ones, ``(name, (expression, declared type,
    placeholder))``, in the order to compute them."""
    params: list[tuple[str, Param]] = []
    found: dict[str, tuple[Expression, TypeRef | None, str]] = {}
    for p in task.params:
        if isinstance(p.default, Expression):
            # The placeholder is found again by identity: bound to it, the
            # input takes its default.
            placeholder = f"<computed: {p.default.source}>"
            found[p.name] = (p.default, p.type, placeholder)
            p = replace(p, default=placeholder)
        params.append((p.name, p))
    return tuple(params), tuple((name, found[name]) for name in evaluation_order(task))


def compute_defaults(
    params: dict[str, Any],
    computed: tuple[tuple[str, Any], ...],
    config: Mapping[str, Any],
    label: str,
    error: Callable[[str, Location | None], Exception],
) -> None:
    """Replace the placeholders in ``params`` (inputs bound to their
    computed default) by their values; raises ``error(message, loc)``, the
    message naming the job (``label``), when one cannot be computed or is
    not of its input's declared type."""
    for name, (expr, declared, placeholder) in computed:
        if params.get(name) is not placeholder:
            continue  # bound to something else
        values = {}
        for used in expr.names:
            if used in params:
                values[used] = params[used]
            elif used in config:
                values[used] = config[used]
        try:
            value = expr.evaluate(values)
        except EvaluationError as exc:
            raise error(f"{label}: {exc.message}", exc.loc) from None
        if declared is not None and not typerules.matches(value, declared):
            raise error(
                f"{label}: the default of input '{name}' gives {typerules.describe(value)}, "
                f"but the input is declared {declared}",
                expr.loc,
            )
        params[name] = value
