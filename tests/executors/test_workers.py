"""``--workers N`` on the real one-node Slurm and Grid Engine: jobs run on
Dask workers that dask-jobqueue starts as at most N scheduler jobs, which
the tests count with the scheduler's own commands (only the jobs named for
the outflow under test: other runs share the scheduler)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from outflowtest import cache_rows, make_project, outflow, outflow_command

# In CI a missing Dask fails here rather than skipping the tests.
if not os.environ.get("CI"):
    pytest.importorskip("dask_jobqueue", reason="the workers extra: pip install 'outflow[workers]'")

SQUARES = """
config:
    items: list = {items}

task square(item: int):
    retries: 1
    output: out = "out/{{item}}.txt"
    shell: "{sleep}echo $(( {{item}} * {{item}} )) > {{output.out}}"

task plus(item: int) -> int:
    run:
        return item + 1000

workflow all:
    map(items -> item) {{ square }}

workflow values:
    map(items -> item) {{ plus }}
"""


def _project(tmp_path: Path, n: int, sleep: float = 0) -> Path:
    return make_project(tmp_path, SQUARES.format(
        items=list(range(n)), sleep=f"sleep {sleep}; " if sleep else ""))


class SchedulerJobs:
    """The scheduler jobs of one outflow's workers (named ``outflow-PID-...``),
    seen by polling the queue while the run goes on."""

    def __init__(self, pid: int, scheduler: str, env: dict[str, str] | None = None) -> None:
        self.prefix = f"outflow-{pid}-"
        self.scheduler = scheduler
        self.env = env
        self.seen: dict[str, str] = {}  # job id -> last state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def queued(self) -> dict[str, str]:
        """The run's jobs in the queue now, by id: their state."""
        if self.scheduler == "slurm":
            out = subprocess.run(["squeue", "-h", "-o", "%i %j %T"], capture_output=True,
                                 text=True).stdout
            rows = [line.split() for line in out.splitlines()]
            return {r[0]: r[2] for r in rows if len(r) == 3 and r[1].startswith(self.prefix)}
        out = subprocess.run(["qstat", "-xml"], capture_output=True, text=True,
                             env={**os.environ, **(self.env or {})}).stdout
        found = {}
        for job in re.findall(r"<job_list.*?</job_list>", out, re.S):
            name = re.search(r"<JB_name>(.*?)</JB_name>", job)
            number = re.search(r"<JB_job_number>(\d+)</JB_job_number>", job)
            state = re.search(r"<state>(.*?)</state>", job)
            if name and number and name.group(1).startswith(self.prefix):
                found[number.group(1)] = state.group(1) if state else "?"
        return found

    def processes(self) -> list[int]:
        """Processes still alive of the run's worker jobs (found by the job
        name the scheduler put in their environment): a worker whose
        scheduler job ended must not live on outside it."""
        key = b"SLURM_JOB_NAME=" if self.scheduler == "slurm" else b"JOB_NAME="
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as env:
                    variables = env.read().split(b"\0")
            except OSError:
                continue
            if any(v.startswith(key + self.prefix.encode()) for v in variables):
                found.append(int(entry))
        return found

    def no_process_left(self, within: float = 30) -> None:
        deadline = time.time() + within
        while self.processes() and time.time() < deadline:
            time.sleep(0.5)
        assert self.processes() == []

    def running(self) -> list[str]:
        return [j for j, s in self.queued().items() if s in ("RUNNING", "r")]

    def stop(self) -> dict[str, str]:
        self._stop.set()
        self._thread.join()
        self.seen.update(self.queued())
        if self.scheduler == "slurm":  # finished jobs stay known to scontrol for a while
            out = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True,
                                 text=True).stdout
            for line in out.splitlines():
                fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                if fields.get("JobName", "").startswith(self.prefix):
                    self.seen.setdefault(fields["JobId"], fields.get("JobState", ""))
        return self.seen

    def _watch(self) -> None:
        while not self._stop.wait(0.3):
            self.seen.update(self.queued())


def _start(project: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.Popen[str]:
    return subprocess.Popen(outflow_command() + list(args), cwd=project, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def _wait_for(predicate: Callable[[], object], run: subprocess.Popen[str],
              timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if run.poll() is not None:
            raise AssertionError(f"outflow ended first: {run.communicate()}")
        if time.time() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.2)


def _squares_right(project: Path, n: int) -> None:
    made = {int(p.stem): p.read_text() for p in (project / "out").glob("*.txt")}
    assert made == {i: f"{i * i}\n" for i in range(n)}


@pytest.mark.usefixtures("slurm")
def test_a_thousand_jobs_run_in_at_most_four_slurm_jobs(tmp_path: Path) -> None:
    p = _project(tmp_path, 1000)
    run = _start(p, "--cluster", "slurm", "--workers", "2")
    jobs = SchedulerJobs(run.pid, "slurm")
    out, err = run.communicate(timeout=900)
    seen = jobs.stop()
    assert run.returncode == 0, err
    assert "1000 ran" in out
    assert 1 <= len(seen) <= 4, seen
    _squares_right(p, 1000)
    # Every job has its own record, done, on a worker's host.
    rows = cache_rows(p, "select status, host from jobs where task = 'square'")
    assert len(rows) == 1000 and {r[0] for r in rows} == {"done"} and all(r[1] for r in rows)
    # None left behind: cancelled before outflow exits, at most Slurm's
    # cleanup (COMPLETING) is left of them.
    assert set(jobs.queued().values()) <= {"COMPLETING"}
    jobs.no_process_left()


@pytest.mark.usefixtures("slurm")
def test_a_worker_sized_by_the_options_runs_jobs_side_by_side(tmp_path: Path) -> None:
    # Two cores: two batches at once in one worker's two threads, each
    # starting shell jobs (the start of one must not lose the other's).
    p = _project(tmp_path, 100)
    run = outflow(p, "--cluster", "slurm", "--workers", "1", "--cpus-per-task", "2",
                  timeout=300)
    assert "100 ran" in run.stdout
    _squares_right(p, 100)
    rows = cache_rows(p, "select status from jobs where task = 'square'")
    assert rows == [("done",)] * 100


@pytest.mark.usefixtures("slurm")
def test_python_jobs_on_workers_keep_their_values(tmp_path: Path) -> None:
    p = _project(tmp_path, 6)
    outflow(p, "values", "--cluster", "slurm", "--workers", "1", timeout=300)
    shown = outflow(p, "--show", "plus").stdout
    for i in range(6):
        assert f"output int = {i + 1000}" in shown
    assert "0 ran, 6 up to date" in outflow(p, "values", "--cluster", "slurm", "--workers",
                                            "1").stdout


@pytest.mark.usefixtures("slurm")
def test_a_worker_keeps_its_python_process_from_batch_to_batch(tmp_path: Path) -> None:
    # The first batches hold one job each (nothing is known of the task's
    # length yet); the worker's pool, and the Python process it runs run:
    # bodies in, outlive them.
    p = make_project(tmp_path, """
config:
    items: list = [1, 2, 3, 4, 5, 6]

task where(item: int) -> int:
    run:
        import os
        return os.getpid()

workflow all:
    map(items -> item) { where }
""")
    outflow(p, "--cluster", "slurm", "--workers", "1", timeout=300)
    pids = re.findall(r"output int = (\d+)", outflow(p, "--show", "where").stdout)
    assert len(pids) == 6 and len(set(pids)) == 1, pids


@pytest.mark.usefixtures("slurm")
def test_a_worker_cancelled_mid_run_costs_only_its_job_a_retry(tmp_path: Path) -> None:
    # Jobs of about 0.1 s go to the workers in batches of several: the lost
    # worker's batch is one job lost (retried) and the rest never started
    # (run again, not counted as a retry).
    p = _project(tmp_path, 80, sleep=0.1)
    run = _start(p, "--cluster", "slurm", "--workers", "2")
    jobs = SchedulerJobs(run.pid, "slurm")
    _wait_for(lambda: (p / "out").is_dir() and len(list((p / "out").iterdir())) >= 10, run)
    victim = jobs.running()[0]
    subprocess.run(["scancel", victim], check=True)
    out, err = run.communicate(timeout=600)
    seen = jobs.stop()
    assert run.returncode == 0, err
    assert "80 ran" in out
    _squares_right(p, 80)
    # The one job it was running, killed with it (Slurm signals the job's
    # processes too) or lost with it; its batch's others ran again.
    retried = re.findall(r"retry 1/1 square item=\d+: (.*)", out)
    assert len(retried) == 1, out
    assert retried[0].startswith(("the worker running it was lost",
                                  "command killed by signal 15 (SIGTERM)")), out
    assert seen[victim].startswith("CANCELLED") or victim not in jobs.queued()
    assert 3 <= len(seen) <= 4, seen  # a replacement was started
    jobs.no_process_left()  # the one cancelled too


@pytest.mark.usefixtures("slurm")
def test_ctrl_c_leaves_no_worker_in_the_queue(tmp_path: Path) -> None:
    p = _project(tmp_path, 40, sleep=2)
    run = _start(p, "--cluster", "slurm", "--workers", "2")
    jobs = SchedulerJobs(run.pid, "slurm")
    _wait_for(lambda: len(jobs.running()) == 2, run)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "outflow: cancelled running jobs: square item=" in err
    # Cancelled before outflow exits: at most Slurm's cleanup (COMPLETING) is left.
    assert {s for s in jobs.queued().values()} <= {"COMPLETING"}
    deadline = time.time() + 60
    while jobs.queued() and time.time() < deadline:
        time.sleep(0.5)
    assert jobs.queued() == {}
    jobs.stop()
    jobs.no_process_left()
    rows = cache_rows(p, "select count(*) from jobs where status = 'running'")
    assert rows == [(0,)]


@pytest.mark.usefixtures("slurm")
def test_a_time_limit_holds_on_a_worker(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
config:
    items: list = [1, 2, 3]

task slow:
    time: "2s"
    output: out = "slow.txt"
    shell: "sleep 60; echo late > {output.out}"

task quick(item: int):
    output: out = "quick/{item}.txt"
    shell: "echo {item} > {output.out}"

workflow slowone:
    slow

workflow quickones:
    map(items -> item) { quick }
""")
    run = outflow(p, "slowone", "quickones", "--cluster", "slurm", "--workers", "1", "-k",
                  check=1, timeout=300)
    assert "error: job slow failed" in run.stderr
    assert "exceeded its time limit of 2s" in run.stderr
    assert not (p / "slow.txt").exists()
    assert sorted(f.read_text() for f in (p / "quick").iterdir()) == ["1\n", "2\n", "3\n"]
    assert cache_rows(p, "select status from jobs where task = 'slow'") == [("failed",)]


@pytest.mark.usefixtures("slurm")
def test_workers_stop_on_their_own_when_the_head_is_killed(tmp_path: Path) -> None:
    p = _project(tmp_path, 40, sleep=2)
    run = _start(p, "--cluster", "slurm", "--workers", "2",
                 env={"OUTFLOW_WORKERS_DEATH_TIMEOUT": "20"})
    jobs = SchedulerJobs(run.pid, "slurm")
    _wait_for(lambda: len(jobs.running()) >= 1, run)
    run.kill()
    run.communicate()
    deadline = time.time() + 120
    while jobs.queued() and time.time() < deadline:
        time.sleep(1)
    assert jobs.queued() == {}
    jobs.stop()
    jobs.no_process_left()


def test_workers_on_grid_engine(tmp_path: Path, sge_drmaa: dict[str, str]) -> None:
    env = {k: sge_drmaa[k] for k in ("SGE_ROOT", "SGE_CELL")}
    p = _project(tmp_path, 1000)
    run = _start(p, "--cluster", "sge", "--workers", "2", env=env)
    jobs = SchedulerJobs(run.pid, "sge", env)
    out, err = run.communicate(timeout=900)
    seen = jobs.stop()
    assert run.returncode == 0, err
    assert "1000 ran" in out
    _squares_right(p, 1000)
    logs = list((p / ".outflow" / "cluster" / "workers").glob(f"outflow-{run.pid}-*.o*"))
    assert 1 <= len(seen) <= 4 and 1 <= len(logs) <= 4, (seen, logs)
    jobs.no_process_left()
    # Python jobs too.
    assert outflow(p, "values", "-C", "items=[0, 1, 2, 3, 4, 5]", "--cluster", "sge",
                   "--workers", "1", env=env, timeout=300).returncode == 0
    assert "output int = 1005" in outflow(p, "--show", "plus").stdout


# --- without a scheduler -------------------------------------------------------------


def test_workers_need_a_scheduler(tmp_path: Path) -> None:
    p = _project(tmp_path, 2)
    proc = outflow(p, "--workers", "2", check=2)
    assert "--workers goes with --cluster SCHEDULER" in proc.stderr
    proc = outflow(p, "--cluster", "pbs", check=2)
    assert "--cluster pbs runs jobs only through workers" in proc.stderr
    proc = outflow(p, "--cluster", "drmaa", "--workers", "2", check=2)
    assert "no workers through --cluster drmaa" in proc.stderr
    assert not (p / "out").exists()


def test_a_missing_dask_names_the_extra(tmp_path: Path) -> None:
    """Dask cannot be uninstalled from the venv the other tests use: a
    dask_jobqueue that fails to import, first on the path, stands for it."""
    p = _project(tmp_path, 2)
    shadow = tmp_path / "shadow" / "dask_jobqueue"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'dask_jobqueue'\")\n")
    proc = outflow(p, "--cluster", "slurm", "--workers", "2", check=2,
                   env={"PYTHONPATH": str(shadow.parent)})
    assert "--workers needs Dask (dask-jobqueue and distributed)" in proc.stderr
    assert "pip install 'outflow[workers]'" in proc.stderr
    assert not (p / "out").exists()


def test_a_worker_ends_at_once_when_its_scheduler_job_is_ended(tmp_path: Path) -> None:
    """SIGTERM (scancel, a time limit, the run's end) ends a worker at once,
    with status 143, even while the Dask scheduler is telling it to close:
    Dask's own shutdown, caught between the two, hung until SIGKILL and held
    the node for seconds after every run."""
    import sys

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=None,
                      host="127.0.0.1") as cluster, \
            Client(cluster) as client:
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
             "--no-nanny", "--nthreads", "1",
             "--preload", "outflowfile.executors.workers.onworker"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            client.wait_for_workers(1, timeout=60)
            address = next(iter(client.scheduler_info()["workers"]))
            client.retire_workers([address], close_workers=True)  # the scheduler's close
            worker.send_signal(signal.SIGTERM)  # and the scheduler's signal
            assert worker.wait(timeout=30) == 143, worker.stderr.read() if worker.stderr else ""
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def test_a_job_lost_again_and_again_before_its_start_is_told_fails(tmp_path: Path) -> None:
    """A job that kills its worker within milliseconds of starting dies
    before the worker's word that it started leaves: each time it goes back
    to the queue uncounted, but not forever. The fault (a worker dead
    between a job's start and its event's send, a window of about 2 ms)
    cannot be caused at will for real: Dask's future for the lost batch is
    stood in for by one that says what Dask says then (KilledWorker)."""
    from distributed import KilledWorker

    from outflowfile.executors.workers import executor as workers
    from outflowfile.executors.workers.request import WorkersRequest
    from outflowfile.run.jobspec import JobSpec

    class LostBatch:
        def cancelled(self) -> bool:
            return False

        def exception(self) -> BaseException:
            return KilledWorker("jobs-1", "tcp://node:1", 0)

    ex = workers.WorkersExecutor(WorkersRequest("slurm", workers=1), tmp_path, cores=10)
    spec = JobSpec(id=1, task="t", label="t", kind="shell", code="true", code_line=1,
                   outflowfile=str(tmp_path / "Outflowfile"), workdir=str(tmp_path),
                   params={}, input_files={}, output_files={}, value_outputs=[], cpus=1)
    shape = ex._shape(spec)
    pool = workers._Pool(shape, cluster=None, client=None)
    errors = []
    for attempt in range(workers.UNSEEN_LOSSES + 1):
        key = f"jobs-1-{attempt}"
        batch = workers._Batch(key, [1], pool, future=LostBatch())
        ex._batches[key] = batch
        ex._sent[1] = workers._Sent(spec, pool, time.time(), batch)
        assert ex._batch_ended(key) == []  # settled after the grace
        ex._dying[key] = time.monotonic()
        (result,) = ex._collect()
        errors.append(result.error if result.ran else "requeued")
    assert errors == ["requeued"] * workers.UNSEEN_LOSSES + [workers.LOST]
