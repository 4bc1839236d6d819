"""The wheel carries what an installed outflow needs: the grammar inside the
package, and the console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_grammar_and_console_script(tmp_path: Path) -> None:
    # From a copy without build/: setuptools would take stale modules from there.
    tree = tmp_path / "src"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", ".venv", ".git", "__pycache__", ".outflow", ".mypy_cache"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "-q", "-w", str(tmp_path), str(tree)],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = tmp_path.glob("outflow-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = zf.read(entry_points).decode()
    assert "outflowfile/language/grammar/outflowfile.lark" in names
    assert "outflowfile/__main__.py" in names
    assert "outflowfile/executors/local.py" in names
    assert "outflow = outflowfile.launch:main" in scripts
    # Every module of the source tree (a package missing from pyproject.toml's
    # list would install an outflow that fails at its first import).
    source = ROOT / "outflowfile"
    modules = {f"outflowfile/{p.relative_to(source).as_posix()}" for p in source.rglob("*.py")}
    assert modules - names == set()
