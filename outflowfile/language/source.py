"""The text of an Outflowfile as lark sees it, and Python's quoting in it.

``Source.of(text)`` normalises line ends and notes, for each line, whether it
starts inside a triple-quoted string (in the Outflowfile itself or in a
``run:`` block: both use Python's quoting). ``end_of_code`` finds where a
line's code ends before a trailing comment (for error positions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """The text as lark sees it (``\\r\\n`` -> ``\\n``, a final newline) and its
    lines, with whether each line starts inside a triple-quoted string."""

    text: str
    lines: list[str]
    in_string: list[bool]

    @classmethod
    def of(cls, text: str) -> Source:
        text = text.replace("\r\n", "\n")
        if not text.endswith("\n"):
            text += "\n"
        lines = text.split("\n")[:-1]
        if '"""' not in text and "'''" not in text:  # no string spans lines
            return cls(text, lines, [False] * len(lines))
        return cls(text, lines, string_starts(lines))


_QUOTE_OR_COMMENT = re.compile(r"#|'''|\"\"\"|'|\"")
_STRING_END = {
    '"': re.compile(r'(?:[^"\\]|\\.)*"'),
    "'": re.compile(r"(?:[^'\\]|\\.)*'"),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""'),
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''"),
}


def string_starts(lines: list[str]) -> list[bool]:
    """For each line, whether it starts inside a triple-quoted string (in the
    Outflowfile itself or in a ``run:`` block: both use Python's quoting)."""
    starts = []
    open_quote: str | None = None
    for line in lines:
        starts.append(open_quote is not None)
        if open_quote is None and '"' not in line and "'" not in line:
            continue
        open_quote = _scan_line(line, open_quote)
    return starts


def _scan_line(line: str, open_quote: str | None) -> str | None:
    """The triple quote left open at the end of ``line``, if any."""
    pos = 0
    while True:
        if open_quote is not None:
            end = _STRING_END[open_quote].match(line, pos)
            if end is None:
                return open_quote
            pos, open_quote = end.end(), None
            continue
        found = _QUOTE_OR_COMMENT.search(line, pos)
        if found is None or found.group() == "#":
            return None
        quote = found.group()
        if len(quote) == 3:
            pos, open_quote = found.end(), quote
            continue
        end = _STRING_END[quote].match(line, found.end())
        if end is None:
            return None  # an unterminated one-line string: the lexer reports it
        pos = end.end()


def end_of_code(line: str) -> int:
    """The 1-based column just after the last character of code on ``line``
    (before any trailing comment)."""
    pos, end = 0, 0
    while True:
        found = _QUOTE_OR_COMMENT.search(line, pos)
        if found is None or found.group() == "#":
            stop = len(line) if found is None else found.start()
            code = line[:stop].rstrip()
            return max(len(code), end) + 1
        closing = _STRING_END[found.group()].match(line, found.end())
        if closing is None:
            return len(line.rstrip()) + 1
        pos = end = closing.end()
