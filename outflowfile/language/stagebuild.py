"""The parts of a workflow's tree the transformer hands over: the ``as (...)``
clause of a map and run-time conditions (``if (...) { } else { }``).

Called by ``outflowfile.language.transform`` only, with its own way of
placing a token; a condition's text is read back from the source, as a
computed default's is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lark import Token, Tree

from outflowfile.language.defaults import SourceText
from outflowfile.language.expressions import Expression, ExpressionError, parse_expression
from outflowfile.language.model import Location, MapOutput

Locate = Callable[[Token], Location]


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


def condition(node: Tree, source: SourceText, path: str) -> Expression:
    """The expression of ``if (...)`` from its ``expression`` node: parsed
    and vetted as a computed default is (``language/expressions.py``), its
    syntax errors worded for a condition."""
    first: Any = node
    while isinstance(first, Tree):
        first = first.children[0]
    assert first.line is not None and first.column is not None
    loc = Location(path, first.line, first.column)
    try:
        return parse_expression(source.expression_at(first.line, first.column), loc)
    except ExpressionError as exc:
        if not exc.message.startswith(_INVALID):
            raise
        reason = exc.message[len(_INVALID):]
        raise ExpressionError(f"invalid condition in if (...): {reason}", exc.loc,
                              CONDITION_HINT) from None


_INVALID = "invalid expression: "
CONDITION_HINT = (
    "a condition is an expression, as a computed default is: names, literals, "
    "comparisons (== != < <= > >= in, not in), and, or, not, arithmetic and "
    "functions: if (reads > 1000 and not skip)"
)
