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

import ast
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


def top_level_names(source: Path) -> dict[str, bool] | None:
    """The names a Python file binds at its top level, read without running
    it, each with whether a ``def`` binds it; None when that cannot be told
    (it cannot be read, star-imports, or defines a module ``__getattr__``).
    ``SyntaxError`` when it does not parse."""
    try:
        tree = ast.parse(source.read_bytes(), str(source))
    except (OSError, ValueError):
        return None
    names: dict[str, bool] = {}
    for node in _top_statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.setdefault(alias.asname or alias.name.split(".")[0], False)
        elif isinstance(node, ast.ClassDef):
            names.setdefault(node.name, False)
        else:
            names.update(dict.fromkeys(_bound(node) - set(names), False))
    return None if "__getattr__" in names else names


def _top_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements at the top of a module, into ``if``/``try``/``with``
    blocks (a function defined under ``if sys.platform ...`` is there too)."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, (ast.If, ast.For, ast.While, ast.With, ast.AsyncWith)):
            out.extend(_top_statements(node.body + getattr(node, "orelse", [])))
        elif isinstance(node, ast.Try):
            blocks = node.body + node.orelse + node.finalbody
            blocks += [s for handler in node.handlers for s in handler.body]
            out.extend(_top_statements(blocks))
    return out


def _bound(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Assign):
        targets: list[ast.expr] = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    else:
        return set()
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
