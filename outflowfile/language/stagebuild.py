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
            children: list[Any] = part.children
            name, source = children
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
    """A condition as it reads, for messages and views: Python's spelling,
    with the parentheses its precedence needs (and around a comparison
    under ``not``, as most write it)."""
    if isinstance(cond, CondName):
        return cond.name
    if isinstance(cond, CondValue):
        return repr(cond.value)
    if isinstance(cond, CondNot):
        least = _NOT if isinstance(cond.operand, CondNot) else _ATOM
        return f"not {_within(cond.operand, least)}"
    if isinstance(cond, CondCompare):
        return f"{_within(cond.left, _ATOM)} {cond.op} {_within(cond.right, _ATOM)}"
    own = _precedence(cond)
    return f" {cond.op} ".join(_within(p, own + 1) for p in cond.parts)


_OR, _AND, _NOT, _COMPARE, _ATOM = range(5)


def _precedence(cond: Condition) -> int:
    if isinstance(cond, CondLogic):
        return _OR if cond.op == "or" else _AND
    if isinstance(cond, CondNot):
        return _NOT
    return _COMPARE if isinstance(cond, CondCompare) else _ATOM


def _within(cond: Condition, least: int) -> str:
    """``cond``'s text where what binds less tightly than ``least`` needs parentheses."""
    text = condition_text(cond)
    return f"({text})" if _precedence(cond) < least else text
