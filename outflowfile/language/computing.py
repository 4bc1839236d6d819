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

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from outflowfile.language import typerules
from outflowfile.language.defaultcheck import evaluation_order
from outflowfile.language.expressions import EvaluationError, Expression
from outflowfile.language.model import Param, Task


def computed_params(
    task: Task,
) -> tuple[tuple[tuple[str, Param], ...], tuple[tuple[str, Any], ...]]:
    """The task's inputs with each computed default made a placeholder,
    and the computed ones, ``(name, (expression, declared type))``, in the
    order to compute them."""
    params: list[tuple[str, Param]] = []
    for p in task.params:
        if isinstance(p.default, Expression):
            p = replace(p, default=f"<computed: {p.default.source}>")
        params.append((p.name, p))
    declared = {p.name: p.type for p in task.params}
    exprs = {p.name: p.default for p in task.params if isinstance(p.default, Expression)}
    order = evaluation_order(task)
    return tuple(params), tuple((name, (exprs[name], declared[name])) for name in order)


def compute_defaults(
    params: dict[str, Any],
    computed: tuple[tuple[str, Any], ...],
    config: Mapping[str, Any],
    defaulted: set[str],
) -> None:
    """Replace the placeholders of the inputs in ``defaulted`` (bound to
    their default) in ``params`` by their computed values;
    ``EvaluationError`` (located) when one cannot be computed or is not of
    its input's declared type."""
    for name, (expr, declared) in computed:
        if name not in defaulted:
            continue
        values = {}
        for used in expr.names:
            if used in params:
                values[used] = params[used]
            elif used in config:
                values[used] = config[used]
        value = expr.evaluate(values)
        if declared is not None and not typerules.matches(value, declared):
            raise EvaluationError(
                f"the default of input '{name}' gives {typerules.describe(value)}, "
                f"but the input is declared {declared}",
                expr.loc,
            )
        params[name] = value
