"""Time the parser (and the checker, when present) on a large Outflowfile.

The generated file has 5,000 tasks (run: and shell: bodies, resource
directives, input/output files) and 1,000 workflows (pipes, maps with
options, branches) over them. Target: parse + check under 1 s.

    python benchmarks/bench_parse.py [--groups 1000] [--repeat 7] [--profile] [--phases]
                                     [--no-baseline]

The baseline is lark's own parser (``Lark.parse``) on the same text.

Times are medians over --repeat runs, wall-clock and CPU (time.process_time),
with the fastest CPU time in brackets, and the load average before and after:
on a machine shared with other work, CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from outflowfile.language import parser

TASKS_PER_GROUP = 5  # each group is 5 tasks and 1 workflow


def group(k: int) -> str:
    """Five tasks and the workflow that joins them."""
    return f"""\
# group {k}
task src{k}(n: int = 10) -> (items: list):
    run:
        return list(range(n))

task square{k}(item: int, scale: int = 2) -> (value: int):
    cpus: 2
    mem: "2G"
    time: "30m"
    retries: 1
    run:
        result = item * item * scale
        if result < 0:
            raise ValueError("negative")
        return result

task write{k}(value: int, item: int):
    output: out = "out/{k}/{{item}}.txt"
    log: "logs/write{k}/{{item}}.log"
    shell: "echo {{value}} > {{output.out}}"

task merge{k}(out: list):
    output: total = "out/{k}/total.txt"
    mem: 500
    shell: "cat {{out}} > {{output.total}}"

task count{k}(out: list) -> (n_files: int):
    local: true
    run:
        return len(out)

workflow w{k}:
    src{k}
    | map(items -> item, cpus=2) {{ square{k} | write{k} }}
    | (merge{k}, count{k})

"""


def generate(groups: int) -> str:
    return "config:\n    scale: int = 2\n\n" + "".join(group(k) for k in range(groups))


Timing = tuple[float, float, float]  # median wall, median CPU, fastest CPU (seconds)


def timed(function: Callable[[], object], repeat: int) -> Timing:
    """Median wall-clock and CPU seconds, and the fastest CPU time. CPU time
    is the steadier figure on a machine busy with other work."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), min(cpu)


def report(what: str, seconds: Timing, lines: int) -> None:
    wall, cpu, fastest = seconds
    print(
        f"{what}: median {wall:.3f} s wall, {cpu:.3f} s CPU (fastest {fastest:.3f}); "
        f"{lines / wall:,.0f} lines/s wall, {lines / cpu:,.0f} lines/s CPU"
    )


def phases(text: str, repeat: int) -> None:
    """CPU time of each step of parser.parse (private functions: this is for
    finding where the time goes), with the cyclic GC paused as parse() does."""
    from outflowfile.language import parser, transform
    from outflowfile.language.runblocks import prepare
    from outflowfile.language.source import Source

    steps: dict[str, list[float]] = {}

    def step(name: str, function: Callable[..., object], *args: object) -> Any:
        start = time.process_time()
        result = function(*args)
        steps.setdefault(name, []).append(time.process_time() - start)
        return result

    for _ in range(repeat):
        gc.disable()
        source = step("read (lines, strings)", Source.of, text)
        prepared = step("run: pre-pass", prepare, source, "Outflowfile")
        tree = step("lex + LALR", parser._parse_tree, prepared.text, source, "Outflowfile")
        step("build model", transform.build, tree, "Outflowfile", prepared.run_blocks)
        gc.enable()
    for name, seconds in steps.items():
        median, fastest = statistics.median(seconds), min(seconds)
        print(f"  {name}: median {median:.3f} s CPU (fastest {fastest:.3f})")


def baseline(text: str, repeat: int) -> None:
    """lark's own parser (``Lark.parse`` with ``OutflowLexer``: how every file
    was read before ``outflowfile.language.lalr``, and how files with syntax errors
    still are) against the parser's tree step, alternating, GC paused."""
    from outflowfile.language import parser
    from outflowfile.language.runblocks import prepare
    from outflowfile.language.source import Source

    source = Source.of(text)
    prepared = prepare(source, "Outflowfile")
    runs: dict[str, list[float]] = {"lark": [], "ours": []}
    for _ in range(repeat):
        for name, function in (
            ("lark", lambda: parser._lark().parse(prepared.text)),
            ("ours", lambda: parser._parse_tree(prepared.text, source, "Outflowfile")),
        ):
            gc.disable()
            start = time.process_time()
            function()
            runs[name].append(time.process_time() - start)
            gc.enable()
    lark, ours = (statistics.median(runs[name]) for name in ("lark", "ours"))
    print(
        f"baseline: lex + LALR to a tree, median {ours:.3f} s CPU; lark.Lark.parse "
        f"{lark:.3f} s CPU: ratio {ours / lark:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--groups", type=int, default=1000, help="workflows (5 tasks each)")
    options.add_argument("--repeat", type=int, default=7)
    options.add_argument("--profile", action="store_true", help="profile one parse")
    options.add_argument("--phases", action="store_true", help="time each step of parsing")
    options.add_argument("--no-baseline", action="store_true", help="skip timing lark's parser")
    args = options.parse_args(argv)

    text = generate(args.groups)
    lines = text.count("\n")
    print(f"{args.groups * TASKS_PER_GROUP} tasks, {args.groups} workflows, {lines} lines")
    print(f"load average before: {_load()}")

    start = time.perf_counter()
    model = parser.parse(text, "Outflowfile")  # includes building the lark parser
    print(f"first parse (builds or loads the lark parser): {time.perf_counter() - start:.3f} s")
    assert len(model.tasks) == args.groups * TASKS_PER_GROUP

    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(parser.parse, text, "Outflowfile")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)

    report("parse", timed(lambda: parser.parse(text, "Outflowfile"), args.repeat), lines)
    if args.phases:
        phases(text, args.repeat)
    if not args.no_baseline:
        baseline(text, args.repeat)

    try:
        from outflowfile.language import check
    except ImportError:
        print("check: outflowfile.language.check not available, not timed")
        return 0
    check.check(model)
    report("check", timed(lambda: check.check(model), args.repeat), lines)
    both = timed(lambda: check.check(parser.parse(text, "Outflowfile")), args.repeat)
    report("parse + check", both, lines)
    wall, cpu, _ = both
    verdict = "met" if cpu < 1 else "missed"
    print(f"target: parse + check under 1 s: {verdict} by CPU ({cpu:.3f} s), wall {wall:.3f} s")
    print(f"load average after: {_load()}")
    return 0


def _load() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
