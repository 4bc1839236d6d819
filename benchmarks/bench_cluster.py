"""How fast outflow drives a cluster, against plain use of the same scheduler.

    python benchmarks/bench_cluster.py [--items 500] [--submit 200] [--notice 20]
                                       [--only sbatch,drmaa,workers,nodestart]
                                       [--workers-items 1000] [--workers-repeat 5]
                                       [--slurm-drmaa LIB]

Needs the local Slurm (scripts/start-slurm.sh) and Grid Engine with its DRMAA
library (scripts/start-sge.sh). Three measures, each with its baseline run in
the same invocation:

1. **Submission rate** (jobs submitted per second): outflow's own submitters
   (``SbatchSubmitter``, ``DrmaaSubmitter``) sending ``true`` job by job and
   as one array, against a plain loop of ``sbatch --wrap true`` /
   ``qsub -b y true``. The plain loop's jobs are then waited for by polling
   ``squeue``/``qstat`` every 0.2 s: that is the **plain end-to-end** baseline
   per job.
2. **End-to-end per trivial job**: ``outflow`` running a map of ``--items``
   items (``shell: "true"``) as arrays and job by job (``--no-cluster-arrays``),
   through sbatch and through DRMAA, in a fresh project (SQLite cache);
   against the plain end-to-end baseline above, a plain local loop of
   ``subprocess.run(["true"])`` and ``outflow -j 2`` locally.
3. **Notice delay**: ``--notice`` jobs each write their end time (the last
   thing they do) to a file; the delay is the time the ``[k/N]`` line of that
   job reaches outflow's stdout minus that end time. Baseline: the same jobs
   submitted by hand, their end seen by polling ``squeue``/``qstat`` every
   0.2 s.

4. **Workers** (``--only workers``): a map of ``--workers-items`` trivial
   jobs with ``--cluster slurm --workers 2``, against the local pool at
   ``-j 2`` (alternated ``--workers-repeat`` times: the median ratio) and
   one Slurm job per item (``--no-cluster-arrays``); the notice delay of
   ``--notice`` jobs on workers.
5. **Node start cost** (``--only nodestart``, bench_nodestart.py): CPU of a
   real node job up to its task's first line, on SQLite and, with
   ``OUTFLOW_TEST_PG_URL``, PostgreSQL.

Slurm's own DRMAA library (slurm-drmaa) is not packaged by Debian; with
``--slurm-drmaa /path/libdrmaa.so`` the DRMAA runs are also made against
Slurm through it.

Wall times move with the machine's load (printed); the ratios much less.
CPU is the user+system time of the submitting process and its children
(outflow and the sbatch/squeue it runs; not the jobs on the node).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OUTFLOW = str(Path(sys.executable).with_name("outflow"))
SGE_LIBRARY = "/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0"
POLL = 0.2  # the baselines' polling interval


@dataclass
class Timing:
    wall: float
    cpu: float  # user + system of this process's children


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def sge_env() -> dict[str, str]:
    """What a DRMAA client of the local Grid Engine needs (see tests/conftest.py)."""
    jemalloc = sorted(glob.glob("/lib/*-linux-gnu/libjemalloc.so.2")
                      + glob.glob("/usr/lib/*-linux-gnu/libjemalloc.so.2"))
    env = {"DRMAA_LIBRARY_PATH": SGE_LIBRARY,
           "SGE_ROOT": os.environ.get("SGE_ROOT", "/var/lib/gridengine"),
           "SGE_CELL": os.environ.get("SGE_CELL", "default")}
    if jemalloc:
        env["LD_PRELOAD"] = jemalloc[0]
    return env


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- plain baselines ---------------------------------------------------------------


def slurm_ids_left(ids: set[str], name: str) -> set[str]:
    out = subprocess.run(["squeue", "-h", "-r", f"--name={name}", "-o", "%i"],
                         capture_output=True, text=True).stdout.split()
    return ids & set(out)


def sge_ids_left(ids: set[str], env: dict[str, str]) -> set[str]:
    out = subprocess.run(["qstat"], capture_output=True, text=True, env=env).stdout
    listed = {ln.split()[0] for ln in out.splitlines()[2:] if ln.strip()}
    return ids & listed


def plain_loop(kind: str, n: int, workdir: Path) -> tuple[float, Timing]:
    """Submit n ``true`` jobs by hand; (submission rate, end-to-end timing)."""
    name = f"obench{os.getpid() % 100000}"
    env = os.environ | sge_env()
    c0, t0 = children_cpu(), time.perf_counter()
    ids = set()
    for _ in range(n):
        if kind == "slurm":
            argv = ["sbatch", "--parsable", f"--job-name={name}", "--output=/dev/null",
                    f"--chdir={workdir}", "--wrap", "true"]
        else:
            argv = ["qsub", "-terse", "-b", "y", "-N", name, "-o", "/dev/null", "-j", "y",
                    "-wd", str(workdir), "/bin/true"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
        ids.add(out.strip().split(";")[0])
    rate = n / (time.perf_counter() - t0)
    while ids:
        time.sleep(POLL)
        ids = slurm_ids_left(ids, name) if kind == "slurm" else sge_ids_left(ids, env)
    return rate, Timing(time.perf_counter() - t0, children_cpu() - c0)


def local_loop(n: int) -> Timing:
    c0, t0 = children_cpu(), time.perf_counter()
    for _ in range(n):
        subprocess.run(["true"], check=True)
    return Timing(time.perf_counter() - t0, children_cpu() - c0)


# --- outflow's submitters ----------------------------------------------------------

# Runs in a child process (the drmaa package loads its library at import, and
# Grid Engine's needs jemalloc preloaded). Argument: JSON; prints JSON.
SUBMIT_PROBE = """
import json, os, sys, time
from outflowfile.executors.cluster.executor import ClusterRequest, make_submitter

a = json.loads(sys.argv[1])
sub = make_submitter(ClusterRequest(a["scheduler"], a["way"]))
name = "obench%d" % (os.getpid() % 100000)
cmd, wd = ["/bin/true"], a["workdir"]
t0 = time.perf_counter()
ids = [sub.submit(name, cmd, [], wd + "/job.out", wd) for _ in range(a["n"])]
jobs = a["n"] / (time.perf_counter() - t0)
t0 = time.perf_counter()
ids += sub.submit_array(name, cmd, [], a["n"], wd, wd)
array = a["n"] / (time.perf_counter() - t0)
left = set(ids)
while left:
    time.sleep(0.2)
    left -= set(sub.finished(sorted(left)))
sub.close()
print(json.dumps({"jobs": jobs, "array": array}))
"""


def submitter_rates(scheduler: str, way: str, n: int, workdir: Path,
                    env: dict[str, str]) -> dict[str, float]:
    args = json.dumps({"scheduler": scheduler, "way": way, "n": n, "workdir": str(workdir)})
    done = subprocess.run([sys.executable, "-c", SUBMIT_PROBE, args], capture_output=True,
                          text=True, env=os.environ | env, cwd=workdir)
    if done.returncode != 0:
        raise SystemExit(f"submission probe failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


# --- outflow runs --------------------------------------------------------------------

MAP = """
config:
    items: list = {items}

task nothing(item: int):
    shell: "true"

workflow all:
    map(items -> item) {{ nothing }}
"""

NOTICE = """
config:
    items: list = {items}

task stamp(item: int):
    output: end = "ends/{{item}}.txt"
    shell: "sleep 0.$(( {{item}} * 37 % 10 )); date +%s.%N > {{output.end}}"

workflow all:
    map(items -> item) {{ stamp }}
"""


@dataclass
class Way:
    label: str
    args: list[str]
    env: dict[str, str]


def ways(only: set[str], slurm_drmaa: str | None) -> list[Way]:
    found = []
    if "sbatch" in only:
        found.append(Way("slurm sbatch", ["--cluster", "slurm", "--cluster-submit", "sbatch"], {}))
    if "drmaa" in only:
        found.append(Way("sge DRMAA", ["--cluster", "sge"], sge_env()))
        if slurm_drmaa:
            found.append(Way("slurm DRMAA", ["--cluster", "slurm", "--cluster-submit", "drmaa"],
                             {"DRMAA_LIBRARY_PATH": slurm_drmaa}))
    return found


def project(text: str, n: int) -> Path:
    p = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    (p / "Outflowfile").write_text(text.format(items=list(range(1, n + 1))))
    return p


def outflow_run(text: str, n: int, args: list[str], env: dict[str, str]) -> Timing:
    p = project(text, n)
    try:
        c0, t0 = children_cpu(), time.perf_counter()
        done = subprocess.run([OUTFLOW, "-q", *args], cwd=p, capture_output=True, text=True,
                              env=os.environ | env)
        timing = Timing(time.perf_counter() - t0, children_cpu() - c0)
        if done.returncode != 0:
            raise SystemExit(f"outflow {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return timing
    finally:
        shutil.rmtree(p, ignore_errors=True)


def notice_delays(n: int, args: list[str], env: dict[str, str]) -> list[float]:
    """Per job: when outflow printed it done, minus when it wrote its end time."""
    p = project(NOTICE, n)
    try:
        proc = subprocess.Popen([OUTFLOW, *args], cwd=p, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=os.environ | env)
        seen: dict[int, float] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.match(r"\[\d+/\d+\] stamp item=(\d+)", line)
            if m:
                seen[int(m.group(1))] = time.time()
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"outflow {' '.join(args)} failed:\n{err[-3000:]}")
        return [t - float((p / "ends" / f"{i}.txt").read_text()) for i, t in seen.items()]
    finally:
        shutil.rmtree(p, ignore_errors=True)


def plain_notice(kind: str, n: int, workdir: Path) -> list[float]:
    """The same jobs by hand, their end seen by polling the queue every 0.2 s."""
    name = f"onote{os.getpid() % 100000}"
    env = os.environ | sge_env()
    ids: dict[str, int] = {}
    for i in range(1, n + 1):
        cmd = f"sleep 0.$(( {i} * 37 % 10 )); date +%s.%N > {workdir}/end{i}"
        if kind == "slurm":
            argv = ["sbatch", "--parsable", f"--job-name={name}", "--output=/dev/null",
                    f"--chdir={workdir}", "--wrap", cmd]
        else:
            argv = ["qsub", "-terse", "-b", "y", "-N", name, "-o", "/dev/null", "-j", "y",
                    "-wd", str(workdir), "/bin/sh", "-c", cmd]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env).stdout
        ids[out.strip().split(";")[0]] = i
    seen: dict[int, float] = {}
    left = set(ids)
    while left:
        time.sleep(POLL)
        now_left = slurm_ids_left(left, name) if kind == "slurm" else sge_ids_left(left, env)
        now = time.time()
        for job_id in left - now_left:
            seen[ids[job_id]] = now
        left = now_left
    return [t - float((workdir / f"end{i}").read_text()) for i, t in seen.items()]


# --- workers (--workers) and the node job's start ------------------------------------------


def workers_section(n: int, notice: int, repeat: int) -> None:
    """A map of ``n`` trivial jobs on 2 workers against the local pool at -j 2,
    alternated ``repeat`` times (the machine's load and Slurm's one-second
    scheduling loop vary from run to run: the median ratio is the figure),
    and once as one Slurm job per item; then the notice delay with workers."""
    print(f"\n4. workers: a map of {n} trivial jobs, {repeat} alternations (load {load()})",
          flush=True)
    ratios, best = [], None
    for _ in range(repeat):
        local = outflow_run(MAP, n, ["-j", "2"], {})
        row("outflow -j 2, local", local, n)
        workers = outflow_run(MAP, n, ["--cluster", "slurm", "--workers", "2"], {})
        row("outflow slurm --workers 2", workers, n)
        ratios.append(workers.wall / local.wall)
        best = workers if best is None or workers.wall < best.wall else best
    print(f"  workers / local -j 2: median x{statistics.median(ratios):.2f} "
          f"(x{min(ratios):.2f} to x{max(ratios):.2f}; load {load()})", flush=True)
    each = outflow_run(MAP, n, ["--cluster", "slurm", "--cluster-submit", "sbatch",
                                "--no-cluster-arrays"], {})
    row("outflow slurm, a job per item", each, n)
    assert best is not None
    print(f"  a job per item / workers (fastest): x{each.wall / best.wall:.1f}", flush=True)
    delays = notice_delays(notice, ["--cluster", "slurm", "--workers", "2"], {})
    print(f"  notice delay, --workers 2:         {spread(delays)}", flush=True)

def node_start_section(repeat: int) -> None:
    """The node start cost row (bench_nodestart.py): CPU to the task's first line."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_nodestart

    print(f"\n5. node start cost, medians of {repeat} node jobs (load {load()})", flush=True)
    print(f"  python -c pass                     "
          f"{bench_nodestart.python_start_cost(repeat) * 1000:6.0f} ms cpu", flush=True)
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    pg = os.environ.get("OUTFLOW_TEST_PG_URL")
    if pg:
        backends.append(("postgresql", pg))
    for name, url in backends:
        if url:
            with bench_nodestart.pg_schema(url) as inside:
                first, whole = bench_nodestart.node_start_cost(inside, repeat)
        else:
            first, whole = bench_nodestart.node_start_cost(None, repeat)
        print(f"  node start cost ({name}){'':<{12 - len(name)}}"
              f"{first * 1000:6.0f} ms cpu to the task's first line, {whole * 1000:.0f} ms "
              "the whole node job", flush=True)


# --- report ------------------------------------------------------------------------------


def row(label: str, t: Timing, n: int, base: float | None = None, base2: float | None = None,
        ) -> None:
    per = t.wall / n
    ratios = ""
    if base:
        ratios += f"  x{per / base:6.2f} plain cluster"
    if base2:
        ratios += f"  x{per / base2:6.1f} local loop"
    print(f"  {label:<34} {t.wall:8.1f} s  {per * 1000:8.1f} ms/job  cpu {t.cpu:6.1f} s"
          f"{ratios}", flush=True)


def spread(xs: list[float]) -> str:
    if not xs:
        return "no jobs seen"
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(len(xs) * 0.9))]
    return (f"median {statistics.median(xs):5.2f} s  p90 {p90:5.2f} s  max {xs[-1]:5.2f} s"
            f"  (n={len(xs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=500, help="map size for end-to-end runs")
    ap.add_argument("--submit", type=int, default=200, help="jobs per submission-rate measure")
    ap.add_argument("--notice", type=int, default=20, help="jobs for the notice delay")
    ap.add_argument("--only", default="sbatch,drmaa,workers,nodestart",
                    help="any of sbatch, drmaa, workers, nodestart")
    ap.add_argument("--workers-items", type=int, default=1000, help="map size with --workers")
    ap.add_argument("--workers-repeat", type=int, default=5,
                    help="alternations of the local pool and the workers")
    ap.add_argument("--slurm-drmaa", default=os.environ.get("SLURM_DRMAA_LIBRARY"),
                    help="Slurm's libdrmaa.so, to time DRMAA on Slurm too")
    a = ap.parse_args()
    only = set(a.only.split(","))
    kinds = [k for k, w in (("slurm", "sbatch"), ("sge", "drmaa")) if w in only]
    print(f"load average at start: {load()}; {os.cpu_count()} cores", flush=True)
    if not a.slurm_drmaa:
        print("Slurm's DRMAA library: none given (Debian has no package); "
              "DRMAA is timed on Grid Engine only", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    if "workers" in only:
        workers_section(a.workers_items, a.notice, a.workers_repeat)
    if "nodestart" in only:
        node_start_section(9)
    if not kinds:
        shutil.rmtree(work, ignore_errors=True)
        return

    print(f"\n1. submission rate, {a.submit} jobs of `true` (jobs/s)", flush=True)
    plain: dict[str, Timing] = {}
    for kind in kinds:
        rate, plain[kind] = plain_loop(kind, a.submit, work)
        plain_label = f"plain {'sbatch' if kind == 'slurm' else 'qsub'} loop"
        print(f"  {plain_label:<34} {rate:8.1f}", flush=True)
        scheduler, way, env = (("slurm", "sbatch", {}) if kind == "slurm"
                               else ("sge", "drmaa", sge_env()))
        rates = submitter_rates(scheduler, way, a.submit, work, env)
        for key, what in (("jobs", "job by job"), ("array", "one array")):
            label = f"outflow {scheduler} {way}, {what}"
            print(f"  {label:<34} {rates[key]:8.1f}  x{rates[key] / rate:6.2f} plain",
                  flush=True)
    if a.slurm_drmaa:
        rates = submitter_rates("slurm", "drmaa", a.submit, work,
                                {"DRMAA_LIBRARY_PATH": a.slurm_drmaa})
        print(f"  outflow slurm DRMAA job by job {rates['jobs']:8.1f}; one array "
              f"{rates['array']:8.1f}", flush=True)

    print(f"\n2. end to end, a map of {a.items} trivial jobs (load {load()})", flush=True)
    local = local_loop(a.items)
    base2 = local.wall / a.items
    row("plain local subprocess loop", local, a.items)
    row("outflow -j 2, local", outflow_run(MAP, a.items, ["-j", "2"], {}), a.items, None, base2)
    for kind, t in plain.items():
        row(f"plain {kind} loop + queue polling", t, a.submit, None, base2)
    for way in ways(only, a.slurm_drmaa):
        kind = "slurm" if way.label.startswith("slurm") else "sge"
        base = plain[kind].wall / a.submit if kind in plain else None
        for label, extra in (("arrays", []), ("job by job", ["--no-cluster-arrays"])):
            t = outflow_run(MAP, a.items, way.args + extra, way.env)
            row(f"outflow {way.label}, {label}", t, a.items, base, base2)

    print(f"\n3. notice delay: job's end -> outflow's [k/N] line, {a.notice} jobs "
          f"(load {load()})", flush=True)
    for kind in kinds:
        label = f"plain {kind}, queue polled every {POLL} s"
        print(f"  {label:<34} {spread(plain_notice(kind, a.notice, work))}", flush=True)
    for way in ways(only, a.slurm_drmaa):
        label = f"outflow {way.label}"
        print(f"  {label:<34} {spread(notice_delays(a.notice, way.args, way.env))}", flush=True)
    print(f"\nload average at end: {load()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
