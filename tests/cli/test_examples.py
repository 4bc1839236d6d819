"""The examples of the README run as documented."""

from __future__ import annotations

import shutil
from pathlib import Path

from outflowtest import cache_rows, outflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(EXAMPLES / name, dest, ignore=shutil.ignore_patterns(".outflow", "counts",
                                                                          "total.tsv"))
    return dest


def test_tutorial_story(tmp_path: Path) -> None:
    p = _copy("tutorial", tmp_path)
    proc = outflow(p, "-j", "2")
    assert "Result of the mapped computation: [80, 82, 84, 86, 88, 90]" in proc.stdout
    assert "14 ran, 0 up to date" in proc.stdout
    # compute asks for 5 cpus and gets the 2 the run has: one at a time.
    spans = sorted(cache_rows(p, "select started, ended from jobs where task='compute'"))
    assert len(spans) == 6
    assert all(a[1] <= b[0] + 1e-3 for a, b in zip(spans, spans[1:], strict=False))

    proc = outflow(p, "-j", "2")
    assert "0 ran, 14 up to date" in proc.stdout

    proc = outflow(p, "-n", "--config", "multiplier=15")
    assert proc.stdout.count("parameters changed: multiplier 2 → 15") == 6
    proc = outflow(p, "-j", "2", "--config", "multiplier=15")
    assert "Result of the mapped computation: [600, 615, 630, 645, 660, 675]" in proc.stdout
    assert "7 ran, 7 up to date" in proc.stdout


def test_wordcount(tmp_path: Path) -> None:
    p = _copy("wordcount", tmp_path)
    outflow(p, "-j", "2")
    counts = {}
    for line in (p / "total.tsv").read_text().splitlines():
        n, word = line.split()
        counts[word] = counts.get(word, 0) + int(n)
    assert counts["the"] == 6
    assert counts["times"] == 2
    assert sorted(q.name for q in (p / "counts").iterdir()) == [
        "dickens.tsv", "fox.tsv", "hamlet.tsv"]
    proc = outflow(p)
    assert "0 ran, 4 up to date" in proc.stdout
