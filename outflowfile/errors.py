"""User-facing errors.

A ``UserError`` is something the person running outflow can fix (a broken
Outflowfile, a bad option, a missing file). The command prints it without a
Python traceback and exits with status 2. When it has a location, the message
shows ``file:line:col: message``, the source line and a caret under the spot.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from outflowfile.language.model import Location


@dataclass
class Problem:
    """One located complaint; a ``UserError`` may carry several."""

    message: str
    loc: Location | None = None
    hint: str | None = None  # "expected ':' after the task header", "did you mean ...?"
    source_line: str | None = None  # the text of loc.line, when known

    def render(self, source: str | None = None) -> str:
        """``file:line:col: message``, then the line, a caret and the hint."""
        if self.loc is None:
            head = f"error: {self.message}"
            return head + (f"\n  {self.hint}" if self.hint else "")
        head = f"{self.loc}: {self.message}"
        text = self.source_line
        if text is None:
            text = _line_of(source, self.loc)
        lines = [head]
        if text is not None:
            shown, pad = shown_line(text.rstrip("\n"), self.loc.column)
            lines.append(f"    {shown}")
            lines.append("    " + " " * pad + "^")
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)


#: The most of a long source line an error shows, in terminal cells.
SHOWN_WIDTH = 100


def shown_line(text: str, column: int) -> tuple[str, int]:
    """``text`` as an error shows it, and the cells before its caret under
    ``column`` (1-based, in characters): a tab is one space, a control
    character a '?', a wide (East Asian) character two cells and a
    combining one none; a line longer than ``SHOWN_WIDTH`` is cut to the
    part around the column, with '...' where it was cut."""
    chars = [_visible(c) for c in text]
    widths = [_width(c) for c in chars]
    at = min(max(column - 1, 0), len(chars))
    if sum(widths) <= SHOWN_WIDTH:
        return "".join(chars), sum(widths[:at])
    start = at
    room = SHOWN_WIDTH // 2
    while start > 0 and room - widths[start - 1] >= 0:
        start -= 1
        room -= widths[start]
    end, room = start, SHOWN_WIDTH
    while end < len(chars) and room - widths[end] >= 0:
        room -= widths[end]
        end += 1
    head = "..." if start > 0 else ""
    tail = "..." if end < len(chars) else ""
    return head + "".join(chars[start:end]) + tail, len(head) + sum(widths[start:at])


def _visible(char: str) -> str:
    if char == "\t":
        return " "
    return "?" if unicodedata.category(char) == "Cc" else char


def _width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _line_of(source: str | None, loc: Location) -> str | None:
    if source is None:
        try:
            source = Path(loc.file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    # Lines end at "\n" only, as the lexer counts them (splitlines() would
    # also end one at a form feed or a vertical tab).
    lines = source.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    if 1 <= loc.line <= len(lines):
        return lines[loc.line - 1]
    return None


class UserError(Exception):
    """An error the user can act on. Exit status 2, no traceback."""

    exit_status = 2

    def __init__(
        self,
        message: str,
        loc: Location | None = None,
        hint: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        super().__init__(message)
        self.problems: list[Problem] = problems or [Problem(message, loc, hint)]

    @property
    def loc(self) -> Location | None:
        return self.problems[0].loc

    @property
    def message(self) -> str:
        return self.problems[0].message

    def render(self, source: str | None = None) -> str:
        return "\n".join(p.render(source) for p in self.problems)

    def __str__(self) -> str:
        return self.render()


def database_error(where: str, reason: str, elsewhere_hint: str) -> UserError:
    """What to say when the cache database ``where`` fails with ``reason``
    (SQLite's message): not a database, damaged, or another failure."""
    if "file is not a database" in reason:
        return UserError(
            f"{where} is not an outflow cache (it is not an SQLite database)", hint=elsewhere_hint
        )
    if "malformed" in reason:
        return UserError(
            f"the cache database {where} is damaged ({reason})",
            hint="move it away and run again (its results will be recomputed), or "
            f"try to recover it: sqlite3 {where} .recover",
        )
    return UserError(f"the cache database {where} failed: {reason}")


class OutflowfileError(UserError):
    """The Outflowfile does not parse or does not pass the checks."""


@dataclass
class ProblemList:
    """Collects problems so a checker can report all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, loc: Location | None = None, hint: str | None = None) -> None:
        self.problems.append(Problem(message, loc, hint))

    def raise_if_any(self) -> None:
        if self.problems:
            ordered = sorted(
                self.problems,
                key=lambda p: (p.loc.line, p.loc.column) if p.loc else (0, 0),
            )
            raise OutflowfileError(ordered[0].message, problems=ordered)
