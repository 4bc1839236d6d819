"""What a worker runs: a batch of jobs, one after the other, on a local
pool of its own (``executors/local.py``), so that a job's log, cores, time
limit, environment, exit status, CPU time and peak memory are handled and
measured exactly as on the machine running outflow. The worker keeps its
pools from batch to batch (``onworker.Pools``), and Python jobs run in their
Python workers, started once.

Each job's report goes back to outflow as a Dask event the moment the job
ends (``TOPIC``), and all of them as the task's result: nothing here
touches the cache. Imports no Dask at module level: the worker unpickles
``run_jobs`` by reference.
"""

from __future__ import annotations

import socket
import time
from dataclasses import asdict
from typing import Any

from outflowfile.run.jobspec import JobResult, JobSpec

# The Dask event topic: [batch, job, report or None, the next job started or None].
TOPIC = "outflow-job"
KILL_GRACE = 1.0  # seconds to see whether a job's kill was its worker's end


def run_jobs(batch: str, spec_texts: list[str]) -> list[dict[str, Any]]:
    """Run a batch of jobs (``JobSpec.to_text`` each) here, one after the
    other: one Dask task for several small jobs, since Dask's cost is per
    task. Their reports, ``JobResult``s as dicts without their output
    (outflow reads the logs). ``batch`` names the batch in each event, so that
    a report arriving late is never taken for a later attempt's."""
    from distributed import get_worker

    from outflowfile import valuecodec
    from outflowfile.executors.workers.onworker import PLUGIN, Pools

    specs = [JobSpec.from_text(text) for text in spec_texts]
    worker = get_worker()
    pools = worker.plugins[PLUGIN]
    assert isinstance(pools, Pools)  # set up by the worker's preload (engine.ONWORKER)
    cores = max(spec.cpus for spec in specs)
    pool = pools.take(cores)
    reports = []
    try:
        # Each job's start is told (outflow blames a lost worker only on the
        # job it had started): the first's alone, each next one's with the
        # report of the job before it, one event for both.
        going = not _stopping(worker, 0)
        if going:
            worker.log_event(TOPIC, [batch, specs[0].id, None, None])
        for i, spec in enumerate(specs):
            if not going:
                break  # the rest never start: outflow sends them elsewhere
            report = _run(pool, spec)
            reports.append(report)
            try:
                encoded = valuecodec.encode(report)
            except Exception:  # noqa: BLE001 - then outflow takes it from the task's result
                encoded = ""
            following = specs[i + 1].id if i + 1 < len(specs) else None
            if (report["exit_status"] or 0) < 0:
                # Killed by a signal: the scheduler may be ending this worker
                # (it signals the job's processes too); the next must not start.
                worker.log_event(TOPIC, [batch, spec.id, encoded, None])
                going = following is not None and not _stopping(worker, KILL_GRACE)
                if going:
                    worker.log_event(TOPIC, [batch, following, None, None])
            else:
                going = following is not None and not _stopping(worker, 0)
                worker.log_event(TOPIC, [batch, spec.id, encoded, following if going else None])
    except BaseException:
        pool.close()
        raise
    pools.give(pool, cores)
    return reports


def _stopping(worker: Any, within: float) -> bool:
    """Whether the worker is closing, or starts to within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        if worker.status.name not in ("running", "paused"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _run(pool: Any, spec: JobSpec) -> dict[str, Any]:
    started = time.time()
    try:
        pool.start(spec)
        results: list[JobResult] = []
        while not results:
            results = pool.wait(None)
        result = results[0]
    except Exception as exc:  # noqa: BLE001 - told as the job's failure, not the worker's
        result = JobResult(id=spec.id, ok=False, host=socket.gethostname(), started=started,
                           ended=time.time(), error=f"cannot run the job on this worker: {exc}")
    report = asdict(result)
    report.pop("output", None)
    return report
