"""The problems the checker finds, and the words it shares between checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from outflowfile.errors import ProblemList
from outflowfile.language import typerules
from outflowfile.language.model import Location, TypeRef


@dataclass
class Findings:
    """Problems found so far, each reported once."""

    problems: ProblemList = field(default_factory=ProblemList)
    seen: set[tuple[str, Location | None]] = field(default_factory=set)

    def add(self, message: str, loc: Location | None, hint: str | None = None) -> None:
        # A sub-workflow is walked once per use; report each problem once.
        if (message, loc) in self.seen:
            return
        self.seen.add((message, loc))
        self.problems.add(message, loc, hint)

    def check_type(self, t: TypeRef, what: str, loc: Location | None) -> bool:
        """Whether ``t`` is a valid type; reports it if not."""
        found = typerules.type_problem(t)
        if found is None:
            return True
        message, hint = found
        self.add(f"{what}: {message}", loc, hint)
        return False


def quoted(names: list[str] | set[str]) -> str:
    return ", ".join(sorted(names))


def did_you_mean(name: str, candidates: set[str] | list[str]) -> str | None:
    near = typerules.suggest(name, set(candidates))
    return f"did you mean '{near}'?" if near else None


def join_hints(*parts: str | None) -> str | None:
    text = " ".join(p for p in parts if p)
    return text or None


def line_of(loc: Location | None, here: Location | None = None) -> str:
    """``line N``, or ``FILE:N`` when ``loc`` is in another file than ``here``
    (an included file)."""
    if loc is None:
        return "an earlier line"
    if here is not None and here.file != loc.file:
        return f"{loc.file}:{loc.line}"
    return f"line {loc.line}"
