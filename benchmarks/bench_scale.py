"""Time outflow at scale, beside baselines measured in the same invocation.

    python benchmarks/bench_scale.py                                  # 1,000 and 10,000 jobs
    python benchmarks/bench_scale.py --sizes 1000,10000,100000        # full run up to 10,000
    python benchmarks/bench_scale.py --sizes 100000 --full-max 100000 # and the 100,000 full run

Run it with the Python that has outflow installed: the ``outflow`` script
beside that Python is what gets timed. For each size N (jobs: N/K items
through K ``cp`` tasks, then one ``total``; see generate.py) it times, in a
fresh temporary project:

  plan      ``outflow -n`` with no cache (planning from scratch);
  full      ``outflow -j 2 -q`` from scratch, against ``make -r -R -j2`` on the
            equivalent Makefile in a second copy (bash with -eo pipefail, as
            outflow runs commands). Above --full-max the cache is filled
            in-process instead (each result recorded as a run records it, the
            ``cp`` done by Python), so that the phases below still run;
  noop      ``outflow -j 2 -q`` and ``outflow -n`` with everything up to date,
            against make's no-op: planned in full without the plan memo
            (``f``), after a comment is added to the Outflowfile (``o``: the
            memo no longer applies, its list of files does), and answered
            from the memo;
  edit      after rewriting one input: ``outflow -n`` (it plans one chain) and
            ``outflow -j 2 -q`` (it runs it), against make after the same edit.

The baselines: ``os.stat`` of every file of the workflow, and reading every
row of the cache with ``sqlite3`` alone (``SELECT * FROM jobs``), each timed
in this process (no interpreter start-up), and make. A ratio is outflow's
median wall time over the baseline's median; ``cpu`` is outflow's user+system
time (with its jobs' for a run), and ``peak`` its largest resident size, both
from ``wait4``.

Then ``sheet``: ``outflow -n`` from scratch of a map over a sample sheet of
--sheet-rows rows (``tsv()``, two columns bound by name), against the same
map over a config list written in the Outflowfile, the two alternating.

The value-only shape (N trivial Python jobs, ``return x + 1``, at -j 2) is
reported in jobs per second, up to --values-max. ``outflow --version`` is
timed against ``python -c pass``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import (  # noqa: E402
    chain_files,
    chain_project,
    items_for,
    value_chain_project,
)

# --- measuring ------------------------------------------------------------------------


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_rss: int = 0  # bytes, the largest of the runs

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu) if self.cpu else float("nan")

    def add(self, seconds: float, cpu: float = 0.0, rss: int = 0) -> None:
        self.seconds.append(seconds)
        self.cpu.append(cpu)
        self.peak_rss = max(self.peak_rss, rss)


class Failed(Exception):
    pass


def outflow_cmd() -> list[str]:
    script = Path(sys.executable).with_name("outflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "outflowfile"]


def run_timed(cmd: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """Wall time, CPU time, peak RSS (bytes) and stdout of one command that
    must succeed."""
    env = dict(os.environ)
    env.pop("OUTFLOW_DB", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise Failed(f"{shlex.join(cmd)} exited {proc.returncode}: {' / '.join(tail)}")
        text = out.read().decode(errors="replace")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, text


def outflow(
    args: list[str], cwd: Path, timing: Timing, repeat: int = 1,
    before: Callable[[], None] | None = None,
) -> str:
    text = ""
    for _ in range(repeat):
        if before is not None:
            before()
        seconds, cpu, rss, text = run_timed(outflow_cmd() + args, cwd)
        timing.add(seconds, cpu, rss)
    return text


def forget_memo(project: Path) -> Callable[[], None]:
    """Before each run: remove the plan memo, so that the run plans in full
    (as after an edit of the Outflowfile or the config does)."""
    from outflowfile.plan.memo import FILENAME

    return lambda: (project / ".outflow" / FILENAME).unlink(missing_ok=True)


def edit_outflowfile(project: Path) -> Callable[[], None]:
    """Before each run: add a comment to the Outflowfile, an edit that changes
    no job. The plan memo's fingerprint no longer matches, so the graph is
    made and each job decided, but from the memo's keys and stamps, without
    its record (planmemo.py)."""
    path = project / "Outflowfile"
    return lambda: path.write_text(path.read_text() + "# edited\n")


def make(cwd: Path, timing: Timing) -> None:
    seconds, cpu, rss, _ = run_timed(["make", "-r", "-R", "-j2", "-s"], cwd)
    timing.add(seconds, cpu, rss)


def in_process(fn: Callable[[], object], repeat: int) -> Timing:
    def timed() -> list[float]:
        fn()  # warm the caches the timed runs will find warm
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            seconds.append(time.perf_counter() - start)
        return seconds

    timing = Timing()
    for s in forked(timed):
        timing.add(s)
    return timing


def forked(fn: Callable[[], Any]) -> Any:
    """``fn()`` (JSON in and out) in a forked copy of this process, so that
    what it allocates never counts in this one's peak memory: a command
    started from here reports (through wait4) this process's peak as its own
    if that is the larger."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            with os.fdopen(write_end, "w") as out:
                json.dump(fn(), out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as result:
        text = result.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in its forked process")
    return json.loads(text)


def stat_all(paths: list[str]) -> None:
    for path in paths:
        try:
            os.stat(path)
        except OSError:
            pass


def read_cache(db: Path) -> int:
    """Every row of the cache, with the database driver alone."""
    if not db.exists():
        return 0
    con = sqlite3.connect(db)
    try:
        return len(con.execute("SELECT * FROM jobs").fetchall())
    finally:
        con.close()


# --- filling a cache without a process per job ---------------------------------------


class InlineExecutor:
    """Runs each job at once in this process: a ``cp`` by copying the file,
    anything else through bash. Only to fill a big cache quickly; what gets
    recorded is what a run records."""

    def __init__(self, cores: int = 2, mem_limit: int | None = None) -> None:
        self.cores = cores
        self._ended: list[Any] = []

    def grant(self, cpus: int) -> int:
        return max(1, min(cpus, self.cores))

    def can_start(self, spec: Any) -> bool:
        return True

    def start(self, spec: Any) -> None:
        from outflowfile.run.jobspec import JobResult

        started = time.time()
        words = shlex.split(spec.code)
        if len(words) == 3 and words[0] == "cp":
            shutil.copyfile(os.path.join(spec.workdir, words[1]),
                            os.path.join(spec.workdir, words[2]))
            ok = True
        else:
            ok = subprocess.run(["/bin/bash", "-c", spec.code], cwd=spec.workdir).returncode == 0
        self._ended.append(JobResult(id=spec.id, ok=ok, exit_status=0 if ok else 1,
                                     error=None if ok else "failed", started=started,
                                     ended=time.time(), host="inline"))

    def wait(self, timeout: float | None) -> list[Any]:
        ended, self._ended = self._ended, []
        return ended

    def running(self) -> int:
        return len(self._ended)

    def cancel_all(self) -> list[Any]:
        return self.wait(0)

    def close(self) -> None:
        pass


def fill_cache(project: Path) -> float:
    """Run the project's workflow in this process with ``InlineExecutor``
    (put in place of the local pool, which ``project`` imports when it runs)."""
    from outflowfile.commands.build import build as execute
    from outflowfile.executors import local
    from outflowfile.language import loader
    from outflowfile.run.session import RunRequest
    from outflowfile.views.console import Console

    path = project / "Outflowfile"
    start = time.perf_counter()
    real = local.LocalExecutor
    local.LocalExecutor = InlineExecutor  # type: ignore[misc,assignment]
    try:
        request = RunRequest(workdir=project, outflowfile=path, jobs=2, argv=["bench-fill"])
        outcome = execute(request, loader.load(path), Console(quiet=True))
    finally:
        local.LocalExecutor = real  # type: ignore[misc]
    if outcome.failed:
        raise RuntimeError(f"filling the cache of {project} failed")
    return time.perf_counter() - start


# --- reporting --------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:5.2f}x" if b > 0 else "  n/a"


def row(name: str, n: int, t: Timing, compare: str = "", note: str = "") -> None:
    print(f"  {name:<9} N={n:>6}  {t.median:7.3f}s  cpu {t.median_cpu:7.3f}s  "
          f"peak {t.peak_rss / 2**20:5.0f} MB  {compare}{note}", flush=True)


def check(what: str, ok: bool, detail: str) -> None:
    print(f"  target    {what}: {'ok' if ok else 'MISSED'} ({detail})", flush=True)


# --- one size -------------------------------------------------------------------------


@dataclass
class Config:
    jobs: int
    stages: int
    repeat: int
    full: bool


def bench_chain(work: Path, cfg: Config) -> None:
    from outflowfile.plan.memo import FILENAME

    items = items_for(cfg.jobs, cfg.stages)
    n = items * cfg.stages + 1
    print(f"chain: {items} items x {cfg.stages} cp tasks + total = {n} jobs", flush=True)
    proj = chain_project(work / f"chain-{n}", items, cfg.stages)
    files = chain_files(proj, items, cfg.stages)
    db = proj / ".outflow" / "outflow.db"

    stat_t = in_process(lambda: stat_all(files), cfg.repeat)
    plan = Timing()
    outflow(["-n"], proj, plan, cfg.repeat)
    row("plan", n, plan,
        f"stat {stat_t.median:6.3f}s  ratio/stat {ratio(plan.median, stat_t.median)}")

    filled = cfg.full and bench_full(work, proj, cfg, items, n)
    if not filled:
        seconds = forked(lambda: fill_cache(proj))
        print(f"  fill      N={n:>6}  the cache filled in-process: {seconds:.1f}s", flush=True)

    stat_t = in_process(lambda: stat_all(files), cfg.repeat)
    read_t = in_process(lambda: read_cache(db), cfg.repeat)
    base = stat_t.median + read_t.median
    noop, noop_plan, full_noop, full_plan, edited_plan, make_noop = (Timing() for _ in range(6))
    forget = forget_memo(proj)
    outflow(["-j", "2", "-q"], proj, full_noop, cfg.repeat, before=forget)
    text = outflow(["-n"], proj, full_plan, cfg.repeat, before=forget)
    if "Nothing to do" not in text:
        raise RuntimeError(f"the no-op plan is not empty: {text[:300]}")
    outflow(["-n"], proj, edited_plan, cfg.repeat, before=edit_outflowfile(proj))
    # The last full plan left the memo the following runs answer from.
    outflow(["-j", "2", "-q"], proj, noop, cfg.repeat)
    outflow(["-n"], proj, noop_plan, cfg.repeat)
    for _ in range(cfg.repeat):
        make(proj, make_noop)
    print(f"  baseline  N={n:>6}  stat {stat_t.median:6.3f}s + sqlite3 read {read_t.median:6.3f}s"
          f" = {base:6.3f}s;  make no-op {make_noop.median:6.3f}s", flush=True)
    row("noop full", n, full_noop, f"ratio/(stat+read) {ratio(full_noop.median, base)}  "
        f"ratio/make {ratio(full_noop.median, make_noop.median)}", "  (planned in full, no memo)")
    row("noop -n f", n, full_plan, f"ratio/(stat+read) {ratio(full_plan.median, base)}",
        "  (planned in full, no memo)")
    row("noop -n o", n, edited_plan, f"ratio/(stat+read) {ratio(edited_plan.median, base)}",
        "  (after an Outflowfile edit: decided from the memo's keys)")
    row("noop", n, noop, f"ratio/(stat+read) {ratio(noop.median, base)}  "
        f"ratio/make {ratio(noop.median, make_noop.median)}", "  (from the plan memo)")
    row("noop -n", n, noop_plan, f"ratio/(stat+read) {ratio(noop_plan.median, base)}",
        "  (from the plan memo)")

    # One input added: the glob's result, so the fingerprint, changes.
    add_plan = Timing()
    added_file = proj / "data" / "added.txt"
    added_file.write_text("added\n")
    text = outflow(["-n"], proj, add_plan, cfg.repeat)
    added = next((line for line in text.splitlines() if line.startswith("Would run")), "?")
    added_file.unlink()
    row("add -n", n, add_plan, f"ratio/(stat+read) {ratio(add_plan.median, base)}",
        f"  ({added.rstrip(':')}; one input added, helped by the memo's keys)")

    edit_plan, full_edit_plan, edit_run, make_edit = Timing(), Timing(), Timing(), Timing()
    memo = proj / ".outflow" / FILENAME
    kept = memo.read_bytes() if memo.exists() else None
    (proj / "data" / "s0.txt").write_text("edited\n")
    outflow(["-n"], proj, full_edit_plan, cfg.repeat, before=forget)
    if kept is not None:
        memo.write_bytes(kept)  # the memo the last no-op answered from helps the rest
    text = outflow(["-n"], proj, edit_plan, cfg.repeat)
    planned = next((line for line in text.splitlines() if line.startswith("Would run")), "?")
    outflow(["-j", "2", "-q"], proj, edit_run)
    (proj / "data" / "s0.txt").write_text("edited again\n")
    make(proj, make_edit)
    row("edit -n f", n, full_edit_plan, f"ratio/(stat+read) {ratio(full_edit_plan.median, base)}",
        "  (planned in full, no memo)")
    row("edit -n", n, edit_plan, f"ratio/(stat+read) {ratio(edit_plan.median, base)}  "
        f"ratio/noop -n {ratio(edit_plan.median, noop_plan.median)}",
        f"  ({planned.rstrip(':')}; helped by the memo)")
    row("edit run", n, edit_run, f"make {make_edit.median:6.3f}s  "
        f"ratio/make {ratio(edit_run.median, make_edit.median)}", "  (helped by the memo)")

    if cfg.jobs >= 100_000:  # below, start-up dwarfs the baseline: no target there
        for what, runs in [
            ("no-op", [noop, noop_plan]),
            ("no-op planned in full", [full_noop, full_plan]),
            ("no-op after an Outflowfile edit", [edited_plan]),
            ("plan from scratch", [plan]),
            ("plan after an edit", [edit_plan]),
            ("plan after an input is added", [add_plan]),
            ("plan after an edit, in full", [full_edit_plan]),
        ]:
            worst = max(t.median for t in runs)
            check(f"{what} within 3x of stat+read, under 3 s", worst <= min(3 * base, 3.0),
                  f"slowest {worst:.2f}s, 3x baseline {3 * base:.2f}s")
    check("edit plans one chain", planned == f"Would run {cfg.stages + 1} jobs:", planned)
    check("an added input plans one chain", added == f"Would run {cfg.stages + 1} jobs:", added)
    check("memory under 1 GB", max(plan.peak_rss, noop.peak_rss) < 2**30,
          f"{max(plan.peak_rss, noop.peak_rss) / 2**20:.0f} MB")
    shutil.rmtree(proj)


def bench_full(work: Path, proj: Path, cfg: Config, items: int, n: int) -> bool:
    """The full run against make's; False when outflow's did not finish."""
    full, make_full = Timing(), Timing()
    try:
        outflow(["-j", "2", "-q"], proj, full)
    except Failed as exc:
        print(f"  full      N={n:>6}  FAILED: {exc}", flush=True)
        shutil.rmtree(proj / ".outflow", ignore_errors=True)
        return False
    mk = chain_project(work / f"make-{n}", items, cfg.stages)
    make(mk, make_full)
    shutil.rmtree(mk)
    row("full", n, full, f"make -j2 {make_full.median:7.2f}s (cpu {make_full.median_cpu:.2f}s)  "
        f"ratio/make {ratio(full.median, make_full.median)}", f"  {n / full.median:5.0f} jobs/s")
    check("full run within 2x of make", full.median <= 2 * make_full.median,
          ratio(full.median, make_full.median))
    return True


def bench_values(work: Path, cfg: Config) -> None:
    items = items_for(cfg.jobs, 1)
    n = items + 2
    full, noop = Timing(), Timing()
    for _ in range(cfg.repeat):
        proj = value_chain_project(work / f"values-{items}", items, 1)
        outflow(["-j", "2", "-q"], proj, full)
        shutil.rmtree(proj)
    proj = value_chain_project(work / f"values-{items}", items, 1)
    outflow(["-j", "2", "-q"], proj, Timing())
    outflow(["-j", "2", "-q"], proj, noop, cfg.repeat)
    rate = n / full.median
    row("values", n, full, f"{rate:6.0f} Python jobs/s at -j 2")
    row("values 0", n, noop, "(no-op)")
    check("2,000 Python jobs/s", rate >= 2000, f"{rate:.0f}/s")
    shutil.rmtree(proj)


# ``fq: str``: the file is the input: pattern's (a ``path`` input would be a
# file among the values too, which costs its own lookups: the README has it).
SHEET_TASK = """
task copy(sample: str, fq: str):
    input: reads = "{fq}"
    output: out = "out/{sample}.txt"
    shell: "cp {input.reads} {output.out}"
"""


def sheet_projects(work: Path, rows: int) -> tuple[Path, Path]:
    """The same map of ``rows`` items, over a sample sheet (``tsv()``,
    columns bound by name) and over a config list written in the
    Outflowfile (its input file a pattern of the item)."""
    sheet, listed = work / f"sheet-{rows}", work / f"list-{rows}"
    for proj in (sheet, listed):
        (proj / "data").mkdir(parents=True)
        for i in range(rows):
            (proj / "data" / f"s{i}.fq").write_text(f"{i}\n")
    lines = "".join(f"s{i}\tdata/s{i}.fq\n" for i in range(rows))
    (sheet / "samples.tsv").write_text("sample\tfq\n" + lines)
    (sheet / "Outflowfile").write_text(
        'config:\n    samples: table = tsv("samples.tsv")\n' + SHEET_TASK
        + "\nworkflow all:\n    map(samples -> (sample, fq)) { copy }\n")
    items = ", ".join(f'"s{i}"' for i in range(rows))
    (listed / "Outflowfile").write_text(
        f"config:\n    samples: list = [{items}]\n"
        + SHEET_TASK.replace(", fq: str", "").replace('"{fq}"', '"data/{sample}.fq"')
        + "\nworkflow all:\n    map(samples -> sample) { copy }\n")
    return sheet, listed


def bench_sheet(work: Path, rows: int, repeat: int) -> None:
    """A sample sheet plans within 1.5x of the same map over a config list
    (issue 18): ``outflow -n`` from scratch, the two alternating."""
    sheet, listed = sheet_projects(work, rows)
    sheet_t, listed_t = Timing(), Timing()
    for _ in range(repeat):
        outflow(["-n"], sheet, sheet_t)
        outflow(["-n"], listed, listed_t)
    share = ratio(sheet_t.median, listed_t.median)
    cpu = ratio(sheet_t.median_cpu, listed_t.median_cpu)
    row("sheet", rows, sheet_t, f"config list {listed_t.median:6.3f}s (cpu "
        f"{listed_t.median_cpu:6.3f}s)  ratio {share}, cpu {cpu}")
    check("a sheet plans within 1.5x of a config list", sheet_t.median <= 1.5 * listed_t.median,
          share.strip())
    shutil.rmtree(sheet)
    shutil.rmtree(listed)


def bench_version(repeat: int) -> None:
    here = Path.cwd()
    version, bare = Timing(), Timing()
    for _ in range(repeat):
        version.add(*run_timed(outflow_cmd() + ["--version"], here)[:3])
        bare.add(*run_timed([sys.executable, "-c", "pass"], here)[:3])
    print(f"version   outflow --version {version.median * 1000:4.0f} ms, python -c pass "
          f"{bare.median * 1000:4.0f} ms: ratio {ratio(version.median, bare.median)}", flush=True)
    check("outflow --version under 150 ms", version.median < 0.150,
          f"{version.median * 1000:.0f} ms")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="jobs per workflow, comma-separated")
    ap.add_argument("--stages", type=int, default=2, help="cp tasks per item (K)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    ap.add_argument("--full-max", type=int, default=10_000,
                    help="largest size whose full run (and make's) is timed")
    ap.add_argument("--values-max", type=int, default=10_000,
                    help="largest size for the Python value jobs (0: none)")
    ap.add_argument("--sheet-rows", type=int, default=100_000,
                    help="rows of the sample sheet planned against a config list (0: none)")
    args = ap.parse_args()
    if shutil.which("make") is None:
        sys.exit("make is not installed: it is one of the baselines")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} CPUs  load {load()}  "
          f"{sys.executable}", flush=True)
    bench_version(max(args.repeat, 10))
    with tempfile.TemporaryDirectory(prefix="outflow-scale-") as tmp:
        work = Path(tmp)
        for jobs in (int(s) for s in args.sizes.split(",")):
            cfg = Config(jobs, args.stages, args.repeat, jobs <= args.full_max)
            bench_chain(work, cfg)
            if jobs <= args.values_max:
                bench_values(work, cfg)
            print(f"  (load {load()})", flush=True)
        if args.sheet_rows:
            bench_sheet(work, args.sheet_rows, args.repeat)


if __name__ == "__main__":
    main()
