"""Read an Outflowfile from disk and return its checked model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from outflowfile.errors import UserError
from outflowfile.language.model import Outflowfile

FILENAMES = ("Outflowfile", "outflowfile")


def find_outflowfile(directory: Path) -> Path:
    """The Outflowfile of a project directory, or a clear error."""
    for name in FILENAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise UserError(
        f"no Outflowfile in {directory}",
        hint="create one, or name it with -f/--file, or point at its project with -d/--directory",
    )


def load(path: Path, project: Path | None = None) -> Outflowfile:
    """Parse and check ``path``; raises ``UserError`` on any problem. The
    code that ``call:`` and ``script:`` name is looked for in ``project``
    (by default the Outflowfile's directory)."""
    from outflowfile.language import check, parser

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no such Outflowfile: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    model = parser.parse(text, str(path))
    check.check(model, project if project is not None else path.parent)
    model.digest = hashlib.sha256(text.encode()).hexdigest()
    return model
