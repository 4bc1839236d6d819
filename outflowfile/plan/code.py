"""The code a job runs from files, as its key sees it.

A ``call:`` job's key covers its module's source file in the project
directory (``pkg/mod.py`` or ``pkg/mod/__init__.py``, found as Python would
with the project first on ``sys.path``), read as text and never imported.
Python source counts through its syntax tree, as a ``run:`` block does: a
comment or a blank line changes nothing, any code does (the whole module's,
not only the function's: what it calls lives there too). A module from
outside the project (an installed package) counts by its name only. A
``script:`` counts by its file's content (a Python script through its
syntax tree). The project modules Python code imports count too, and
those they import (codeimports.py): for a ``call:`` module, a ``.py``
script (from its own directory) and a ``run:`` block alike. Each file is
read once per plan.

The plan memo (memo.py) is fingerprinted with the files' raw digests
(``fingerprint``): any edit plans again, and the plan then decides from
the keys.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from outflowfile.language.codefiles import module_file, script_file
from outflowfile.language.model import CallBody, RunBody, ScriptBody, Task
from outflowfile.plan.codeimports import ImportFinder

MISSING = "missing"


@dataclass
class CodeDigests:
    """The digest of each task's code file, each file read once."""

    project: Path
    outflowfile: Path
    _known: dict[Path, str] = field(default_factory=dict)
    _finder: ImportFinder = field(default_factory=ImportFinder)
    _imports: dict[str, list[Path]] = field(default_factory=dict)  # by task name

    def of(self, task: Task) -> str:
        """'' for a body written in the Outflowfile that imports no project
        module (or an installed module); else the digest of its file
        (``MISSING`` when it is not there), with those of the project
        modules it imports when there are any."""
        path = code_file(task, self.project, self.outflowfile)
        imported = self._imported(task, path)
        if path is None and not imported:
            return ""
        own = "" if path is None else self._digest(path)
        if not imported:
            return own  # the digest it always had: caches of old stay valid
        parts = [own] + [f"{self._name(p)}\0{self._digest(p)}" for p in imported]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def _imported(self, task: Task, path: Path | None) -> list[Path]:
        found = self._imports.get(task.name)
        if found is None:
            found = self._imports[task.name] = code_imports(task, path, self.project, self._finder)
        return found

    def _digest(self, path: Path) -> str:
        found = self._known.get(path)
        if found is None:
            found = self._known[path] = _digest(path, normalised=True)
        return found

    def _name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project))
        except ValueError:
            return str(path)

    def edited_since(self, task: Task, since: float | None) -> str | None:
        """Why a job of ``task`` whose definition differs from its record's
        (a run that started at ``since``) must run, when its code file was
        modified since: ``code changed: scripts/plot.py``. The record keeps
        only the whole definition's hash, so the files' modification times
        tell which part changed; when the file defining the task changed too,
        either may be the cause. None when the code file is older."""
        if since is None:
            return None
        path = code_file(task, self.project, self.outflowfile)
        files = [] if path is None else [path]
        edited = [p for p in files + self._imported(task, path) if _mtime(p) > since]
        if not edited:
            return None
        name = ", ".join(self._name(p) for p in edited)
        defined_in = task.loc.file if task.loc is not None else str(self.outflowfile)
        if _mtime(Path(defined_in)) > since:
            return f"task definition or code changed: {name}"
        return f"code changed: {name}"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


def code_file(task: Task, project: Path, outflowfile: Path) -> Path | None:
    """The file of a ``call:`` module in the project, or of a ``script:``."""
    body = task.body
    if isinstance(body, CallBody):
        return module_file(body.module, project)
    if isinstance(body, ScriptBody):
        return script_file(body.path, outflowfile)
    return None


def code_imports(task: Task, path: Path | None, project: Path,
                 finder: ImportFinder) -> list[Path]:
    """The project modules the task's Python code imports (``path``: its
    code file, if any), directly or not."""
    body = task.body
    if isinstance(body, RunBody):
        try:
            tree = ast.parse(body.code)
        except (SyntaxError, ValueError):
            return []
        return finder.closure(tree, None, (project,))
    if path is None or path.suffix != ".py":
        return []
    if isinstance(body, ScriptBody):
        return finder.closure(None, path, (path.parent,))
    module = body.module if isinstance(body, CallBody) else ""
    return finder.closure(None, path, (project,), module)


def fingerprint(tasks: list[Task], project: Path, outflowfile: Path) -> str:
    """A digest of every code file's bytes, for the plan memo."""
    finder = ImportFinder()
    paths: set[Path | None] = set()
    for task in tasks:
        path = code_file(task, project, outflowfile)
        paths.add(path)
        paths.update(code_imports(task, path, project, finder))
    parts = [f"{path}\0{_digest(path, normalised=False)}" for path in paths if path is not None]
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def _digest(path: Path, normalised: bool) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return MISSING
    if normalised and path.suffix == ".py":
        try:
            data = ast.dump(ast.parse(data)).encode()
        except (SyntaxError, ValueError):
            pass  # it fails when it runs; until then any edit counts
    return hashlib.sha256(data).hexdigest()[:32]
