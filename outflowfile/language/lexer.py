"""The token stream lark parses: one compiled regex, then indentation.

``OutflowLexer`` is handed to lark as ``Lark(..., lexer=OutflowLexer)``. It
produces exactly the tokens lark's contextual lexer and an indentation
post-lexer would, at the same positions, only faster:

- All terminals of ``grammar/outflowfile.lark`` are joined into one regex of
  named groups, in lark's order of precedence (priority, then the longest
  possible match, then the longest pattern, then the name), so the first
  alternative that matches is the terminal lark's lexer would choose. The
  regex also skips the spaces before each token.
- Keywords (``task``, ``map``, ``True``...) are matched as ``NAME`` and looked
  up in a dict, as lark does.
- lark's contextual lexer only considers the terminals the parser can accept
  next (so ``task map():`` reads ``map`` as a name). When the fast match is a
  terminal the parser cannot accept here, or nothing matches at all, the token
  is lexed by lark's own contextual lexer instead: same token, same errors
  (``UnexpectedCharacters``, ``UnexpectedToken``). Valid files rarely go there.
- Line breaks (``_NL``) become ``_INDENT``/``_DEDENT`` tokens as in Python,
  placed at the start of the line they announce; inside ``(...)``, ``[...]``
  and ``{...}`` line breaks are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lark import Token
from lark.common import LexerConf
from lark.lexer import ContextualLexer, LexerState, LineCounter, PatternRE, PatternStr, TerminalDef
from lark.lexer import Lexer as LarkLexer
from lark.parsers.lalr_parser_state import ParserState

__all__ = ["IndentError", "OutflowLexer", "TAB_WIDTH"]

TAB_WIDTH = 8
NEWLINE = "_NL"
INDENT, DEDENT = "_INDENT", "_DEDENT"
# Spaces and tabs (``%ignore WS``) start no other token: the pattern skips
# them before each token rather than matching them as tokens of their own.
_SPACES = r"[\t ]*"
OPENING = frozenset({"LPAR", "LSQB", "LBRACE"})
CLOSING = frozenset({"RPAR", "RSQB", "RBRACE"})


class IndentError(Exception):
    """A dedent to a column no enclosing block started at (private to parsing)."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line = line
        self.column = column


class OutflowLexer(LarkLexer):
    """lark's contextual lexer plus an indenter, with one regex match per token."""

    __future_interface__ = 2  # lex(lexer_state, parser_state)

    def __init__(self, conf: LexerConf) -> None:
        self.conf = conf
        terminals = sorted(conf.terminals, key=_precedence)
        self.keywords = _keywords(terminals)
        keyword_names = {name for words in self.keywords.values() for name in words.values()}
        alternatives = "|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})"
            for t in terminals
            if t.name not in keyword_names
        )
        self.pattern = re.compile(f"{_SPACES}(?:{alternatives})", conf.g_regex_flags)
        self.ignore = frozenset(conf.ignore)
        self._contextual: ContextualLexer | None = None

    def lex(self, lexer_state: LexerState, parser_state: ParserState) -> Iterator[Token]:
        return _indented(self._tokens(lexer_state, parser_state))

    def _tokens(self, lexer_state: LexerState, parser_state: ParserState) -> Iterator[Token]:
        """The tokens of the text, ignored ones left out, line breaks kept."""
        text, pos, end = lexer_state.text.text, lexer_state.text.start, lexer_state.text.end
        keywords, ignore = self.keywords, self.ignore
        # What the parser accepts in each state; its state is the top of its
        # stack (the list lark updates in place: ``parser_state.position``
        # without a property call per token).
        actions, states = parser_state.parse_conf.states, parser_state.state_stack
        line, line_start = 1 + text.count("\n", 0, pos), text.rfind("\n", 0, pos) + 1
        # typeshed lacks the (undocumented) Pattern.scanner: a match per call, each
        # starting where the last one ended, without re-parsing arguments.
        match = self.pattern.scanner(text, pos, end).match  # type: ignore[attr-defined]
        while pos < end:
            found = match()
            if found is not None:
                kind = found.lastgroup
                value = found[kind]
                pos = found.end() - len(value)
                if kind in ignore:
                    if "\n" in value:
                        line += value.count("\n")
                        line_start = pos + value.rindex("\n") + 1
                    pos += len(value)
                    continue
                if kind in keywords:
                    kind = keywords[kind].get(value, kind)
                if kind == NEWLINE or kind in actions[states[-1]]:
                    start, start_line, column = pos, line, pos - line_start + 1
                    pos += len(value)
                    if "\n" in value:
                        line += value.count("\n")
                        line_start = start + value.rindex("\n") + 1
                    end_column = pos - line_start + 1
                    yield _token(kind, value, start, start_line, column, line, end_column, pos)
                    continue
            token = self._contextual_token(lexer_state, parser_state, pos, line, line_start)
            if token is None:
                return
            assert token.end_pos is not None and token.end_line is not None  # lark sets them
            pos, line = token.end_pos, token.end_line
            line_start = lexer_state.line_ctr.line_start_pos
            match = self.pattern.scanner(text, pos, end).match  # type: ignore[attr-defined]
            yield token

    def _contextual_token(
        self,
        lexer_state: LexerState,
        parser_state: ParserState,
        pos: int,
        line: int,
        line_start: int,
    ) -> Token | None:
        """The next token as lark's contextual lexer reads it from ``pos`` (None
        at the end of the text); raises lark's error if there is none."""
        counter = LineCounter("\n")
        counter.char_pos, counter.line, counter.line_start_pos = pos, line, line_start
        counter.column = pos - line_start + 1
        lexer_state.line_ctr = counter
        return next(self._lark_lexer(parser_state).lex(lexer_state, parser_state), None)

    def _lark_lexer(self, parser_state: ParserState) -> ContextualLexer:
        if self._contextual is None:
            states = parser_state.parse_conf.states
            self._contextual = ContextualLexer(
                self.conf,
                {state: list(actions) for state, actions in states.items()},
                always_accept=(NEWLINE,),
            )
        return self._contextual


def _precedence(terminal: TerminalDef) -> tuple[int, int, int, str]:
    """lark's order among terminals that match at the same place."""
    pattern = terminal.pattern
    return (-terminal.priority, -pattern.max_width, -len(pattern.value), terminal.name)


def _keywords(terminals: list[TerminalDef]) -> dict[str, dict[str, str]]:
    """For a regex terminal (``NAME``), the literal terminals it also matches in
    full (``"task"`` -> ``TASK``): lark lexes those as the literal."""
    out: dict[str, dict[str, str]] = {}
    for regex in terminals:
        if not isinstance(regex.pattern, PatternRE):
            continue
        compiled = re.compile(regex.pattern.to_regexp())
        for literal in terminals:
            word = literal.pattern.value
            if (
                isinstance(literal.pattern, PatternStr)
                and literal.priority == regex.priority
                and compiled.fullmatch(word)
            ):
                out.setdefault(regex.name, {})[word] = literal.name
    return out


_new_str = str.__new__


def _token(
    kind: str,
    value: str,
    pos: int | None,
    line: int | None,
    column: int | None,
    end_line: int | None,
    end_column: int | None,
    end_pos: int | None,
) -> Token:
    """``Token(kind, value, pos, line, column, end_line, end_column, end_pos)``,
    without the keyword-argument shim of ``Token.__new__`` (a third of the cost).
    The positions are typed as ``Token``'s own (optional); every token lexed
    here has them."""
    token = _new_str(Token, value)
    token.type = kind
    token.value = value
    token.start_pos = pos
    token.line = line
    token.column = column
    token.end_line = end_line
    token.end_column = end_column
    token.end_pos = end_pos
    return token


def _indented(tokens: Iterator[Token]) -> Iterator[Token]:
    """Python-style ``_INDENT``/``_DEDENT`` tokens after each line break outside
    brackets, at the start of the line they announce."""
    levels = [0]
    depth = 0
    token = None
    for token in tokens:
        kind = token.type
        if kind != NEWLINE:
            yield token
            if kind in OPENING:
                depth += 1
            elif kind in CLOSING and depth:
                depth -= 1
            continue
        if depth:
            continue
        yield token
        indent = token.value[token.value.rindex("\n") + 1 :]
        width = len(indent.expandtabs(TAB_WIDTH))
        line, column, pos = token.end_line, token.end_column, token.end_pos
        if width > levels[-1]:
            levels.append(width)
            yield _token(INDENT, indent, pos, line, column, line, column, pos)
            continue
        while width < levels[-1]:
            levels.pop()
            yield _token(DEDENT, indent, pos, line, column, line, column, pos)
        if width != levels[-1]:
            assert line is not None and column is not None  # a lexed token has them
            raise IndentError(line, column)
    line = token.end_line if token else 1
    column = token.end_column if token else 1
    pos = token.end_pos if token else 0
    while len(levels) > 1:
        levels.pop()
        yield _token(DEDENT, "", pos, line, column, line, column, pos)
