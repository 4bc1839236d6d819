"""Read an Outflowfile from disk and return its checked model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from outflowfile.errors import UserError
from outflowfile.language.model import Location, Outflowfile

FILENAMES = ("Outflowfile", "outflowfile")


def find_outflowfile(directory: Path) -> Path:
    """The Outflowfile of a project directory, or a clear error."""
    for name in FILENAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
        if candidate.is_symlink() and not candidate.exists():
            raise UserError(
                f"{candidate} is a symbolic link to {candidate.readlink()}, which does not exist"
            )
        if candidate.is_dir():
            raise UserError(
                f"{candidate} is a directory, not an Outflowfile",
                hint="an Outflowfile is a text file; name another with -f/--file",
            )
    raise UserError(
        f"no Outflowfile in {directory}",
        hint="create one, or name it with -f/--file, or point at its project with -d/--directory",
    )


def load(path: Path, project: Path | None = None) -> Outflowfile:
    """Parse and check ``path`` and the files it includes; raises
    ``UserError`` on any problem. The code that ``call:`` and ``script:``
    name is looked for in ``project`` (by default the Outflowfile's
    directory)."""
    from outflowfile.language import check, includes, parser, textfile

    try:
        text = textfile.read(path)
    except FileNotFoundError:
        raise UserError(f"no such Outflowfile: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not an Outflowfile") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    model = parser.parse(text, str(path))
    try:
        texts = includes.resolve(model, parser.parse)
        check.check(model, project if project is not None else path.parent)
    except RecursionError:  # the walks over workflows and maps recurse, as they nest
        raise UserError(
            "the Outflowfile nests too deeply to check: workflows or maps within one "
            "another, hundreds of levels down",
            loc=Location(str(path), 1, 1),
            hint="use fewer levels of workflows and maps",
        ) from None
    digest = hashlib.sha256(text.encode())
    for name, included in texts.items():  # an edited included file changes the plan too
        digest.update(f"\0{name}\0".encode() + included.encode())
    model.digest = digest.hexdigest()
    return model
