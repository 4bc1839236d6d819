"""Time the engine through the installed ``outflow`` command, beside baselines
run in the same script on the same machine, and print ratios.

    python benchmarks/bench_engine.py                  # sizes 100 and 1000
    python benchmarks/bench_engine.py --sizes 100,1000,4000 --tutorial

For each size N it times, in a fresh temporary project:
  shell  a full run of N trivial shell jobs (`cp` of one small file) at -j 2,
         against `make -r -R -j2` running the same commands from a Makefile;
  noop   a second run with everything up to date, against make's no-op and a
         bare `os.stat` of every file;
  python a full run of N trivial Python jobs (`return item + 1`) at -j 2,
         against a plain loop of N in-process calls (the floor).
With --tutorial it also runs examples/tutorial at -j 2 (ideal: 6 items of 4 s
on 2 cores = 12 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import shell_project, value_project  # noqa: E402


def outflow_cmd() -> list[str]:
    script = Path(sys.executable).with_name("outflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "outflowfile"]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def stat_walk(root: Path) -> float:
    start = time.perf_counter()
    for dirpath, _, names in os.walk(root):
        for name in names:
            os.stat(os.path.join(dirpath, name))
    return time.perf_counter() - start


def bench_shell(n: int, work: Path) -> None:
    proj = shell_project(work / f"shell-{n}", n)
    mk = shell_project(work / f"make-{n}", n)
    t_out = timed(outflow_cmd() + ["-j", "2", "-q"], proj)
    t_make = timed(["make", "-r", "-R", "-j2", "-s"], mk) if shutil.which("make") else float("nan")
    print(f"shell  N={n:>6}  outflow {t_out:7.2f}s  make -j2 {t_make:7.2f}s  "
          f"ratio {t_out / t_make:5.2f}x  ({n / t_out:6.0f} jobs/s)")
    t_noop = timed(outflow_cmd() + ["-j", "2", "-q"], proj)
    t_make_noop = timed(["make", "-r", "-R", "-j2", "-s"], mk)
    t_stat = stat_walk(proj / "data") + stat_walk(proj / "st1")
    print(f"noop   N={n:>6}  outflow {t_noop:7.2f}s  make {t_make_noop:7.2f}s  "
          f"stat {t_stat:7.3f}s  ratio/make {t_noop / t_make_noop:5.2f}x")


def bench_python(n: int, work: Path) -> None:
    proj = value_project(work / f"value-{n}", n)
    t_out = timed(outflow_cmd() + ["-j", "2", "-q"], proj)
    start = time.perf_counter()
    for i in range(n):
        (lambda item: item + 1)(i)
    floor = time.perf_counter() - start
    print(f"python N={n:>6}  outflow {t_out:7.2f}s  ({n / t_out:6.0f} jobs/s; "
          f"in-process loop {floor * 1000:.1f} ms)")


def bench_tutorial(work: Path) -> None:
    proj = work / "tutorial"
    shutil.copytree(HERE.parent / "examples" / "tutorial", proj,
                    ignore=shutil.ignore_patterns(".outflow"))
    t = timed(outflow_cmd() + ["-j", "2", "-q"], proj)
    ideal = 12.0
    overhead = 100 * (t - ideal) / ideal
    print(f"tutorial -j 2  {t:6.2f}s  ideal {ideal:.0f}s  overhead {overhead:+.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--tutorial", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="outflow-bench-") as tmp:
        work = Path(tmp)
        for n in (int(s) for s in args.sizes.split(",")):
            bench_shell(n, work)
            bench_python(n, work)
        if args.tutorial:
            bench_tutorial(work)


if __name__ == "__main__":
    main()
