"""The package's shape, read from its source: the data flows one way.

Every import between outflowfile's modules is read from the AST (imports
inside functions included; those under ``if TYPE_CHECKING:`` left out, as
they never run). An import may go to a module of the same stage or of an
earlier one, never to a later one, and no modules import each other in a
ring. docs/architecture.md explains the order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "outflowfile"

#: The stages in the order the data goes through them. A module may import
#: from its own stage and from any stage before it. The root modules named
#: in BASE sit beneath everything; cli, launch (its first moments) and __main__ sit on top.
STAGES = ["language", "graph", "store", "plan", "run", "executors", "views", "commands"]
BASE = {"errors", "valuecodec", "machine", "__init__"}
TOP = {"cli", "launch", "__main__"}
MAX_LINES = 800
MAX_ROOT_MODULES = 12


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of every node under an ``if TYPE_CHECKING:``."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _imported(module: str, tree: ast.AST, known: set[str]) -> set[str]:
    """The outflowfile modules a module imports at run time."""
    skip = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                anchor = module.split(".")[: -node.level or None]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("outflowfile"):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("outflowfile"))
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    sources = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(sources)
    return {
        name: _imported(name, ast.parse(path.read_text(encoding="utf-8")), known)
        for name, path in sources.items()
    }


def _rank(module: str) -> int:
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    if first in STAGES:
        return STAGES.index(first) + 1
    if first in BASE:
        return 0
    if first in TOP:
        return len(STAGES) + 1
    raise AssertionError(f"{module}: a module outside the stages; say where it belongs")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            ring = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                ring.append(w)
                if w == v:
                    break
            if len(ring) > 1:
                found.append(sorted(ring))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_import_from_a_later_stage() -> None:
    graph = _graph()
    back = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if target in graph and _rank(target) > _rank(module)
    ]
    assert back == []


def test_every_module_belongs_to_a_stage() -> None:
    for module in _graph():
        _rank(module)  # raises for a module outside the stages


def test_modules_stay_small_and_few_at_the_root() -> None:
    too_long = [
        f"{p.relative_to(PACKAGE.parent)}: {n} lines"
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]
    assert too_long == []
    assert len(list(PACKAGE.glob("*.py"))) <= MAX_ROOT_MODULES


def _fake_package(files: dict[str, str]) -> dict[str, set[str]]:
    """The import graph of a made-up package: path -> source."""
    names = {f"outflowfile.{r.removesuffix('.py').replace('/', '.')}": text
             for r, text in files.items()}
    return {name: _imported(name, ast.parse(text), set(names)) for name, text in names.items()}


@pytest.mark.parametrize(
    ("files", "cycles"),
    [
        (
            {
                "run/a.py": "from outflowfile.run import b\n",
                "run/b.py": "def f():\n    from outflowfile.run.a import x\n",
            },
            [["outflowfile.run.a", "outflowfile.run.b"]],
        ),
        (
            {
                "run/a.py": "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from outflowfile.run.b import B\n",
                "run/b.py": "from outflowfile.run import a\n",
            },
            [],
        ),
    ],
)
def test_the_checks_see_what_they_are_meant_to(
    files: dict[str, str], cycles: list[list[str]]
) -> None:
    """The reader of imports finds a ring through a function-level import and
    leaves out type-checking imports: the checks above can fail."""
    assert _cycles(_fake_package(files)) == cycles


def test_a_back_edge_is_seen() -> None:
    graph = _fake_package(
        {"plan/a.py": "from outflowfile.run.loop import Loop\n", "run/loop.py": ""}
    )
    assert "outflowfile.run.loop" in graph["outflowfile.plan.a"]
    assert _rank("outflowfile.run.loop") > _rank("outflowfile.plan.a")
