"""Run-time conditions: ``if (reads > 1000 and not skip) { ... }``.

A condition is a small expression the parser builds as plain dataclasses
(``model.Condition``): names, literals (numbers, strings, True, False,
None), the comparisons ``== != < <= > >=``, ``and``, ``or``, ``not`` and
parentheses. Nothing else can be written, so evaluating one runs no code of
the user's, whatever the values of the names (config, ``--config``, or an
upstream job's output) are: it only compares them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from outflowfile.language.model import (
    CondCompare,
    Condition,
    CondLogic,
    CondName,
    CondNot,
    CondValue,
)

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
COMPARISONS = tuple(_COMPARE)


class ConditionError(Exception):
    """A condition that cannot be evaluated on these values (``"a" < 3``)."""


def condition_names(cond: Condition) -> Iterator[CondName]:
    """The names a condition reads, in the order written."""
    if isinstance(cond, CondName):
        yield cond
    elif isinstance(cond, CondCompare):
        yield from condition_names(cond.left)
        yield from condition_names(cond.right)
    elif isinstance(cond, CondLogic):
        for part in cond.parts:
            yield from condition_names(part)
    elif isinstance(cond, CondNot):
        yield from condition_names(cond.operand)


def evaluate(cond: Condition, values: dict[str, Any]) -> Any:
    """The value of ``cond`` with its names bound to ``values`` (Python's
    meaning of each operator); ``ConditionError`` when a comparison fails."""
    if isinstance(cond, CondValue):
        return cond.value
    if isinstance(cond, CondName):
        return values[cond.name]
    if isinstance(cond, CondNot):
        return not evaluate(cond.operand, values)
    if isinstance(cond, CondLogic):
        result: Any = cond.op == "and"
        for part in cond.parts:
            result = evaluate(part, values)
            if (cond.op == "and") != bool(result):
                return result
        return result
    left, right = evaluate(cond.left, values), evaluate(cond.right, values)
    try:
        return _COMPARE[cond.op](left, right)
    except TypeError:
        raise ConditionError(f"cannot compare {_shown(left)} {cond.op} {_shown(right)}") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
