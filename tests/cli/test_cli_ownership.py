"""What a job may own (issue 16), through the installed ``outflow``: each
mistaken Outflowfile of ``tests/language/owned/`` is refused by ``--lint``,
``-n``, a run, ``-F``, ``--clean --yes`` and ``--touch`` alike (exit 2, the
located message), and no file of the project, beside it or above it changes,
whatever the command and with a Ctrl-C mid-run."""

from __future__ import annotations

from pathlib import Path

import pytest
from aroundfiles import checksums, plant
from outflowtest import outflow
from ownedcorpus import corpus, install, interrupted_run

ROOT = Path(__file__).resolve().parents[2]

PRECIOUS = {
    "above.txt": "above the project\n",
    "beside/precious.txt": "a sibling project's file\n",
    "proj/data.txt": "the only copy\n",
    "proj/raw/data.txt": "raw data\n",
    "proj/data/a.txt": "a\n",
    "proj/results/keep.txt": "kept\n",
    "proj/out/keep.txt": "kept\n",
    "proj/squares/2.txt": "kept\n",
}




@pytest.mark.parametrize("source", corpus(), ids=lambda p: p.stem)
def test_refused_and_nothing_touched(source: Path, tmp_path: Path) -> None:
    top = tmp_path / "top"
    plant(top, PRECIOUS)
    project = top / "proj"
    path, line, column, message = install(source, project)
    before = checksums(top)
    for args in (["--lint"], ["-n"], [], ["-F"], ["--clean", "--yes"], ["--touch"]):
        proc = outflow(project, *args, check=2)
        head = f"{path}:{line}:{column}: {message}"
        assert proc.stderr.splitlines()[0].endswith(head), (args, proc.stderr)
        assert checksums(top) == before, args
    assert interrupted_run(project) in (2, 130, -2)  # refused, or Ctrl-C (-2: at start-up)
    assert checksums(top) == before, "Ctrl-C"
    assert not (project / ".outflow").exists()


@pytest.mark.parametrize(
    "outflowfile",
    sorted(ROOT.glob("examples/*/Outflowfile")),
    ids=lambda p: p.parent.name,
)
def test_examples_lint_clean(outflowfile: Path) -> None:
    proc = outflow(outflowfile.parent, "--lint", "-f", str(outflowfile))
    assert ": ok (" in proc.stdout
