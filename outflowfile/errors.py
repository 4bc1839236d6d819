"""User-facing errors.

A ``UserError`` is something the person running outflow can fix (a broken
Outflowfile, a bad option, a missing file). The command prints it without a
Python traceback and exits with status 2. When it has a location, the message
shows ``file:line:col: message``, the source line and a caret under the spot.
"""

from __future__ import annotations

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
            shown = text.rstrip("\n").expandtabs(1)
            lines.append(f"    {shown}")
            lines.append("    " + " " * max(self.loc.column - 1, 0) + "^")
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)


def _line_of(source: str | None, loc: Location) -> str | None:
    if source is None:
        try:
            source = Path(loc.file).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    lines = source.splitlines()
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
