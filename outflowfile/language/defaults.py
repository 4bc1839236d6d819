"""A task input's default, from its tokens in the parse tree.

The grammar takes a default as a run of tokens with its brackets balanced
(``expression`` in ``grammar/outflowfile.lark``); its text is read back
from the source here, up to the ``,`` or ``)`` that ends it, and parsed as
an expression (``language/expressions.py``). A plain literal (``3``,
``"x"``, ``[1, 2]``) is its value, as before; ``glob("...")`` stays a
``Glob`` (for the checker to refuse there); anything else is the
``Expression`` itself: a computed default.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from lark import Token, Tree

from outflowfile.language.expressions import ExpressionError, parse_expression
from outflowfile.language.model import Glob, Location

# Single tokens the builder reads as before (its own errors, its speed).
_PLAIN_TOKENS = frozenset({"STRING", "NUMBER", "TRUE", "FALSE", "NONE"})
_CLOSERS = {")": "(", "]": "[", "}": "{"}


class SourceText:
    """The text a tree was parsed from, by line and column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def offset(self, line: int, column: int) -> int:
        if self._starts is None:
            starts = [0]
            for i, char in enumerate(self.text):
                if char == "\n":
                    starts.append(i + 1)
            self._starts = starts
        return self._starts[line - 1] + column - 1

    def expression_at(self, line: int, column: int) -> str:
        """The text of the expression starting there: up to the first ``,``
        or closing bracket outside its own brackets."""
        import io
        import tokenize

        start = self.offset(line, column)
        rest = self.text[start:]
        depth = 0
        lines = rest.split("\n")
        end_line, end_col = len(lines), len(lines[-1])
        try:
            for tok in tokenize.generate_tokens(io.StringIO(rest).readline):
                if tok.type != tokenize.OP:
                    continue
                if tok.string in "([{":
                    depth += 1
                elif tok.string in _CLOSERS:
                    if depth == 0:
                        end_line, end_col = tok.start
                        break
                    depth -= 1
                elif tok.string == "," and depth == 0:
                    end_line, end_col = tok.start
                    break
        except (tokenize.TokenError, SyntaxError, IndentationError):
            pass  # the grammar balanced it: the text's end is as far as it goes
        head = "\n".join(lines[: end_line - 1])
        return (head + "\n" if end_line > 1 else "") + lines[end_line - 1][:end_col]


def default_value(
    node: Tree,
    source: SourceText,
    path: str,
    token_value: Callable[[Token], Any],
) -> Any:
    """The default of a task input from its ``expression`` node; raises
    ``ExpressionError`` (located) for one that cannot be used.
    ``token_value`` reads a lone literal token as the builder does."""
    tokens: list[Any] = node.children
    first = tokens[0]
    while isinstance(first, Tree):
        first = first.children[0]
    if len(tokens) == 1 and isinstance(first, Token) and first.type in _PLAIN_TOKENS:
        if first.type != "STRING" or "f" not in _prefix(first):
            return token_value(first)
    assert first.line is not None and first.column is not None
    loc = Location(path, first.line, first.column)
    text = source.expression_at(first.line, first.column)
    try:
        expr = parse_expression(text, loc)
    except ExpressionError:
        pattern = _glob_pattern(text)
        if pattern is None:
            raise
        return Glob(pattern, loc)
    literal, value = expr.literal()
    return value if literal else expr


def _glob_pattern(text: str) -> str | None:
    """The pattern of ``glob("...")``, which is not an expression."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if (
        isinstance(tree, ast.Call)
        and isinstance(tree.func, ast.Name)
        and tree.func.id == "glob"
        and len(tree.args) == 1
        and isinstance(tree.args[0], ast.Constant)
        and isinstance(tree.args[0].value, str)
    ):
        return tree.args[0].value
    return None


def _prefix(token: Token) -> str:
    text = str(token)
    quote = min((i for i in (text.find('"'), text.find("'")) if i >= 0), default=0)
    return text[:quote].lower()


__all__ = ["ExpressionError", "SourceText", "default_value"]
