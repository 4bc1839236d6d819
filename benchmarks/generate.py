"""Generate benchmark projects: an Outflowfile and, for file workflows, an
equivalent Makefile running the same commands.

Two shapes, both a map of ``items`` items through ``stages`` tasks into one
aggregate, so a project has ``items * stages + 1`` jobs:

- ``chain_project``: file-producing shell tasks. Stage 1 copies
  ``data/s<i>.txt`` to ``st1/s<i>.txt``, stage k copies ``st<k-1>/…`` to
  ``st<k>/…`` (a file dependency, no value passed), and ``total`` concatenates
  the last stage's files into ``total.txt``. The Makefile has one rule per
  file with the same commands.
- ``value_chain_project``: value-only Python tasks (``return x + 1``) and a
  ``run:`` aggregate summing the list.

``python benchmarks/generate.py DIR --jobs 10000 [--stages 2] [--values]``
writes one project, for looking at or timing by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MAKE_HEADER = "SHELL := /bin/bash\n.SHELLFLAGS := -eo pipefail -c\n"

# The aggregate lets the shell expand the file list: a command line naming
# 100,000 paths would be longer than one exec argument may be.
TOTAL_COMMAND = "cat st{k}/*.txt > total.txt"


def items_for(jobs: int, stages: int) -> int:
    """How many map items give about ``jobs`` jobs (at least one)."""
    return max(1, (jobs - 1) // stages)


def chain_outflowfile(stages: int) -> str:
    tasks = []
    for k in range(1, stages + 1):
        src = "data" if k == 1 else f"st{k - 1}"
        tasks.append(
            f"task step{k}(sample: str):\n"
            f'    input:  src = "{src}/{{sample}}.txt"\n'
            f'    output: out{k} = "st{k}/{{sample}}.txt"\n'
            f'    shell:  "cp {{input.src}} {{output.out{k}}}"\n'
        )
    total = (
        f"task total(out{stages}: list):\n"
        f'    output: total = "total.txt"\n'
        f'    shell:  "{TOTAL_COMMAND.format(k=stages)}"\n'
    )
    body = " | ".join(f"step{k}" for k in range(1, stages + 1))
    return (
        'config:\n    samples: list = glob("data/{sample}.txt")\n\n'
        + "\n".join(tasks)
        + "\n"
        + total
        + f"\nworkflow all:\n    map(samples -> sample) {{ {body} }} | total\n"
    )


def chain_makefile(items: int, stages: int) -> str:
    last = " ".join(f"st{stages}/s{i}.txt" for i in range(items))
    total = TOTAL_COMMAND.format(k=stages)
    rules = [MAKE_HEADER, "all: total.txt\n", f"total.txt: {last}\n\t{total}\n"]
    for k in range(1, stages + 1):
        src = "data" if k == 1 else f"st{k - 1}"
        rules.extend(f"st{k}/s{i}.txt: {src}/s{i}.txt\n\tcp $< $@\n" for i in range(items))
    return "".join(rules)


def chain_project(root: Path, items: int, stages: int = 2, makefile: bool = True) -> Path:
    """``items`` data files through ``stages`` `cp` tasks into ``total``.

    The output directories exist beforehand: make does not create them, and
    outflow makes them itself either way."""
    (root / "data").mkdir(parents=True)
    for k in range(1, stages + 1):
        (root / f"st{k}").mkdir()
    for i in range(items):
        (root / "data" / f"s{i}.txt").write_text(f"{i}\n")
    (root / "Outflowfile").write_text(chain_outflowfile(stages))
    if makefile:
        (root / "Makefile").write_text(chain_makefile(items, stages))
    return root


def chain_files(root: Path, items: int, stages: int) -> list[str]:
    """Every file of a chain project's workflow: inputs, outputs, the total."""
    dirs = ["data"] + [f"st{k}" for k in range(1, stages + 1)]
    return [str(root / d / f"s{i}.txt") for d in dirs for i in range(items)] + [
        str(root / "total.txt")
    ]


def value_chain_outflowfile(items: int, stages: int) -> str:
    tasks = ["task items(n: int) -> (x0: list):\n    run:\n        return list(range(n))\n"]
    for k in range(1, stages + 1):
        tasks.append(
            f"task bump{k}(x{k - 1}: int) -> (x{k}: int):\n    run:\n        return x{k - 1} + 1\n"
        )
    tasks.append(
        f"task total(x{stages}: list) -> (s: int):\n    run:\n        return sum(x{stages})\n"
    )
    body = " | ".join(f"bump{k}" for k in range(1, stages + 1))
    return (
        f"config:\n    n: int = {items}\n\n"
        + "\n".join(tasks)
        + f"\nworkflow all:\n    items | map(x0 -> x0) {{ {body} }} | total\n"
    )


def value_chain_project(root: Path, items: int, stages: int = 1) -> Path:
    """A map of ``items`` trivial Python jobs per stage, passing values only."""
    root.mkdir(parents=True)
    (root / "Outflowfile").write_text(value_chain_outflowfile(items, stages))
    return root


# --- the shapes bench_engine.py has used since the start -------------------------


def shell_project(root: Path, n: int) -> Path:
    """N data files, a map of N `cp` jobs, and the same as a Makefile."""
    root.mkdir(parents=True)
    (root / "data").mkdir()
    (root / "st1").mkdir()
    for i in range(n):
        (root / "data" / f"s{i}.txt").write_text(f"{i}\n")
    text = chain_outflowfile(1)
    # One stage and no aggregate: just the map.
    text = text[: text.index("task total")]
    text += "workflow all:\n    map(samples -> sample) { step1 }\n"
    (root / "Outflowfile").write_text(text)
    targets = " ".join(f"st1/s{i}.txt" for i in range(n))
    rules = "".join(f"st1/s{i}.txt: data/s{i}.txt\n\tcp $< $@\n" for i in range(n))
    (root / "Makefile").write_text(f"{MAKE_HEADER}all: {targets}\n{rules}")
    return root


def value_project(root: Path, n: int) -> Path:
    """A map of N trivial Python jobs passing values (and the aggregate)."""
    return value_chain_project(root, n, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("directory", type=Path)
    ap.add_argument("--jobs", type=int, default=10_000, help="about this many jobs")
    ap.add_argument("--stages", type=int, default=2, help="tasks per item (K)")
    ap.add_argument("--values", action="store_true", help="value-only Python tasks")
    args = ap.parse_args()
    items = items_for(args.jobs, args.stages)
    if args.values:
        value_chain_project(args.directory, items, args.stages)
    else:
        chain_project(args.directory, items, args.stages)
    print(f"{args.directory}: {items} items x {args.stages} stages + 1 = "
          f"{items * args.stages + 1} jobs")


if __name__ == "__main__":
    main()
