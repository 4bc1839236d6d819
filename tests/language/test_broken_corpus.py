"""Every ``tests/language/broken/*.outflow`` must fail to load with the error it announces.

Each file starts with ``# expect: LINE:COL: message fragment``: the first
problem reported must be at that line and column (1-based, in that file) and
its message must contain the fragment. The rendered error must show the
source line and a caret under the column.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from outflowfile.errors import UserError
from outflowfile.language import loader

BROKEN = Path(__file__).parent / "broken"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+?)\s*\Z")


def corpus() -> list[Path]:
    return sorted(BROKEN.glob("*.outflow"))


def expectation(path: Path) -> tuple[int, int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = EXPECT.match(first)
    assert match, f"{path.name}: the first line must be '# expect: LINE:COL: fragment'"
    return int(match.group(1)), int(match.group(2)), match.group(3)


def test_corpus_is_there() -> None:
    assert len([p for p in corpus() if p.name.startswith("parse_")]) >= 30


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_broken_file(path: Path) -> None:
    line, column, fragment = expectation(path)
    with pytest.raises(UserError) as info:
        loader.load(path)
    error = info.value
    problem = error.problems[0]
    rendered = error.render()
    assert problem.loc is not None, rendered
    assert (problem.loc.line, problem.loc.column) == (line, column), rendered
    assert fragment in problem.message, rendered

    source_line = path.read_text(encoding="utf-8").splitlines()[line - 1]
    shown = rendered.splitlines()
    assert f"{path}:{line}:{column}: " in shown[0], rendered
    assert shown[1] == "    " + source_line.expandtabs(1), rendered
    assert shown[2] == "    " + " " * (column - 1) + "^", rendered
