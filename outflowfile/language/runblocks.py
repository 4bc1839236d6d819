"""The ``run:`` pre-pass: find each ``run:`` block (arbitrary Python, which
the grammar cannot tokenise), record it by line number and blank it in the
text handed to lark, so every other line and column stays where it was. It
also rejects indentation that mixes tabs and spaces.

A ``run:`` block is the code on the ``run:`` line (``run: return x + 1``),
or else the lines after it indented deeper than ``run:``, plus any line
that starts inside a triple-quoted string of the block; blank and comment
lines inside it belong to it, trailing ones do not. ``RunBlock.code`` is the
block dedented, ``RunBlock.first_line`` the file line of its first line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from outflowfile.errors import OutflowfileError
from outflowfile.language.model import Location
from outflowfile.language.source import Source


@dataclass
class RunBlock:
    """A ``run:`` block found by the pre-pass. ``line`` is the line of ``run:``.
    ``wrapped`` is the block as the body of a function, its lines in their
    original columns; its line N is line ``N + line_offset`` of the file."""

    line: int
    code: str
    first_line: int
    column: int
    wrapped: str
    line_offset: int


@dataclass
class Prepared:
    text: str
    run_blocks: dict[int, RunBlock] = field(default_factory=dict)


_RUN_LINE = re.compile(r"([\t ]+)(run[\t ]*:)(.*)\Z")
_TASK_LINE = re.compile(r"task\b")
RUN_FUNCTION = "__outflow_run__"


def prepare(source: Source, path: str) -> Prepared:
    """Find and blank the ``run:`` blocks; check the indentation characters."""
    lines, in_string = source.lines, source.in_string
    out = list(lines)
    blocks: dict[int, RunBlock] = {}
    indenter = _IndentChars(path)
    in_task = seen_code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        code = line.lstrip(" \t")
        if in_string[i] or not code or code[0] == "#":
            i += 1
            continue
        indent = line[: len(line) - len(code)]
        if indent and not seen_code:
            raise OutflowfileError(
                "unexpected indentation",
                loc=Location(path, i + 1, len(indent) + 1),
                hint="the first line starts at the left margin",
            )
        seen_code = True
        if not indent:
            in_task = _TASK_LINE.match(code) is not None
            i += 1
            continue
        indenter.check(indent, i + 1)
        match = _RUN_LINE.match(line) if in_task and code.startswith("run") else None
        if match is None:
            i += 1
            continue
        last = _block_end(lines, in_string, i, len(indent), indenter)
        blocks[i + 1] = _run_block(source, i, last, match, path)
        out[i] = line[: match.end(2)]
        for j in range(i + 1, last + 1):
            out[j] = ""
        i = last + 1
    if not blocks:
        return Prepared(source.text)
    return Prepared("\n".join(out) + "\n", blocks)


def _block_end(
    lines: list[str], in_string: list[bool], start: int, width: int, indenter: _IndentChars
) -> int:
    """The index of the last line of the block under line ``start``: the lines
    indented deeper, with blank and comment lines inside it."""
    last = start
    for j in range(start + 1, len(lines)):
        if in_string[j]:
            last = j
            continue
        line = lines[j]
        code = line.lstrip(" \t")
        if not code or code[0] == "#":
            continue
        indent = len(line) - len(code)
        if indent <= width:
            break
        indenter.check(line[:indent], j + 1)
        last = j
    return last


def _run_block(source: Source, i: int, last: int, match: re.Match[str], path: str) -> RunBlock:
    lines = source.lines
    same_line = match.group(3)
    code_start = match.start(3) + len(same_line) - len(same_line.lstrip())
    inline = same_line.strip()
    if inline and not inline.startswith("#"):
        if last > i:
            raise OutflowfileError(
                "code on the same line as 'run:' cannot continue on indented lines",
                loc=Location(path, i + 2, 1),
                hint="put all of the block's code on the lines under 'run:'",
            )
        spaced = lines[i][: match.start(2)] + " " * len(match.group(2)) + lines[i][match.end(2) :]
        wrapped = f"def {RUN_FUNCTION}():\n{spaced}\n"
        return RunBlock(i + 1, inline.rstrip(), i + 1, code_start + 1, wrapped, i - 1)
    body = lines[i + 1 : last + 1]
    first = next((k for k, text in enumerate(body) if text.strip()), None)
    if first is None:
        return RunBlock(i + 1, "", i + 1, len(match.group(1)) + 1, "", 0)
    code_line = body[first]
    column = len(code_line) - len(code_line.lstrip(" \t")) + 1
    wrapped = f"def {RUN_FUNCTION}():\n" + "\n".join(body) + "\n"
    start = i + 1 + first
    code = _dedent(body[first:], source.in_string[start : last + 1])
    return RunBlock(i + 1, code, start + 1, column, wrapped, i)


def _dedent(body: list[str], in_string: list[bool]) -> str:
    """Remove the common indentation of the code lines, as ``textwrap.dedent``
    would, but leave the lines inside a string alone unless they have it, and
    let comment lines indented less than the code lose all of theirs."""
    margins = [
        text[: len(text) - len(text.lstrip(" \t"))]
        for text, quoted in zip(body, in_string, strict=True)
        if not quoted and text.strip() and not text.lstrip(" \t").startswith("#")
    ]
    margin = _common_prefix(margins)
    out = []
    for text, quoted in zip(body, in_string, strict=True):
        if quoted:
            out.append(text[len(margin) :] if text.startswith(margin) else text)
        elif not text.strip():
            out.append("")
        elif text.startswith(margin):
            out.append(text[len(margin) :])
        elif text.lstrip(" \t").startswith("#"):
            out.append(text.lstrip(" \t"))
        else:
            out.append(text)
    return "\n".join(out).rstrip("\n")


def _common_prefix(items: list[str]) -> str:
    if not items:
        return ""
    low, high = min(items), max(items)
    size = 0
    while size < len(low) and low[size] == high[size]:
        size += 1
    return low[:size]


class _IndentChars:
    """Remembers whether the file indents with tabs or spaces, and complains
    at the first line that does otherwise."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.char: str | None = None
        self.first_line = 0

    def check(self, indent: str, line: int) -> None:
        if self.char is None:
            self.char = indent[0]
            self.first_line = line
        bad = indent.find("\t" if self.char == " " else " ")
        if bad < 0:
            return
        used, other = ("spaces", "tabs") if self.char == " " else ("tabs", "spaces")
        earlier = "an earlier part of it" if line == self.first_line else f"line {self.first_line}"
        raise OutflowfileError(
            f"inconsistent indentation: this line is indented with {other}, "
            f"but {earlier} is indented with {used}",
            loc=Location(self.path, line, bad + 1),
            hint=f"indent every line with {used} (or every line with {other})",
        )
