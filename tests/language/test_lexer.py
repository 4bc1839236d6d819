"""``OutflowLexer`` gives the parser what lark's contextual lexer and a plain
indentation post-lexer would: the same tokens at the same places, and the same
errors. Checked against that reference on the examples, the broken corpus, the
benchmark's file and mutated files.
"""

from __future__ import annotations

import functools
import importlib.resources
import runpy
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.indenter import Indenter
from test_fuzz import EXAMPLES, mutated_outflowfiles

from outflowfile.errors import OutflowfileError
from outflowfile.language import parser
from outflowfile.language.lexer import TAB_WIDTH, IndentError
from outflowfile.language.runblocks import prepare
from outflowfile.language.source import Source

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.outflow"))


class ReferenceIndenter(Indenter):
    """_INDENT/_DEDENT at the start of the line they announce; line breaks
    inside brackets dropped; a dedent to an unknown column is an error."""

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = TAB_WIDTH

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        levels, depth, token = [0], 0, None
        for token in stream:
            if token.type != "_NL":
                yield token
                if token.type in self.OPEN_PAREN_types:
                    depth += 1
                elif token.type in self.CLOSE_PAREN_types and depth:
                    depth -= 1
                continue
            if depth:
                continue
            yield token
            indent = token.value.rsplit("\n", 1)[1]
            width = len(indent.expandtabs(TAB_WIDTH))
            at = (token.end_pos, token.end_line, token.end_column)
            if width > levels[-1]:
                levels.append(width)
                yield _marker("_INDENT", indent, *at)
                continue
            while width < levels[-1]:
                levels.pop()
                yield _marker("_DEDENT", indent, *at)
            if width != levels[-1]:
                raise IndentError(token.end_line, token.end_column)
        at = (token.end_pos, token.end_line, token.end_column) if token else (0, 1, 1)
        for _ in levels[1:]:
            yield _marker("_DEDENT", "", *at)


def _marker(kind: str, value: str, pos: int, line: int, column: int) -> Token:
    return Token(kind, value, pos, line, column, line, column, pos)


@functools.cache
def reference() -> Lark:
    grammar = importlib.resources.files("outflowfile.language.grammar") / "outflowfile.lark"
    return Lark(
        grammar.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        postlex=ReferenceIndenter(),
        maybe_placeholders=True,
    )


def fed_tokens(lark: Lark, text: str) -> tuple[list[tuple], tuple | None]:
    """Every token the parser is given, with its position, and how it ends."""
    tokens = []
    try:
        for token in lark.parse_interactive(text).iter_parse():
            tokens.append(_described(token))
    except UnexpectedCharacters as exc:
        return tokens, ("characters", exc.line, exc.column, exc.pos_in_stream, exc.allowed)
    except UnexpectedToken as exc:
        return tokens, ("token", _described(exc.token), frozenset(exc.expected))
    except UnexpectedInput as exc:
        return tokens, (type(exc).__name__, exc.line, exc.column)
    except IndentError as exc:
        return tokens, ("indent", exc.line, exc.column)
    return tokens, None


def _described(token: Token) -> tuple:
    return (
        token.type,
        token.value,
        token.start_pos,
        token.line,
        token.column,
        token.end_line,
        token.end_column,
        token.end_pos,
    )


def assert_same_tokens(text: str) -> None:
    source = Source.of(text)
    try:
        prepared = prepare(source, "Outflowfile")
    except OutflowfileError:
        return  # rejected before lark sees it
    ours = fed_tokens(parser._lark(), prepared.text)
    assert ours == fed_tokens(reference(), prepared.text)


@pytest.mark.parametrize("text", EXAMPLES, ids=["tutorial", "wordcount", "more"])
def test_examples(text: str) -> None:
    assert_same_tokens(text)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_corpus(path: Path) -> None:
    assert_same_tokens(path.read_text(encoding="utf-8"))


def test_benchmark_file() -> None:
    bench = runpy.run_path(str(Path(__file__).parents[2] / "benchmarks" / "bench_parse.py"))
    assert_same_tokens(bench["generate"](3))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "task f():\n    shell: 'x'   ",
        "task map():\n    shell: 'x'\n",  # a keyword where a name is expected
        "task f(glob: int):\n    partition:gpu\n    call: a.b:c\n",  # NAME, not CALLREF
        "config:\n    x: list = [1,\n  2,\n\t3]\n",
        "workflow w:\n    a\n    | b |\n    c\n  d\n",
        "task f():\n  shell: 'x'\n cpus: 2\n",
        "task f()\n    $\n",
        'task f():\n    shell: "abc\n',
        "task f():\n    shell: '''abc\n",
        "workflow w: a | \\\n    b\n",
        "tasks f():\n",
    ],
)
def test_edge_cases(text: str) -> None:
    assert_same_tokens(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_outflowfiles())
def test_mutated_files(text: str) -> None:
    assert_same_tokens(text)


@given(st.text(alphabet="task workflow map glob True:()[]{}|,=->.\"'#\\\n\t x1", max_size=60))
def test_random_text(text: str) -> None:
    assert_same_tokens(text)
