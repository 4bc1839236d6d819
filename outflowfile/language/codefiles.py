"""Where the code of a ``call:`` or ``script:`` body is, found without
importing anything (importing the user's code while planning would be slow
and run whatever its modules do at import).

A ``call:`` module is looked for as Python would find it with the project
directory first on ``sys.path``: ``pkg/mod.py`` or ``pkg/mod/__init__.py``
under the project. A module that is not there may be an installed one (its
top-level package found by the import system's finders, which import
nothing); that one is the environment's, not the project's. A ``script:``
is a path relative to the Outflowfile's directory, run by the program its
suffix names.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

# A script's suffix -> the program that runs it ("python": outflow's own).
SCRIPT_RUNNERS = {".py": "python", ".R": "Rscript", ".r": "Rscript", ".sh": "bash"}


def module_file(module: str, project: Path) -> Path | None:
    """The source file of ``module`` in the project directory, or None."""
    base = project.joinpath(*module.split("."))
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def installed(module: str) -> bool:
    """Whether the top-level package of ``module`` is importable from
    outflow's environment (its submodules are not looked for: finding them
    would import the package)."""
    top = module.split(".", 1)[0]
    if top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class Script:
    """A ``script:`` as it will run: its file and the program for it."""

    path: Path  # absolute
    runner: str  # "python", "Rscript" or "bash"


def script_runner(written: str) -> str | None:
    """The program for a script by its suffix, or None for a suffix outflow
    does not run."""
    return SCRIPT_RUNNERS.get(Path(written).suffix)


def script_file(written: str, outflowfile: Path) -> Path:
    """The script's absolute path: ``written`` is relative to the Outflowfile's directory."""
    path = Path(written)
    return path if path.is_absolute() else outflowfile.parent / path


def runner_missing(runner: str) -> bool:
    """Whether the program is not on PATH (outflow's own Python always is)."""
    return runner != "python" and shutil.which(runner) is None
