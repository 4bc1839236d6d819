"""How fast the local pool turns over trivial jobs, against plain baselines.

    python benchmarks/bench_executor.py [--jobs 1000] [--cores 2]

Runs N trivial shell jobs (``true``) and N trivial Python jobs (``run:
return i``) through ``LocalExecutor`` with a minimal scheduling loop, then the
baselines: ``subprocess.run(["/bin/bash", "-c", "true"])`` two at a time and,
when ``make`` is installed, a Makefile of N ``true`` recipes under ``make -jN``.
Prints seconds per run and the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from outflowfile.executors.local import LocalExecutor
from outflowfile.run.jobspec import JobSpec


def spec(workdir: str, job_id: int, kind: str, code: str, values: list[str]) -> JobSpec:
    return JobSpec(
        id=job_id, task="bench", label=f"bench {job_id}", kind=kind, code=code, code_line=1,
        outflowfile=f"{workdir}/Outflowfile", workdir=workdir, params={"i": job_id},
        input_files={}, output_files={}, value_outputs=values, cpus=1,
        log=f".outflow/logs/bench-{job_id}.log",
    )


def drain(ex: LocalExecutor, specs: list[JobSpec]) -> None:
    """A minimal scheduler: start what fits, wait for something to end."""
    pending = list(reversed(specs))
    failed = 0
    while pending or ex.running():
        while pending and ex.can_start(pending[-1]):
            ex.start(pending.pop())
        failed += sum(not r.ok for r in ex.wait(None))
    if failed:
        raise SystemExit(f"{failed} jobs failed")


def executor_run(workdir: str, n: int, cores: int, kind: str) -> float:
    if kind == "shell":
        specs = [spec(workdir, i, "shell", "true", []) for i in range(n)]
    else:
        specs = [spec(workdir, i, "run", "return i", ["x"]) for i in range(n)]
    with LocalExecutor(cores) as ex:
        t0 = time.perf_counter()
        drain(ex, specs)
        return time.perf_counter() - t0


def subprocess_baseline(n: int, cores: int) -> float:
    def one(_: int) -> None:
        subprocess.run(["/bin/bash", "-c", "true"], check=True)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - t0


def make_baseline(workdir: str, n: int, cores: int) -> float | None:
    make = shutil.which("make")
    if make is None:
        return None
    targets = " ".join(f"t{i}" for i in range(n))
    rules = "".join(f"t{i}:\n\t@true\n" for i in range(n))
    makefile = Path(workdir) / "Makefile"
    makefile.write_text(f".PHONY: all {targets}\nall: {targets}\n{rules}")
    t0 = time.perf_counter()
    subprocess.run([make, "-s", f"-j{cores}", "-f", str(makefile)], cwd=workdir, check=True)
    return time.perf_counter() - t0


def best_of(repeats: int, fn: Callable[[], float | None]) -> float | None:
    times = [fn() for _ in range(repeats)]
    valid = [t for t in times if t is not None]
    return min(valid) if valid else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, cores = args.jobs, args.cores
    with tempfile.TemporaryDirectory(prefix="outflow-bench-") as workdir:
        rows = {
            "LocalExecutor, shell `true`": best_of(
                args.repeats, lambda: executor_run(workdir, n, cores, "shell")),
            "LocalExecutor, Python `return i`": best_of(
                args.repeats, lambda: executor_run(workdir, n, cores, "python")),
            f"baseline: subprocess.run(bash -c true), {cores} at a time": best_of(
                args.repeats, lambda: subprocess_baseline(n, cores)),
            f"baseline: make -j{cores}, {n} `true` recipes": best_of(
                args.repeats, lambda: make_baseline(workdir, n, cores)),
        }
    base = rows[f"baseline: subprocess.run(bash -c true), {cores} at a time"]
    print(f"{n} jobs, {cores} cores, best of {args.repeats} (Python {sys.version.split()[0]})")
    for name, seconds in rows.items():
        if seconds is None:
            print(f"  {name:<52} (not available)")
            continue
        ratio = f"{seconds / base:5.2f}x the subprocess baseline" if base else ""
        print(f"  {name:<52} {seconds:7.3f} s  {1000 * seconds / n:6.3f} ms/job  {ratio}")


if __name__ == "__main__":
    main()
