"""The build command: what ``outflow`` does when it runs the targets. It
wires the pieces of a run: the console that reports, the executor (the local
pool, or a cluster), and the session that plans and runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from outflowfile.run.session import RunRequest, execute

if TYPE_CHECKING:
    from outflowfile.language.model import Outflowfile
    from outflowfile.run.executor import Executor, MakeExecutor
    from outflowfile.run.outcome import Outcome
    from outflowfile.run.report import RunReporter
    from outflowfile.store.door import Store
    from outflowfile.store.recorder import RunRecorder
    from outflowfile.store.records import Scheduled

CLUSTER_JOBS = 100  # jobs in flight on a cluster when -j is not given
SQLITE_WRITERS = 4  # cluster jobs writing to SQLite at once before a warning


def build(request: RunRequest, model: Outflowfile, console: RunReporter) -> Outcome:
    """Plan the targets and, unless it is a dry run, run them."""
    return execute(request, model, console, executor_maker(request), still_queued)


def still_queued(scheduled: list[Scheduled]) -> set[str]:
    """Which jobs of a dead run a cluster still runs (run/adoption.py)."""
    from outflowfile.executors.cluster.queues import still_queued as ask

    return ask(scheduled)


def executor_maker(request: RunRequest) -> MakeExecutor:
    """How a run of ``request`` makes its executor."""

    def make(store: Store, recorder: RunRecorder, reporter: RunReporter) -> Executor:
        if request.cluster is None:
            return local_executor(request)
        if getattr(request.cluster, "workers", None):
            return workers_executor(request, store, reporter)
        return cluster_executor(request, store, recorder, reporter)

    return make


def local_executor(request: RunRequest) -> Executor:
    from outflowfile.executors import local
    from outflowfile.machine import usable_cores

    return local.LocalExecutor(cores=request.jobs or usable_cores(), mem_limit=request.mem_limit)


def workers_executor(request: RunRequest, store: Store, console: RunReporter) -> Executor:
    from outflowfile.executors.workers.executor import WORKER_QUEUE, WorkersExecutor
    from outflowfile.executors.workers.request import WorkersRequest

    assert isinstance(request.cluster, WorkersRequest)
    executor = WorkersExecutor(request.cluster, store.workdir, request.jobs or WORKER_QUEUE)
    n = request.cluster.workers
    console.say(f"outflow: running jobs on at most {n} {request.cluster.scheduler} "
                f"job{'s' if n != 1 else ''} of Dask workers")
    return executor


def cluster_executor(
    request: RunRequest, store: Store, recorder: RunRecorder, console: RunReporter
) -> Executor:
    from outflowfile.executors.cluster.executor import ClusterExecutor, make_submitter

    cluster = request.cluster
    assert cluster is not None
    submitter = make_submitter(cluster)
    console.say(f"outflow: submitting to {submitter.describe()}")
    in_flight = request.jobs or CLUSTER_JOBS
    if in_flight > SQLITE_WRITERS and store.is_sqlite:
        console.warn(
            f"up to {in_flight} jobs will write to an SQLite cache, one at a time; "
            "past a handful, use PostgreSQL (--db postgresql://...)"
        )
    return ClusterExecutor(
        submitter,
        recorder.cache,
        cores=in_flight,
        defaults=cluster.defaults,
        db_url=store.url,
        latency_wait=cluster.latency_wait,
        arrays=cluster.arrays,
        max_rate=cluster.max_rate,
    )
