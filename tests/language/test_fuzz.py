"""Mutated Outflowfiles either parse or fail with a located OutflowfileError.

Never a lark exception, a Python traceback or a location outside the file.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parser import TUTORIAL, WORDCOUNT

from outflowfile.errors import OutflowfileError
from outflowfile.language.parser import parse

MORE = """\
config:
    xs: list[int] = [1, 2, (3, 4), {"a": None}]
    name = '''multi
line'''

task many(a, b: int = -1,
          c: str = "x") -> (d: int, e):
    input:
        f = "in/{a}.txt"
    output: g = "out/{a}.txt", h = "out/h.txt"
    mem: "4G"
    time: "1:30:00"
    local: true
    run: return {"d": 1, "e": 2}

task other(d) -> e: int:
    call: pkg.mod:func

workflow all:
    many
    | (other, map(xs -> a, cpus=2) {
        many | other
      })
    | other
"""

EXAMPLES = (TUTORIAL, WORDCOUNT, MORE)
TOKEN = re.compile(r"\s+|\w+|->|\"[^\"\n]*\"|'[^'\n]*'|.")
PUNCTUATION = list(":()[]{}|,=->\"'#\\\t\n ") + ["->", '"""', "map", "task", "run:", "    "]
# Words of the grammar that must never reach a message.
GRAMMAR_WORDS = re.compile(
    r"Tree\(|Token\(|__|\$END|\b_?(NAME|STRING|NUMBER|CALLREF|[LR](PAR|SQB|BRACE)|COLON|COMMA"
    r"|EQUAL|NL|INDENT|DEDENT|VBAR|ARROW)\b"
)
MUTATIONS = (
    "delete token",
    "delete line",
    "duplicate token",
    "duplicate line",
    "swap tokens",
    "swap lines",
    "insert punctuation",
)


def mutate(text: str, kind: str, where: int, what: str) -> str:
    if "line" in kind:
        parts = text.split("\n")
    else:
        parts = TOKEN.findall(text)
    if len(parts) < 2:
        return text
    i = where % (len(parts) - 1)
    if kind.startswith("delete"):
        del parts[i]
    elif kind.startswith("duplicate"):
        parts.insert(i, parts[i])
    elif kind.startswith("swap"):
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    else:
        parts.insert(i, what)
    return ("\n" if "line" in kind else "").join(parts)


@st.composite
def mutated_outflowfiles(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(MUTATIONS))
        where = draw(st.integers(0, 10_000))
        what = draw(st.sampled_from(PUNCTUATION))
        text = mutate(text, kind, where, what)
    return text


def assert_parses_or_fails_cleanly(text: str) -> None:
    try:
        parse(text, "Outflowfile")
    except OutflowfileError as error:
        lines = text.replace("\r\n", "\n").count("\n") + 1
        for problem in error.problems:
            assert problem.loc is not None, error.render(text)
            assert problem.loc.file == "Outflowfile"
            assert 1 <= problem.loc.line <= lines, error.render(text)
            assert problem.loc.column >= 1, error.render(text)
            assert not GRAMMAR_WORDS.search(problem.message), error.render(text)
        assert error.render(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_outflowfiles())
def test_mutated_examples(text: str) -> None:
    assert_parses_or_fails_cleanly(text)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="task workflow config map run: shell() ->{}[]|,='\"#\n\t x1", max_size=80))
def test_random_text(text: str) -> None:
    assert_parses_or_fails_cleanly(text)


def test_examples_parse() -> None:
    for text in EXAMPLES:
        parse(text, "Outflowfile")
