"""The project's own modules a piece of Python code imports, and those they
import in turn: part of the code a job runs, so part of its key (code.py).

Found through the syntax tree, never by importing (which would run the
modules' code while planning). Every ``import`` and ``from ... import``
anywhere in the code counts, inside a function or a ``try:`` as well (a
file counted that the job may not load only costs a rerun when it is
edited). A name is looked for as Python would look for it on the search
roots the code runs with (the project directory for ``run:`` and
``call:``, the script's own directory for a ``script:``): ``a/b.py`` or
``a/b/__init__.py``, with the ``__init__.py`` of each package on the way
(a directory without one is a namespace package, looked into as well);
a relative import from a module's own package. A name found under no root
(``os``, an installed package) is the environment's, not the project's,
and does not count.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ImportFinder:
    """Finds the project modules code imports; each file read and parsed,
    and each name looked for, once per plan."""

    _direct: dict[Path, list[Path]] = field(default_factory=dict)
    _found: dict[tuple[Path, str], Path | None] = field(default_factory=dict)

    def closure(self, tree: ast.AST | None, start: Path | None,
                roots: tuple[Path, ...], module: str = "") -> list[Path]:
        """The project files the code imports, directly or through one
        another, sorted, without ``start``: the code is ``tree`` (a body
        written in the Outflowfile), or else the file ``start``, imported
        as ``module`` when named (the ``__init__.py`` of its packages
        then run first, and count too)."""
        first = (self._imports(tree, None, roots) if tree is not None
                 else self._file_imports(start, roots) if start is not None else [])
        if module:
            first = first + self._module(module, roots)
        seen: set[Path] = set() if start is None else {start}
        todo = list(first)
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            todo.extend(self._file_imports(path, roots))
        if start is not None:
            seen.discard(start)
        return sorted(seen)

    def _file_imports(self, path: Path, roots: tuple[Path, ...]) -> list[Path]:
        found = self._direct.get(path)
        if found is None:
            try:
                tree: ast.AST | None = ast.parse(path.read_bytes())
            except (OSError, SyntaxError, ValueError):
                tree = None  # it fails when it runs; its own digest covers it
            found = self._direct[path] = [] if tree is None else self._imports(tree, path, roots)
        return found

    def _imports(self, tree: ast.AST, path: Path | None, roots: tuple[Path, ...]) -> list[Path]:
        """The project files ``tree`` (the code of ``path``, if a file)
        imports directly."""
        found: list[Path] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found += self._module(alias.name, roots)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    found += self._relative(node, path)
                elif node.module:
                    found += self._module(node.module, roots)
                    for alias in node.names:  # each may be a submodule
                        found += self._module(f"{node.module}.{alias.name}", roots, last=True)
        return found

    def _module(self, name: str, roots: tuple[Path, ...], last: bool = False) -> list[Path]:
        """The files importing ``name`` loads from the project: each
        package's ``__init__.py`` on the way and the module's own (only its
        own when ``last``: the packages are counted already)."""
        parts = name.split(".")
        start = len(parts) if last else 1
        found: list[Path] = []
        for end in range(start, len(parts) + 1):
            module = ".".join(parts[:end])
            path = None
            for root in roots:
                path = self._look(root, module)
                if path is not None:
                    break
            if path is not None:
                found.append(path)
            elif not any(root.joinpath(*parts[:end]).is_dir() for root in roots):
                break  # not in the project (nor a namespace package): nothing below it is
        return found

    def _look(self, root: Path, module: str) -> Path | None:
        key = (root, module)
        if key not in self._found:
            self._found[key] = module_source(root, module.split("."))
        return self._found[key]

    def _relative(self, node: ast.ImportFrom, path: Path | None) -> list[Path]:
        """``from . import x`` and ``from ..a import y`` in the file ``path``."""
        if path is None:
            return []  # not in a package: Python refuses it
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
        parts = node.module.split(".") if node.module else []
        found: list[Path] = []
        for end in range(1, len(parts) + 1):
            source = module_source(base, parts[:end])
            if source is None:
                return found
            found.append(source)
        for alias in node.names:
            source = module_source(base, [*parts, alias.name])
            if source is not None:
                found.append(source)
        return found


def module_source(root: Path, parts: list[str]) -> Path | None:
    """``root/a/b.py`` or ``root/a/b/__init__.py`` for module ``a.b``, if it is there."""
    if not parts or any(not p.isidentifier() for p in parts):
        return None
    base = root.joinpath(*parts)
    for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
