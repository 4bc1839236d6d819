"""The workers executor (``--workers N``): jobs go to Dask workers that
dask-jobqueue runs as at most N scheduler jobs (``engine.py``).

Every job stays a job of its own to the run: the dispatcher opens and
closes its record, retries it, reports its failure, exactly as for the
other executors. Jobs go to Dask in batches (one Dask task runs several
small jobs one after the other, ``jobtask.run_jobs``), and each job's
report comes back as a Dask event the moment it ends; the job's log is in
the project, where outflow reads it. The jobs not yet sent wait here.

Jobs are grouped into worker classes by shape (``Shape``): from
``--cpus-per-task``/``--mem``/``--time`` when given (one class per
partition), else from the job's own resources. Each class is a
dask-jobqueue cluster scaled between 0 and its share of N scheduler jobs
to what its jobs fill; a class with nothing left to run gives its share
back.

A worker lost (``scancel``, a failed node, its time limit) fails only the
job it was running: Dask is told never to run it again itself (engine.py),
so outflow's ``retries:`` decide; the jobs of its batch that had not
started go back to the run's queue. A replacement is started while work
remains.
"""

from __future__ import annotations

import functools
import os
import queue
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outflowfile import valuecodec
from outflowfile.executors.local import LocalExecutor
from outflowfile.executors.workers import engine
from outflowfile.executors.workers.engine import Shape
from outflowfile.executors.workers.jobtask import TOPIC
from outflowfile.executors.workers.request import WorkersRequest
from outflowfile.run.jobspec import JobResult, JobSpec

WORKER_QUEUE = 10_000  # jobs handed to the workers at once when -j is not given
LOST = ("the worker running it was lost (its scheduler job ended: cancelled, "
        "a failed node or its time limit)")
# Jobs go to Dask in batches of one task and shape, one Dask task each,
# sized to last about BATCH_SECONDS by the task's jobs seen so far (one job
# until one has ended): Dask costs some milliseconds per task, as much as a
# small job. Each job's report still comes when it ends (jobtask.TOPIC).
BATCH_SECONDS = 0.5
BATCH_MAX = 64
AHEAD = 2  # batches in flight per worker thread: the next is there when one ends
# A lost worker's reports sent just before it died may reach us after Dask
# says the worker is lost: its batch is settled that much later.
GRACE = 2.0
# A job lost with its worker before the worker told its start goes back to
# the queue, not counted as a retry, this many times; then it is failed as lost.
UNSEEN_LOSSES = 2


@dataclass
class _Pool:
    """One class of worker: its cluster, its client, its jobs in flight."""

    shape: Shape
    cluster: Any
    client: Any
    share: int = 0
    jobs: dict[int, int] = field(default_factory=dict)  # its jobs, held or in flight: cores
    batches: set[str] = field(default_factory=set)  # keys of the batches in flight
    asked: int = 0  # workers asked for before adaptive scaling's first look


@dataclass
class _Batch:
    key: str
    jobs: list[int]  # in the order the worker runs them
    pool: _Pool
    future: Any = None


@dataclass
class _Sent:
    spec: JobSpec
    pool: _Pool
    sent: float
    batch: _Batch | None = None
    started: bool = False  # its worker said so


@dataclass
class WorkersExecutor:
    request: WorkersRequest
    workdir: Path
    cores: int  # jobs handed to the workers at once
    local: LocalExecutor | None = None
    name: str = field(default_factory=lambda: f"outflow-{os.getpid()}-workers")
    _pools: dict[Shape, _Pool] = field(default_factory=dict)
    _sent: dict[int, _Sent] = field(default_factory=dict)
    _batches: dict[str, _Batch] = field(default_factory=dict)
    # ("report", [job, text]) from a worker's event, ("done", key) when a
    # batch's Dask task has ended: filled by Dask's threads.
    _ended: queue.Queue[tuple[str, Any]] = field(default_factory=queue.Queue)
    # Started, not yet sent to Dask: by class, task and size, in order.
    _held: dict[tuple[Shape, str, int, int | None], deque[JobSpec]] = field(default_factory=dict)
    _seconds: dict[str, float] = field(default_factory=dict)  # a task's job length, smoothed
    _dying: dict[str, float] = field(default_factory=dict)  # lost batches: settled after
    _unseen_losses: dict[int, int] = field(default_factory=dict)  # job: lost, start not told

    def __post_init__(self) -> None:
        engine.load_dask()  # the missing extra is said before anything runs

    def grant(self, cpus: int) -> int:
        return cpus

    def can_start(self, spec: JobSpec) -> bool:
        if spec.resources.get("local"):
            return self._local().can_start(spec)
        if len(self._sent) >= self.cores:
            return False
        shape = self._shape(spec)
        return shape in self._pools or self._room_for_a_class()

    def start(self, spec: JobSpec) -> None:
        if spec.resources.get("local"):
            self._local().start(spec)
            return
        pool = self._pool(self._shape(spec))
        self._sent[spec.id] = _Sent(spec, pool, time.time())
        if self._too_big(spec, pool.shape):
            self._ended.put(("too big", spec.id))
            return
        pool.jobs[spec.id] = spec.cpus
        if pool.asked < pool.share:
            self._scale(pool)
        # Sent at the next wait(), in batches.
        self._held.setdefault((pool.shape, spec.task, spec.cpus, spec.mem), deque()).append(spec)

    def wait(self, timeout: float | None) -> list[JobResult]:
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            self._send_held()
            results = self.local.wait(0) if self.local is not None else []
            results += self._collect()
            if results:
                self._give_back_shares()
                return results
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                return results
            # With local jobs too, look at both often; else sleep on the queue.
            slice_ = 0.05 if self.local is not None and self.local.running() else left
            if self._dying:
                due = max(0.0, min(self._dying.values()) - time.monotonic())
                slice_ = due if slice_ is None else min(slice_, due)
            try:
                item = self._ended.get(timeout=slice_)
            except queue.Empty:
                continue
            self._ended.put(item)

    def running(self) -> int:
        local = self.local.running() if self.local is not None else 0
        return len(self._sent) + local

    def cancel_all(self) -> list[JobResult]:
        results = self.local.cancel_all() if self.local is not None else []
        held = {spec.id for specs in self._held.values() for spec in specs}
        self._held.clear()
        for batch in self._batches.values():
            if batch.future is not None:
                batch.future.cancel()
        for job, sent in self._sent.items():
            results.append(_not_started(job) if job in held else self._failed(sent, "cancelled"))
        self._sent.clear()
        self._batches.clear()
        self._dying.clear()
        self._close_pools()  # the jobs still running die with their workers
        return results

    def close(self) -> None:
        if self._sent:
            self.cancel_all()
        self._close_pools()
        if self.local is not None:
            self.local.close()

    # -- batches

    def _send_held(self) -> None:
        """Send held jobs to their classes' workers in batches, as far as
        the batches in flight leave room (the rest stay held, here)."""
        for group, specs in list(self._held.items()):
            pool = self._pools[group[0]]
            threads = self._threads(pool, specs[0])
            room = AHEAD * threads - len(pool.batches)
            while specs and room > 0:
                size = self._batch_size(specs[0].task, len(specs), threads)
                self._submit(pool, [specs.popleft() for _ in range(min(size, len(specs)))])
                room -= 1
            if not specs:
                del self._held[group]

    def _threads(self, pool: _Pool, spec: JobSpec) -> int:
        """How many jobs like ``spec`` the class's workers run at once."""
        per_worker = 1 if pool.shape.one_job else max(1, pool.shape.cores // max(1, spec.cpus))
        return max(1, pool.share) * per_worker

    def _batch_size(self, task: str, waiting: int, threads: int) -> int:
        seconds = self._seconds.get(task)
        if seconds is None:
            return 1  # nothing seen of this task yet
        size = int(BATCH_SECONDS / max(seconds, 1e-3))
        # No batch takes more than its share of what waits: the last ones
        # end together rather than one worker running a long batch alone.
        share = -(-waiting // (AHEAD * threads))
        return max(1, min(size, BATCH_MAX, share))

    def _submit(self, pool: _Pool, specs: list[JobSpec]) -> None:
        from outflowfile.executors.workers.jobtask import run_jobs

        spec = specs[0]
        resources = None
        if not pool.shape.one_job:
            resources = {"cores": spec.cpus, **({"memory": spec.mem} if spec.mem else {})}
        key = f"jobs-{spec.id}-{time.time()}"
        batch = _Batch(key, [s.id for s in specs], pool)
        self._batches[key] = batch
        pool.batches.add(key)
        for s in specs:
            self._sent[s.id].batch = batch
        batch.future = pool.client.submit(run_jobs, key, [s.to_text() for s in specs],
                                          key=key, resources=resources, pure=False)
        batch.future.add_done_callback(lambda _f, key=key: self._ended.put(("done", key)))

    def _scale(self, pool: _Pool) -> None:
        """Ask for the class's workers as its jobs come, from the first one:
        the run goes on starting (and recording) the others while the
        scheduler starts the workers."""
        want = min(pool.share, _workers_needed(pool))
        if want > pool.asked:
            pool.asked = want
            pool.cluster.scale(jobs=want)

    # -- worker classes

    def _shape(self, spec: JobSpec) -> Shape:
        d = self.request.defaults
        partition = spec.resources.get("partition") or d.partition
        args = " ".join(a for a in (spec.resources.get("cluster") or "", d.args) if a)
        if d.cpus or d.mem or d.time:
            return Shape(d.cpus or 1, d.mem, d.time, partition, args)
        return Shape(spec.cpus, spec.mem, spec.time, partition, args, one_job=True)

    def _too_big(self, spec: JobSpec, shape: Shape) -> str:
        if spec.cpus > shape.cores:
            return f"it asks for {spec.cpus} cores, more than a worker has ({shape.cores})"
        if spec.mem and shape.mem and spec.mem > shape.mem:
            return "it asks for more memory than a worker has"
        if spec.time and shape.time and spec.time > shape.time:
            return "it asks for more time than a worker has"
        return ""

    def _room_for_a_class(self) -> bool:
        if len(self._pools) < self.request.workers:
            return True
        return any(not p.jobs for p in self._pools.values())

    def _pool(self, shape: Shape) -> _Pool:
        pool = self._pools.get(shape)
        if pool is not None:
            return pool
        if len(self._pools) >= self.request.workers:
            idle = next(s for s, p in self._pools.items() if not p.jobs)
            self._close_pool(self._pools.pop(idle))
        from distributed import Client

        log_dir = self.workdir / ".outflow" / "cluster" / "workers"
        cluster = engine.start_cluster(self.request.scheduler, shape, self.name, log_dir)
        pool = _Pool(shape, cluster, Client(cluster))
        pool.client.subscribe_topic(TOPIC, self._on_event)
        self._pools[shape] = pool
        self._share_out()
        return pool

    def _share_out(self) -> None:
        """Split the N scheduler jobs between the classes (at least one each)."""
        n, k = self.request.workers, len(self._pools)
        for i, pool in enumerate(self._pools.values()):
            share = n // k + (1 if i < n % k else 0)
            if share != pool.share:
                pool.share = share
                engine.adapt(pool.cluster, share, functools.partial(_workers_needed, pool))

    def _give_back_shares(self) -> None:
        """A class with nothing in flight while another waits for room."""
        if len(self._pools) > 1 and any(not p.jobs for p in self._pools.values()):
            busy = {s: p for s, p in self._pools.items() if p.jobs}
            if busy and len(busy) < len(self._pools):
                for shape in [s for s in self._pools if s not in busy]:
                    self._close_pool(self._pools.pop(shape))
                self._share_out()

    def _close_pool(self, pool: _Pool) -> None:
        for closing in (pool.client.close, pool.cluster.close):
            try:
                closing()
            except Exception:  # noqa: BLE001 - closing what may be half gone
                pass

    def _close_pools(self) -> None:
        while self._pools:
            self._close_pool(self._pools.popitem()[1])

    # -- results

    def _on_event(self, event: tuple[float, Any]) -> None:
        self._ended.put(("report", event[1]))

    def _collect(self) -> list[JobResult]:
        results: list[JobResult] = []
        while True:
            try:
                what, item = self._ended.get_nowait()
            except queue.Empty:
                break
            if what == "report":
                key, job, text, following = item
                self._mark_started(key, following)
                sent = self._mark_started(key, job)
                if sent is not None and text:  # "": its report comes with the batch's result
                    del self._sent[job]
                    results.append(self._reported(sent, valuecodec.decode(text)))
            elif what == "done":
                results += self._batch_ended(item)
            else:  # too big for any worker
                sent = self._sent.pop(item)
                why = self._too_big(sent.spec, sent.pool.shape)
                results.append(self._failed(sent, f"no worker can run it: {why}"))
        now = time.monotonic()
        for key in [k for k, due in self._dying.items() if due <= now]:
            results += self._batch_ended(key)
        return results

    def _mark_started(self, key: str, job: int | None) -> _Sent | None:
        """The job ``job`` of batch ``key`` has started; None for a late word
        of an earlier attempt (or no job)."""
        sent = self._sent.get(job) if job is not None else None
        if sent is None or sent.batch is None or sent.batch.key != key:
            return None
        sent.started = True
        return sent

    def _reported(self, sent: _Sent, report: dict[str, Any]) -> JobResult:
        sent.pool.jobs.pop(sent.spec.id, None)
        result = JobResult(**report)
        if result.ended > result.started:
            seconds = result.ended - result.started
            before = self._seconds.get(sent.spec.task, seconds)
            self._seconds[sent.spec.task] = 0.7 * before + 0.3 * seconds
        result.output = _read_log(Path(sent.spec.workdir) / sent.spec.log)
        if result.ok:
            missing = _wait_for_outputs(sent.spec, self.request.latency_wait)
            if missing:
                result.ok = False
                result.error = (f"the job finished but its output file {missing} did not "
                                f"appear within {self.request.latency_wait:g} s "
                                "(--latency-wait)")
        return result

    def _batch_ended(self, key: str) -> list[JobResult]:
        """The jobs of a batch whose Dask task ended that sent no report."""
        batch = self._batches.get(key)
        if batch is None:
            return []
        future = batch.future
        error = None if future.cancelled() else future.exception()
        lost = error is not None and type(error).__name__ == "KilledWorker"
        if lost and key not in self._dying:
            self._dying[key] = time.monotonic() + GRACE
            return []
        self._dying.pop(key, None)
        del self._batches[key]
        batch.pool.batches.discard(key)
        # Its jobs not reported yet (a job retried meanwhile is another batch's).
        left = [s for s in (self._sent.get(job) for job in batch.jobs)
                if s is not None and s.batch is batch]
        for sent in left:
            del self._sent[sent.spec.id]
            sent.pool.jobs.pop(sent.spec.id, None)
        if not left:
            return []
        if future.cancelled():
            return [self._failed(sent, "cancelled") for sent in left]
        if error is None:
            # A batch stopped early (its worker closing) left some unstarted.
            reports = {r["id"]: r for r in future.result()}
            return [self._reported(s, reports[s.spec.id]) if s.spec.id in reports
                    else _not_started(s.spec.id) for s in left]
        if lost:
            # A job that had started was lost with the worker; the ones that
            # had not go back to the run's queue.
            return [self._failed(s, LOST) if s.started or self._lost_unseen(s.spec.id)
                    else _not_started(s.spec.id) for s in left]
        return [self._failed(sent, f"the worker could not run it: {error}") for sent in left]

    def _lost_unseen(self, job: int) -> bool:
        """Whether ``job``, lost with a worker before its start was told,
        has been so too often to go back to the queue once more: a job that
        kills its worker at once never gets its start told, and would be
        sent again and again without its retries ever counting."""
        self._unseen_losses[job] = self._unseen_losses.get(job, 0) + 1
        return self._unseen_losses[job] > UNSEEN_LOSSES

    def _failed(self, sent: _Sent, error: str) -> JobResult:
        return JobResult(id=sent.spec.id, ok=False, error=error, started=sent.sent,
                         ended=time.time(), host=socket.gethostname(),
                         output=_read_log(Path(sent.spec.workdir) / sent.spec.log))

    def _local(self) -> LocalExecutor:
        if self.local is None:
            self.local = LocalExecutor(cores=max(1, os.cpu_count() or 1))
        return self.local


def _workers_needed(pool: _Pool) -> int:
    """Workers the class's jobs fill (Dask's own guess sees only the
    batches sent, not the jobs held here)."""
    if pool.shape.one_job:
        return len(pool.jobs)
    return -(-sum(pool.jobs.values()) // max(1, pool.shape.cores))


def _not_started(job: int) -> JobResult:
    return JobResult(id=job, ok=False, error="not started", ran=False, host=socket.gethostname())


def _wait_for_outputs(spec: JobSpec, latency_wait: float) -> str | None:
    """The first output still missing after ``latency_wait`` seconds (shared
    filesystems may show a node's files late), or None."""
    deadline = time.monotonic() + latency_wait
    while True:
        missing = [p for p in spec.output_files.values() if not (Path(spec.workdir) / p).exists()]
        if not missing or time.monotonic() >= deadline:
            return missing[0] if missing else None
        time.sleep(0.1)


def _read_log(path: Path, cap: int = 1 << 20) -> str:
    try:
        data = path.read_bytes()[-cap:]
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")
