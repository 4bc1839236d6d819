"""A valid Outflowfile's text -> lark's tree, in one loop.

``tree(tables, text)`` does what ``Lark.parse`` does with ``OutflowLexer``
(the same tokens, the same LALR tables, lark's own tree-building callbacks,
so the same tree) without a token stream in between: each token is matched
by the lexer's regex and fed to the LALR tables in the same loop, line breaks
become ``_INDENT``/``_DEDENT`` in place, and tokens the tree never keeps
(``:``, ``,``, line breaks...) are not made into ``Token`` objects at all.
The tokens it keeps carry their type, value, line and column, which is all
``outflowfile.language.transform`` reads; their other positions (``start_pos``,
``end_line``...) are left unset: only syntax errors need them, and those are
lark's.

It only reads files it can read exactly as lark would. At anything else (a
token the parser cannot take here, which includes every syntax error, text
no terminal matches, a bad dedent) it raises ``Fallback``, and the caller
parses the text with lark, which gives the same tree when lark's contextual
lexer reads the token differently (``task map():``), or the error with its
position and lark's context for the message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lark import Lark, Token, Tree
from lark.grammar import Terminal
from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders
from lark.parsers.lalr_analysis import Shift

from outflowfile.language.lexer import DEDENT, INDENT, NEWLINE, TAB_WIDTH, OutflowLexer

__all__ = ["Fallback", "Tables", "tables_of", "tree"]

OPENING = frozenset({"LPAR", "LSQB", "LBRACE"})
BRACKETS = OPENING | {"RPAR", "RSQB", "RBRACE"}


class Fallback(Exception):
    """The text needs lark's parser (private to parsing)."""


@dataclass(frozen=True)
class Tables:
    """What the loop needs from a built ``Lark``.

    ``actions[state][terminal or rule name]`` is the state to shift to (>= 0)
    or ``~i`` to reduce by ``reductions[i]``: (size, callback, rule name).
    """

    pattern: re.Pattern[str]
    keywords: dict[str, dict[str, str]]
    ignore: frozenset[str]
    dropped: frozenset[str]
    actions: list[dict[str, int]]
    reductions: list[tuple[int, Callable[[list], Any], str]]
    start: int
    end: int


def tables_of(lark: Lark) -> Tables:
    lexer = lark.parser.lexer
    assert isinstance(lexer, OutflowLexer)
    parser = lark.parser.parser.parser
    table, callbacks = parser.parse_table, parser.callbacks
    rules: dict[Any, int] = {}
    reductions: list[tuple[int, Callable[[list], Any], str]] = []
    actions: list[dict[str, int]] = [{} for _ in range(max(table.states) + 1)]
    for state, row in table.states.items():
        for symbol, (action, arg) in row.items():
            if action is Shift:
                actions[state][symbol] = arg
                continue
            if arg not in rules:
                rules[arg] = len(reductions)
                callback = _compiled(callbacks[arg])
                reductions.append((len(arg.expansion), callback, str(arg.origin.name)))
            actions[state][symbol] = ~rules[arg]
    kept = {
        s.name
        for rule in lark.rules
        for s in rule.expansion
        if isinstance(s, Terminal) and not s.filter_out
    }
    return Tables(
        pattern=lexer.pattern,
        keywords=lexer.keywords,
        ignore=lexer.ignore,
        dropped=frozenset(t.name for t in lark.terminals) - kept | {NEWLINE, INDENT, DEDENT},
        actions=actions,
        reductions=reductions,
        start=table.start_states["start"],
        end=table.end_states["start"],
    )


def _compiled(callback: Callable[[list], Any]) -> Callable[[list], Any]:
    """lark's tree-building callback for a rule, with its child filter (a loop
    over which children to keep, expand or pad with None, run at every
    reduction) compiled into one expression: ``c[0], None, c[2]``."""
    if not isinstance(callback, ChildFilterLALR | ChildFilterLALR_NoPlaceholders):
        return callback
    lines: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if not lines:
            lines.append(f"f = [{', '.join(items)}]")
        elif items:
            lines.append(f"f += [{', '.join(items)}]")
        items.clear()

    for i, expand, *pad in callback.to_include:
        items.extend(["None"] * (pad[0] if pad else 0))
        if not expand:
            items.append(f"c[{i}]")
        elif not lines and not items:
            lines.append(f"f = c[{i}].children")  # lark reuses the list too
        else:
            flush()
            lines.append(f"f += c[{i}].children")
    items.extend(["None"] * (getattr(callback, "append_none", 0) or 0))
    if lines:
        flush()
        body = "".join(f"    {line}\n" for line in lines) + "    return build(f)\n"
    else:
        body = f"    return build([{', '.join(items)}])\n"
    build = callback.node_builder
    namespace: dict[str, Any] = {"build": build, "new": object.__new__, "Tree": Tree}
    if isinstance(build, functools.partial) and build.func is Tree and not build.keywords:
        # Tree(name, children), without a call to Tree.__init__
        (name,) = build.args
        name = str(name)  # a Token when lark built the grammar now, a str from its cache
        body = (
            body.replace(
                "    return build(",
                f"    t = new(Tree)\n    t.data = {name!r}\n    t._meta = None\n    t.children = (",
            )
            + "    return t\n"
        )
    exec(f"def callback(c):\n{body}", namespace)  # noqa: S102 - code made above
    return namespace["callback"]


def tree(tables: Tables, text: str) -> Tree:
    """The tree of ``text``; raises ``Fallback`` where lark must take over."""
    keywords, ignore, dropped = tables.keywords, tables.ignore, tables.dropped
    actions, reductions = tables.actions, tables.reductions
    states: list[int] = [tables.start]
    values: list[Any] = []
    levels = [0]  # the indentation widths of the open blocks
    depth = 0  # brackets open
    line, line_start, pos, end = 1, 0, 0, len(text)
    # typeshed lacks the (undocumented) Pattern.scanner: a match per call, each
    # starting where the last one ended, without re-parsing arguments.
    match = tables.pattern.scanner(text).match  # type: ignore[attr-defined]
    while pos < end:
        found = match()
        if found is None:
            raise Fallback
        kind = found.lastgroup
        value = found[kind]
        pos = found.end()
        start = pos - len(value)
        if kind == NEWLINE or kind in ignore:
            if "\n" in value:
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
            if kind != NEWLINE or depth:
                continue
            _feed(actions, reductions, states, values, NEWLINE)
            indent = text[line_start:pos]
            width = len(indent.expandtabs(TAB_WIDTH)) if "\t" in indent else len(indent)
            if width > levels[-1]:
                levels.append(width)
                _feed(actions, reductions, states, values, INDENT)
                continue
            while width < levels[-1]:
                levels.pop()
                _feed(actions, reductions, states, values, DEDENT)
            if width != levels[-1]:
                raise Fallback
            continue
        if kind in keywords:
            kind = keywords[kind].get(value, kind)
        if kind in BRACKETS:
            if kind in OPENING:
                depth += 1
            elif depth:
                depth -= 1
        if kind in dropped:
            token = None
        else:  # Token(kind, value, line=..., column=...), the rest of its slots left unset
            token = _new_str(Token, value)
            token.type = kind
            token.value = value
            token.line = line
            token.column = start - line_start + 1
        if "\n" in value:  # a triple-quoted string, or '|' and the line breaks after it
            line += value.count("\n")
            line_start = start + value.rindex("\n") + 1
        # The LALR step, as in ``_feed`` (written out here: most tokens go this way).
        while True:
            action = actions[states[-1]].get(kind)
            if action is None:
                raise Fallback
            if action >= 0:
                states.append(action)
                values.append(token)
                break
            size, callback, rule = reductions[~action]
            if size:
                children = values[-size:]
                del values[-size:]
                del states[-size:]
            else:
                children = []
            values.append(callback(children))
            states.append(actions[states[-1]][rule])
    for _ in levels[1:]:
        _feed(actions, reductions, states, values, DEDENT)
    return _finish(tables, states, values)


_new_str = str.__new__


def _feed(
    actions: list[dict[str, int]],
    reductions: list[tuple[int, Callable[[list], Any], str]],
    states: list[int],
    values: list[Any],
    kind: str,
) -> None:
    """Shift a token the tree does not keep, after the reductions it causes."""
    while True:
        action = actions[states[-1]].get(kind)
        if action is None:
            raise Fallback
        if action >= 0:
            states.append(action)
            values.append(None)
            return
        size, callback, rule = reductions[~action]
        if size:
            children = values[-size:]
            del values[-size:]
            del states[-size:]
        else:
            children = []
        values.append(callback(children))
        states.append(actions[states[-1]][rule])


def _finish(tables: Tables, states: list[int], values: list[Any]) -> Tree:
    """Reduce at the end of the text until the start rule is complete."""
    actions, reductions = tables.actions, tables.reductions
    while True:
        action = actions[states[-1]].get("$END")
        if action is None or action >= 0:
            raise Fallback
        size, callback, rule = reductions[~action]
        if size:
            children = values[-size:]
            del values[-size:]
            del states[-size:]
        else:
            children = []
        values.append(callback(children))
        states.append(actions[states[-1]][rule])
        if states[-1] == tables.end:
            return values[-1]
