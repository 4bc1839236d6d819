"""The code a ``call:`` or ``script:`` job runs from a file, as its key
sees it.

A ``call:`` job's key covers its module's source file in the project
directory (``pkg/mod.py`` or ``pkg/mod/__init__.py``, found as Python would
with the project first on ``sys.path``), read as text and never imported.
Python source counts through its syntax tree, as a ``run:`` block does: a
comment or a blank line changes nothing, any code does (the whole module's,
not only the function's: what it calls lives there too). A module from
outside the project (an installed package) counts by its name only. A
``script:`` counts by its file's content (a Python script through its
syntax tree). Each file is read once per plan.

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
from outflowfile.language.model import CallBody, ScriptBody, Task

MISSING = "missing"


@dataclass
class CodeDigests:
    """The digest of each task's code file, each file read once."""

    project: Path
    outflowfile: Path
    _known: dict[Path | None, str] = field(default_factory=dict)

    def of(self, task: Task) -> str:
        """'' for a body written in the Outflowfile (or an installed
        module); else the digest of its file (``MISSING`` when it is not there)."""
        path = code_file(task, self.project, self.outflowfile)
        if path is None:
            return ""
        found = self._known.get(path)
        if found is None:
            found = self._known[path] = _digest(path, normalised=True)
        return found


    def edited_since(self, task: Task, since: float | None) -> str | None:
        """Why a job of ``task`` whose definition differs from its record's
        (a run that started at ``since``) must run, when its code file was
        modified since: ``code changed: scripts/plot.py``. The record keeps
        only the whole definition's hash, so the files' modification times
        tell which part changed; when the file defining the task changed too,
        either may be the cause. None when the code file is older."""
        path = code_file(task, self.project, self.outflowfile)
        if path is None or since is None or _mtime(path) <= since:
            return None
        try:
            name = str(path.relative_to(self.project))
        except ValueError:
            name = str(path)
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


def fingerprint(tasks: list[Task], project: Path, outflowfile: Path) -> str:
    """A digest of every code file's bytes, for the plan memo."""
    paths = {code_file(task, project, outflowfile) for task in tasks}
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
