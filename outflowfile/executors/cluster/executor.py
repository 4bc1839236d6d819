"""The cluster executor: each job is submitted to the scheduler, through
DRMAA or Slurm's ``sbatch`` (a ``Submitter``, chosen by ``make_submitter``),
and runs ``python -m outflowfile.executors.cluster.nodejob`` on a node.

It follows its jobs by asking the scheduler about all of them at once, at a
short interval that grows while nothing happens (never a blocking DRMAA
``wait``: Slurm's library checks only every 10 s). Jobs of tasks marked
``local: true`` run on this host, in a local pool.

Unlike the local pool, the cluster side talks to the cache database, in
these places and no others:

* ``ClusterExecutor.start`` stores the job's ``JobSpec`` under its cache row
  (``Cache.store_spec``);
* the node job reads it there (``Cache.read_spec``), runs the job, and writes
  how it ended, its value outputs included, into that row
  (``Cache.node_finished``);
* once the scheduler says the job is over, the executor reads that report
  (``Cache.node_result``) and turns it into the ``JobResult`` it returns.

Why: a job on a node shares no process, pipe or memory with the outflow that
submitted it, and the scheduler tells only whether a job ended, not its
values. The cache database is the one place both sides reach (PostgreSQL,
or SQLite on a shared filesystem). Recording the job as done or failed
stays the engine's, as for any executor.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from outflowfile.executors.cluster import queues
from outflowfile.executors.cluster.limits import Limits, read_limits
from outflowfile.executors.cluster.native import Defaults, native_args
from outflowfile.executors.cluster.rate import DEFAULT_RATE, Bucket
from outflowfile.executors.cluster.scheduler import Ended, Submitter, array_index
from outflowfile.executors.local import LocalExecutor
from outflowfile.run.adoption import Adopted
from outflowfile.run.jobspec import JobResult, JobSpec
from outflowfile.store.records import Scheduled

if TYPE_CHECKING:
    from outflowfile.store.database import Cache

POLL_MIN = 0.2  # seconds between status checks right after something happened
POLL_MAX = 2.0  # ... and after a while of nothing


#: What a node runs: ``python -m NODE_JOB_MODULE``.
NODE_JOB_MODULE = "outflowfile.executors.cluster.nodejob"


@dataclass
class _Submitted:
    spec: JobSpec
    job_id: str
    started: float
    adopted: Scheduled | None = None  # a dead run submitted it (run/adoption.py)


@dataclass
class ClusterExecutor:
    submitter: Submitter
    cache: Cache  # specs out, node reports in (see the module's docstring)
    cores: int  # -j: jobs in flight
    defaults: Defaults = field(default_factory=Defaults)
    db_url: str | None = None
    latency_wait: float = 5.0
    arrays: bool = True  # --no-cluster-arrays: every job on its own
    local: LocalExecutor | None = None
    tag: str = field(default_factory=lambda: f"outflow-{os.getpid()}")
    max_rate: float = DEFAULT_RATE  # --max-submit-rate: scheduler commands per second
    limits: Limits | None = None  # None: read from the scheduler on first use
    _jobs: dict[int, _Submitted] = field(default_factory=dict)
    # Jobs of a dead run, by key, for the dispatcher to take (run/adoption.py).
    _adoptable: dict[str, Adopted] = field(default_factory=dict)
    _bucket: Bucket | None = None
    # Started but not yet submitted: the jobs of one dispatch round go out
    # together, those of one task with the same resources as one array.
    _held: list[JobSpec] = field(default_factory=list)
    _poll: float = POLL_MIN
    _url_file: str | None = None

    def grant(self, cpus: int) -> int:
        return cpus  # the scheduler decides what fits on a node

    def can_start(self, spec: JobSpec) -> bool:
        if self._is_local(spec):
            return self._local().can_start(spec)
        if spec.key in self._adoptable:  # already on the cluster
            return True
        return len(self._jobs) + len(self._held) < self._limits().in_flight(self.cores)

    def start(self, spec: JobSpec) -> None:
        if self._is_local(spec):
            self._local().start(spec)
            return
        assert spec.row is not None, "a cluster job needs its cache row"
        found = self._adoptable.get(spec.key)
        if found is not None and found.record.id == spec.row:
            del self._adoptable[spec.key]
            self._jobs[spec.id] = _Submitted(spec, found.scheduled.scheduler_id,
                                             found.record.started or time.time(), found.scheduled)
            return
        self.cache.store_spec(spec.row, spec.to_text())
        self._held.append(spec)

    def wait(self, timeout: float | None) -> list[JobResult]:
        end = None if timeout is None else time.monotonic() + timeout
        failed = self._submit_held()
        if failed:
            return failed
        while True:
            results = self._local().wait(0) if self.local is not None else []
            results += self._collect()
            if results:
                self._poll = POLL_MIN
                return results
            if end is not None and time.monotonic() >= end:
                return results
            pause = self._poll if end is None else min(self._poll, end - time.monotonic())
            time.sleep(max(0.0, pause))
            self._poll = min(POLL_MAX, self._poll * 1.5)

    def running(self) -> int:
        local = self.local.running() if self.local is not None else 0
        return len(self._jobs) + len(self._held) + local

    # -- jobs of a dead run (run/adoption.py)

    def still_queued(self, scheduled: list[Scheduled]) -> set[str]:
        self._pace()
        return queues.still_queued(scheduled)

    def adopt(self, found: list[Adopted]) -> None:
        """Jobs a dead run left on the cluster, to follow when the run wants them."""
        self._adoptable.update((a.key, a) for a in found)

    def adoptable(self, key: str) -> Adopted | None:
        """The job of a dead run the job of ``key`` would be, if any."""
        return self._adoptable.get(key)

    def cancel_all(self) -> list[JobResult]:
        results = self.local.cancel_all() if self.local is not None else []
        for spec in self._held:
            results.append(self._failed(_Submitted(spec, "", time.time()), "cancelled"))
        self._held.clear()
        ours = [s.job_id for s in self._jobs.values() if s.adopted is None]
        if ours:
            self.submitter.cancel(ours)
        queues.cancel(s.adopted for s in self._jobs.values() if s.adopted is not None)
        for sub in self._jobs.values():
            results.append(self._failed(sub, "cancelled"))
        self._jobs.clear()
        return results

    def close(self) -> None:
        if self._jobs or self._held:
            self.cancel_all()
        if self.local is not None:
            self.local.close()
        self.submitter.close()
        if self._url_file is not None:
            Path(self._url_file).unlink(missing_ok=True)
            self._url_file = None

    # -- internals --

    def _submit_held(self) -> list[JobResult]:
        """Submit what start() held; the results of jobs the scheduler refused."""
        groups: dict[tuple[str, tuple[str, ...]], list[JobSpec]] = {}
        for spec in self._held:
            native = native_args(self.submitter.flavour, spec, self.defaults)
            task = spec.task if self.arrays else f"{spec.task} {spec.id}"
            groups.setdefault((task, tuple(native)), []).append(spec)
        self._held = []
        refused = []
        largest = self._limits().max_array or 0
        for (_, native_key), specs in groups.items():
            size = min(len(specs), largest) if largest else len(specs)
            for start in range(0, len(specs), size):
                chunk = specs[start : start + size]
                try:
                    self._pace()
                    ids = self._submit_group(chunk, list(native_key))
                except OSError as exc:
                    now = time.time()
                    refused += [self._failed(_Submitted(s, "", now), str(exc)) for s in chunk]
                    continue
                now = time.time()
                for spec, job_id in zip(chunk, ids, strict=True):
                    self._jobs[spec.id] = _Submitted(spec, job_id, now)
                self._record_ids(chunk, ids)
        self._poll = POLL_MIN
        return refused

    def _record_ids(self, specs: list[JobSpec], ids: list[str]) -> None:
        """Into the cache, for the next run to find them should this one die."""
        flavour = self.submitter.flavour
        self.cache.record_scheduled([
            Scheduled(s.row, flavour, job_id, array_index(job_id) if len(ids) > 1 else None,
                      self.tag)
            for s, job_id in zip(specs, ids, strict=True) if s.row is not None
        ])  # fmt: skip

    def _limits(self) -> Limits:
        if self.limits is None:
            self.limits = read_limits(self.submitter.flavour)
        return self.limits

    def _pace(self) -> None:
        """Wait, if need be, to stay within --max-submit-rate."""
        if self._bucket is None:
            self._bucket = Bucket.per_second(self.max_rate)
        self._bucket.take()

    def _submit_group(self, specs: list[JobSpec], native: list[str]) -> list[str]:
        workdir = specs[0].workdir
        log_dir = os.path.join(workdir, ".outflow", "cluster")
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", NODE_JOB_MODULE, "--workdir", workdir]
        if self.db_url:
            command += ["--db-file", self._db_url_file(log_dir)]
        if len(specs) == 1:
            log = os.path.join(log_dir, f"{specs[0].row}.out")
            return [self.submitter.submit(self.tag, command + [str(specs[0].row)], native, log,
                                          workdir)]
        rows = ",".join(str(s.row) for s in specs)
        return self.submitter.submit_array(self.tag, command + ["--rows", rows], native,
                                           len(specs), log_dir, workdir)

    def _db_url_file(self, log_dir: str) -> str:
        """The cache's URL in a file only this user can read: on a job's command
        line (or in its environment) a password would show in ``ps``, ``scontrol
        show job`` and ``qstat -j`` to every user of the cluster."""
        if self._url_file is None:
            path = os.path.join(log_dir, f"db-{os.getpid()}.url")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                os.fchmod(out.fileno(), 0o600)  # it may have been there, open to others
                out.write(self.db_url or "")
            self._url_file = path
        return self._url_file

    def _is_local(self, spec: JobSpec) -> bool:
        return bool(spec.resources.get("local"))

    def _local(self) -> LocalExecutor:
        if self.local is None:
            self.local = LocalExecutor(cores=max(1, os.cpu_count() or 1))
        return self.local

    def _collect(self) -> list[JobResult]:
        """One question to the scheduler for all the jobs this run submitted
        (and one for those it adopted)."""
        if not self._jobs:
            return []
        by_job_id = {s.job_id: s for s in self._jobs.values() if s.adopted is None}
        ended: dict[str, Ended] = {}
        if by_job_id:
            self._pace()
            ended = self.submitter.finished(list(by_job_id))
        adopted = {s.job_id: s for s in self._jobs.values() if s.adopted is not None}
        if adopted:
            try:
                queued = self.still_queued([s.adopted for s in adopted.values() if s.adopted])
            except OSError:  # ask again next round
                queued = set(adopted)
            by_job_id.update(adopted)
            # Its scheduler's account is another run's: the node's report decides.
            ended.update((job_id, Ended("UNKNOWN")) for job_id in adopted if job_id not in queued)
        results = []
        for job_id, info in ended.items():
            sub = by_job_id[job_id]
            del self._jobs[sub.spec.id]
            results.append(self._result(sub, info))
        return results

    def _result(self, sub: _Submitted, info: Ended) -> JobResult:
        spec = sub.spec
        assert spec.row is not None  # start() saw to it
        report = self.cache.node_result(spec.row)
        if report is None:  # the job died before its end: the scheduler knows why
            return self._failed(sub, _scheduler_says(info, sub) + f"; job {sub.job_id}",
                                info.exit_status)
        result = JobResult(
            id=spec.id,
            # UNKNOWN: the scheduler forgot the job already; the node's report decides.
            ok=report["error"] is None and info.state in ("COMPLETED", "UNKNOWN"),
            values=report["values"],
            error=report["error"],
            exit_status=report["exit_status"],
            started=report["started"] or sub.started,
            ended=report["ended"],
            host=report["host"] or "",
            cpu_seconds=report["cpu_seconds"],
            peak_mem=report["peak_mem"],
            output=_read_log(Path(spec.workdir) / spec.log),
        )
        if result.ok:
            missing = self._wait_for_outputs(spec)
            if missing:
                result.ok = False
                result.error = (f"the job finished but its output file {missing[0]} did not "
                                f"appear within {self.latency_wait:g} s (--latency-wait)")
        elif info.state not in ("COMPLETED", "FAILED", "UNKNOWN"):
            # The node reported, then lost its node, its time or its memory.
            said = _scheduler_says(info, sub)
            result.error = f"{result.error}; {said}" if result.error else said
        elif result.error is None:
            result.error = _scheduler_says(info, sub)
        return result

    def _wait_for_outputs(self, spec: JobSpec) -> list[str]:
        """Shared filesystems may show a node's files late (--latency-wait);
        the outputs still missing after the wait."""
        deadline = time.monotonic() + self.latency_wait
        while True:
            missing = [p for p in spec.output_files.values()
                       if not (Path(spec.workdir) / p).exists()]
            if not missing or time.monotonic() >= deadline:
                return missing
            time.sleep(0.2)

    def _failed(self, sub: _Submitted, error: str, code: int | None = None) -> JobResult:
        return JobResult(
            id=sub.spec.id, ok=False, error=error, exit_status=code, started=sub.started,
            ended=time.time(), host=socket.gethostname(),
            output=_read_log(Path(sub.spec.workdir) / sub.spec.log),
        )


def _scheduler_says(info: Ended, sub: _Submitted) -> str:
    reason = f"the scheduler reports {info.state}"
    if info.reason:
        reason += f" ({info.reason})"
    if info.exit_status not in (None, 0):
        reason += f", exit status {info.exit_status}"
    limit = sub.spec.time
    if limit and info.state != "CANCELLED" and time.time() - sub.started >= limit:
        from outflowfile.language.units import format_time

        reason += f"; it ran past its time limit of {format_time(limit)}"
    return reason


def _read_log(path: Path, cap: int = 1 << 20) -> str:
    try:
        data = path.read_bytes()[-cap:]
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


# --- choosing the way in --------------------------------------------------------


@dataclass
class ClusterRequest:
    """``--cluster SCHEDULER [--cluster-submit drmaa|sbatch]`` and friends."""

    scheduler: str  # slurm | sge | drmaa
    submit: str | None = None  # drmaa | sbatch | None: DRMAA if a library is named
    defaults: Defaults = field(default_factory=Defaults)
    latency_wait: float = 5.0
    arrays: bool = True
    max_rate: float = DEFAULT_RATE  # --max-submit-rate

    @property
    def nodes_write_cache(self) -> bool:
        """Whether jobs on the nodes write their own rows to the cache (then
        the run writes each job's start and end at once, under the cache's
        lock, so that a node finds its row)."""
        return True


def make_submitter(request: ClusterRequest) -> Submitter:
    from outflowfile.errors import UserError

    way = request.submit
    if request.scheduler == "slurm" and way is None:
        way = "drmaa" if os.environ.get("DRMAA_LIBRARY_PATH") else "sbatch"
    if way == "sbatch":
        if request.scheduler != "slurm":
            raise UserError("--cluster-submit sbatch goes with --cluster slurm")
        import shutil

        if shutil.which("sbatch") is None:
            raise UserError(
                "--cluster slurm: no sbatch on the PATH and no DRMAA library named",
                hint="run outflow where Slurm's commands are, or set DRMAA_LIBRARY_PATH",
            )
        from outflowfile.executors.cluster.sbatch import SbatchSubmitter

        return SbatchSubmitter()
    from outflowfile.executors.cluster.drmaa_session import DrmaaSubmitter

    flavour = None if request.scheduler == "drmaa" else request.scheduler
    return DrmaaSubmitter(flavour)
