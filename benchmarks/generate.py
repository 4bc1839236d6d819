"""Generate benchmark projects: an Outflowfile and, for file workflows, an
equivalent Makefile running the same commands."""

from __future__ import annotations

from pathlib import Path

SHELL_OUTFLOWFILE = """\
config:
    samples: list = glob("data/{sample}.txt")

task copy(sample: str):
    input:  src = "data/{sample}.txt"
    output: dst = "out/{sample}.txt"
    shell:  "cp {input.src} {output.dst}"

workflow all:
    map(samples -> sample) { copy }
"""

VALUE_OUTFLOWFILE = """\
config:
    n: int = %d

task items(n: int) -> (xs: list):
    run:
        return list(range(n))

task bump(x: int) -> (y: int):
    run:
        return x + 1

workflow all:
    items | map(xs -> x) { bump }
"""


def shell_project(root: Path, n: int) -> Path:
    """N data files, a map of N `cp` jobs, and the same as a Makefile."""
    (root / "data").mkdir(parents=True)
    (root / "out").mkdir()
    for i in range(n):
        (root / "data" / f"s{i}.txt").write_text(f"{i}\n")
    (root / "Outflowfile").write_text(SHELL_OUTFLOWFILE)
    targets = " ".join(f"out/s{i}.txt" for i in range(n))
    rules = "".join(f"out/s{i}.txt: data/s{i}.txt\n\tcp $< $@\n" for i in range(n))
    # make runs each recipe through the same shell and flags outflow uses
    # (bash, set -eo pipefail), so both run the same commands.
    header = "SHELL := /bin/bash\n.SHELLFLAGS := -eo pipefail -c\n"
    (root / "Makefile").write_text(f"{header}all: {targets}\n{rules}")
    return root


def value_project(root: Path, n: int) -> Path:
    """A map of N trivial Python jobs passing values."""
    root.mkdir(parents=True)
    (root / "Outflowfile").write_text(VALUE_OUTFLOWFILE % n)
    return root
