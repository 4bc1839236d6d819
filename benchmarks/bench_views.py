"""Time the views of a plan beside the dry run they are built from.

    python benchmarks/bench_views.py                      # 10,000 jobs
    python benchmarks/bench_views.py --sizes 10000,100000

``--dag``, ``--taskgraph`` and ``--report`` all plan as ``outflow -n`` does
and then draw; the baseline is ``outflow -n`` itself, timed in the same
invocation, so the ratio is what drawing adds. For each size N (the chain
shape of generate.py: N/K items through K ``cp`` tasks, then ``total``):

  empty   no cache: ``-n``, ``--dag``, ``--taskgraph``, ``--dag --format mermaid``;
  cached  after a run recorded every job (filled in-process, as bench_scale
          does): ``-n``, ``--dag``, ``--report`` (which also reads every
          job's timings and draws the last run's N bars).

Medians over --repeat runs of wall time, CPU time (user+system, from
``wait4``) and peak resident size; the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import Timing, fill_cache, load, outflow, ratio, row  # noqa: E402
from generate import chain_project, items_for  # noqa: E402


def bench(work: Path, jobs: int, stages: int, repeat: int) -> None:
    items = items_for(jobs, stages)
    n = items * stages + 1
    project = chain_project(work / f"views-{jobs}", items, stages, makefile=False)
    print(f"chain, {n} jobs, no cache", flush=True)
    base = Timing()
    outflow(["-n"], project, base, repeat)
    row("-n", n, base)
    for args in (["--dag"], ["--taskgraph"], ["--dag", "--format", "mermaid"]):
        t = Timing()
        text = outflow(args, project, t, repeat)
        row(args[0].lstrip("-") + ("/mmd" if "mermaid" in args else ""), n, t,
            f"vs -n {ratio(t.median, base.median)}  cpu {ratio(t.median_cpu, base.median_cpu)}",
            f"  {len(text.splitlines())} lines")
    fill_cache(project)
    print(f"chain, {n} jobs, all cached", flush=True)
    base = Timing()
    outflow(["-n"], project, base, repeat)
    row("-n", n, base)
    t = Timing()
    outflow(["--dag"], project, t, repeat)
    row("dag", n, t, f"vs -n {ratio(t.median, base.median)}  "
                     f"cpu {ratio(t.median_cpu, base.median_cpu)}")
    t = Timing()
    outflow(["--report", "report.html"], project, t, repeat)
    size = (project / "report.html").stat().st_size
    row("report", n, t, f"vs -n {ratio(t.median, base.median)}  "
                        f"cpu {ratio(t.median_cpu, base.median_cpu)}",
        f"  {size / 2**20:.1f} MB of HTML")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000", help="jobs per workflow, comma-separated")
    ap.add_argument("--stages", type=int, default=2, help="cp tasks per item (K)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} CPUs  load {load()}  "
          f"{sys.executable}", flush=True)
    with tempfile.TemporaryDirectory(prefix="outflow-views-") as tmp:
        for jobs in (int(s) for s in args.sizes.split(",")):
            bench(Path(tmp), jobs, args.stages, args.repeat)
            print(f"  (load {load()})", flush=True)


if __name__ == "__main__":
    main()
