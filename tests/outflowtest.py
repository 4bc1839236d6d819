"""Helpers for tests that drive the installed ``outflow`` command."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

# A map of copies into one total: the shape of the plan memo's tests.
COPY_THEN_TOTAL = """\
config:
    samples: list = glob("data/{sample}.txt")
    suffix: str = "x"

task copy(sample: str, suffix: str):
    input:  src = "data/{sample}.txt"
    output: out = "out/{sample}.{suffix}"
    shell:  "cp {input.src} {output.out}"

task total(out: list):
    output: total = "total.txt"
    shell:  "cat out/*.x > total.txt"

workflow all:
    map(samples -> sample) { copy } | total
"""


def outflow_command() -> list[str]:
    """The installed console script next to this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("outflow")
    if script.exists():
        return [str(script)]
    found = shutil.which("outflow")
    return [found] if found else [sys.executable, "-m", "outflowfile"]


def make_project(root: Path, outflowfile: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Outflowfile").write_text(textwrap.dedent(outflowfile).lstrip("\n"))
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def outflow(project: Path, *args: str, timeout: float = 120, check: int | None = 0,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``outflow ARGS`` in ``project``; assert its exit status unless check is None."""
    full_env = dict(os.environ)
    full_env.pop("OUTFLOW_DB", None)
    full_env.update(env or {})
    proc = subprocess.run(
        outflow_command() + list(args),
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )
    if check is not None and proc.returncode != check:
        raise AssertionError(
            f"outflow {' '.join(args)} exited {proc.returncode}, expected {check}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def lines(path: Path) -> list[str]:
    """The lines of a side-effect log; [] when it does not exist."""
    if not path.exists():
        return []
    return path.read_text().splitlines()


def cache_rows(project: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(project / ".outflow" / "outflow.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
