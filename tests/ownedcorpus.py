"""The mistaken Outflowfiles of issue 16 ("Outputs are owned"), shared by
``tests/language/test_ownership.py`` (the checker) and
``tests/cli/test_cli_ownership.py`` (the installed command).

``tests/language/owned/*.outflow`` each start with
``# expect: LINE:COL: message``: the first problem must be that one,
exactly, there. ``@PROJECT@`` in a file stands for the project directory
it is copied into.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

OWNED = Path(__file__).parent / "language" / "owned"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+?)\s*\Z")


def corpus() -> list[Path]:
    return sorted(OWNED.glob("*.outflow"))


def install(source: Path, project: Path) -> tuple[Path, int, int, str]:
    """Copy a corpus file into ``project`` as its Outflowfile; its expectation."""
    project.mkdir(parents=True, exist_ok=True)
    real = os.path.realpath(project)
    text = source.read_text(encoding="utf-8").replace("@PROJECT@", real)
    path = project / "Outflowfile"
    path.write_text(text, encoding="utf-8")
    match = EXPECT.match(text.splitlines()[0])
    assert match, f"{source.name}: the first line must be '# expect: LINE:COL: message'"
    return path, int(match.group(1)), int(match.group(2)), match.group(3)
