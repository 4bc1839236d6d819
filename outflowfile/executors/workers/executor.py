"""The workers executor (``--workers N``): jobs go to Dask workers that
dask-jobqueue runs as at most N scheduler jobs (``engine.py``).

Every job stays a job of its own to the run: the dispatcher opens and
closes its record, retries it, reports its failure, exactly as for the
other executors. The worker runs it as a node job would (``jobtask.py``)
and sends its report back as the Dask task's result; the job's log is in
the project, where outflow reads it.

Jobs are grouped into worker classes by shape (``Shape``): from
``--cpus-per-task``/``--mem``/``--time`` when given (one class per
partition), else from the job's own resources. Each class is a
dask-jobqueue cluster scaled adaptively between 0 and its share of N
scheduler jobs; a class with nothing left to run gives its share back.

A worker lost (``scancel``, a failed node, its time limit) fails only the
jobs it held: Dask is told never to run them again itself (engine.py), so
outflow's ``retries:`` decide; adaptive scaling starts a replacement while
work remains.
"""

from __future__ import annotations

import os
import queue
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outflowfile.executors.local import LocalExecutor
from outflowfile.executors.workers import engine
from outflowfile.executors.workers.engine import Shape
from outflowfile.executors.workers.request import WorkersRequest
from outflowfile.run.jobspec import JobResult, JobSpec

WORKER_QUEUE = 10_000  # jobs handed to Dask at once when -j is not given
LOST = ("the worker running it was lost (its scheduler job ended: cancelled, "
        "a failed node or its time limit)")


@dataclass
class _Pool:
    """One class of worker: its cluster, its client, its jobs in flight."""

    shape: Shape
    cluster: Any
    client: Any
    share: int = 0
    jobs: set[int] = field(default_factory=set)


@dataclass
class _Sent:
    spec: JobSpec
    future: Any
    pool: _Pool
    sent: float


@dataclass
class WorkersExecutor:
    request: WorkersRequest
    workdir: Path
    cores: int  # jobs handed to the workers at once
    local: LocalExecutor | None = None
    name: str = field(default_factory=lambda: f"outflow-{os.getpid()}-workers")
    _pools: dict[Shape, _Pool] = field(default_factory=dict)
    _sent: dict[int, _Sent] = field(default_factory=dict)
    _ended: queue.Queue[int] = field(default_factory=queue.Queue)
    _held: list[int] = field(default_factory=list)  # started, not yet sent to Dask

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
        self._sent[spec.id] = _Sent(spec, None, pool, time.time())
        if self._too_big(spec, pool.shape):
            self._ended.put(spec.id)
            return
        pool.jobs.add(spec.id)
        # Sent to Dask together at the next wait(): one message for a map's
        # jobs rather than one each.
        self._held.append(spec.id)

    def wait(self, timeout: float | None) -> list[JobResult]:
        end = None if timeout is None else time.monotonic() + timeout
        self._send_held()
        while True:
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
            try:
                job = self._ended.get(timeout=slice_)
            except queue.Empty:
                continue
            self._ended.put(job)

    def running(self) -> int:
        local = self.local.running() if self.local is not None else 0
        return len(self._sent) + local

    def cancel_all(self) -> list[JobResult]:
        results = self.local.cancel_all() if self.local is not None else []
        self._held.clear()
        for sent in self._sent.values():
            if sent.future is not None:
                sent.future.cancel()
            results.append(self._failed(sent, "cancelled"))
        self._sent.clear()
        self._close_pools()  # the jobs still running die with their workers
        return results

    def close(self) -> None:
        if self._sent:
            self.cancel_all()
        self._close_pools()
        if self.local is not None:
            self.local.close()

    def _send_held(self) -> None:
        """Send the jobs start() held to their classes' workers, a batch per class."""
        from outflowfile.executors.workers.jobtask import run_job

        batches: dict[Shape, list[_Sent]] = {}
        for job in self._held:
            sent = self._sent.get(job)
            if sent is not None:
                batches.setdefault(sent.pool.shape, []).append(sent)
        self._held.clear()
        for batch in batches.values():
            pool = batch[0].pool
            # A batch of one resource shape at a time: Client.map gives all of
            # its tasks the same restrictions.
            by_size: dict[tuple[int, int | None], list[_Sent]] = {}
            for sent in batch:
                by_size.setdefault((sent.spec.cpus, sent.spec.mem), []).append(sent)
            for (cpus, mem), group in by_size.items():
                resources = None
                if not pool.shape.one_job:
                    resources = {"cores": cpus, **({"memory": mem} if mem else {})}
                stamp = time.time()
                futures = pool.client.map(
                    run_job, [s.spec.to_text() for s in group],
                    key=[f"job-{s.spec.id}-{stamp}" for s in group],
                    resources=resources, pure=False)
                for sent, future in zip(group, futures, strict=True):
                    sent.future = future
                    future.add_done_callback(lambda _f, job=sent.spec.id: self._ended.put(job))

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
                pool.cluster.adapt(minimum_jobs=0, maximum_jobs=share, interval="500ms",
                                   wait_count=10)

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

    def _collect(self) -> list[JobResult]:
        results: list[JobResult] = []
        while True:
            try:
                job = self._ended.get_nowait()
            except queue.Empty:
                return results
            sent = self._sent.pop(job, None)
            if sent is not None:
                sent.pool.jobs.discard(job)
                results.append(self._result(sent))

    def _result(self, sent: _Sent) -> JobResult:
        if sent.future is None:
            why = self._too_big(sent.spec, sent.pool.shape) or "it was never sent"
            return self._failed(sent, f"no worker can run it: {why}")
        if sent.future.cancelled():
            return self._failed(sent, "cancelled")
        error = sent.future.exception()
        if error is not None:
            if type(error).__name__ == "KilledWorker":
                return self._failed(sent, LOST)
            return self._failed(sent, f"the worker could not run it: {error}")
        result = JobResult(**sent.future.result())
        result.output = _read_log(Path(sent.spec.workdir) / sent.spec.log)
        if result.ok:
            missing = _wait_for_outputs(sent.spec, self.request.latency_wait)
            if missing:
                result.ok = False
                result.error = (f"the job finished but its output file {missing} did not "
                                f"appear within {self.request.latency_wait:g} s "
                                "(--latency-wait)")
        return result

    def _failed(self, sent: _Sent, error: str) -> JobResult:
        return JobResult(id=sent.spec.id, ok=False, error=error, started=sent.sent,
                         ended=time.time(), host=socket.gethostname(),
                         output=_read_log(Path(sent.spec.workdir) / sent.spec.log))

    def _local(self) -> LocalExecutor:
        if self.local is None:
            self.local = LocalExecutor(cores=max(1, os.cpu_count() or 1))
        return self.local


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
