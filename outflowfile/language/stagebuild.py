"""The parts of a workflow's tree the transformer hands over: the ``as (...)``
clause of a map and run-time conditions (``if (...) { } else { }``).

Called by ``outflowfile.language.transform`` only, with its own ways of
placing a token and reading a literal, so that a bad literal is reported as
any other value is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lark import Token, Tree

from outflowfile.language.model import (
    CondCompare,
    Condition,
    CondLogic,
    CondName,
    CondNot,
    CondValue,
    Location,
    MapOutput,
)

Locate = Callable[[Token], Location]
Literal = Callable[[Token], Any]

_LOGIC = {"cond_any": "or", "cond_every": "and"}


def map_outputs(tree: Tree | None, loc: Locate) -> list[MapOutput] | None:
    """``as (bams = sorted, bai)``: None when the map has no ``as``."""
    if tree is None:
        return None
    outputs = []
    for part in tree.children:
        if isinstance(part, Tree):
            name, source = part.children
            given = name if source is None else source
            outputs.append(MapOutput(str(name), str(given), loc(name), loc(given)))
    return outputs


def condition(node: Tree | Token, loc: Locate, literal: Literal) -> Condition:
    """The model of a condition's tree (``grammar/outflowfile.lark``)."""
    if isinstance(node, Token):
        return CondValue(literal(node))
    kind = node.data
    parts: list[Any] = node.children
    if kind == "cond_name":
        return CondName(str(parts[0]), loc(parts[0]))
    if kind == "cond_group":
        return condition(parts[1], loc, literal)
    if kind == "cond_negate":
        return CondNot(condition(parts[1], loc, literal))
    if kind == "cond_comparison":
        left, op, right = parts
        return CondCompare(
            str(op), condition(left, loc, literal), condition(right, loc, literal), loc(op)
        )
    op = _LOGIC[kind]
    left = condition(parts[0], loc, literal)
    right = condition(parts[2], loc, literal)
    # `a and b and c` nests to the left in the tree: one CondLogic of three.
    first = left.parts if isinstance(left, CondLogic) and left.op == op else (left,)
    return CondLogic(op, (*first, right))


def condition_text(cond: Condition) -> str:
    """A condition as it reads, for messages and views."""
    if isinstance(cond, CondName):
        return cond.name
    if isinstance(cond, CondValue):
        return repr(cond.value)
    if isinstance(cond, CondNot):
        return f"not {_grouped(cond.operand)}"
    if isinstance(cond, CondCompare):
        return f"{_grouped(cond.left)} {cond.op} {_grouped(cond.right)}"
    return f" {cond.op} ".join(_grouped(p) for p in cond.parts)


def _grouped(cond: Condition) -> str:
    text = condition_text(cond)
    return f"({text})" if isinstance(cond, (CondLogic, CondCompare)) else text
