"""The interface every executor offers the run loop (``run/dispatch.py``).

The dispatcher keeps the ready queue and asks ``can_start`` before each
``start``; it calls ``wait`` to collect finished jobs. An executor runs jobs
and reports ``JobResult``s; the dispatcher records them in the cache (the row
it opens for a job before starting it, and the job's end).

The local pool (``executors/local.py``) never touches the cache. The cluster
side does, because the cache database is the only thing a job on a node
shares with the outflow that submitted it: the cluster executor
(``executors/cluster/executor.py``) stores each job's ``JobSpec`` under the
job's cache row before submitting it; the node job
(``executors/cluster/nodejob.py``) reads it, runs the job and writes its own
report of how it ended into that row; the cluster executor reads the report
back when the scheduler says the job is over and returns it as the job's
``JobResult``, which the dispatcher then records like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from outflowfile.run.jobspec import JobResult, JobSpec

if TYPE_CHECKING:
    from outflowfile.run.report import RunReporter
    from outflowfile.store.door import Store
    from outflowfile.store.recorder import RunRecorder


class Executor(Protocol):
    #: The most cores that jobs may use at once (``-j``).
    cores: int

    def grant(self, cpus: int) -> int:
        """The cores a job asking for ``cpus`` would get (capped at ``cores``)."""
        ...

    def can_start(self, spec: JobSpec) -> bool:
        """True when the cores and memory ``spec`` asks for are free now."""
        ...

    def start(self, spec: JobSpec) -> None:
        """Start a job; never blocks on the job itself."""
        ...

    def wait(self, timeout: float | None) -> list[JobResult]:
        """Block until at least one job ends or ``timeout`` passes; return the
        jobs that ended (possibly none)."""
        ...

    def running(self) -> int:
        """How many jobs are running now."""
        ...

    def cancel_all(self) -> list[JobResult]:
        """Terminate every running job's whole process tree (killed after a
        short grace period) and return their results (failed)."""
        ...

    def close(self) -> None:
        """Stop helper processes. Safe to call twice."""
        ...


class MakeExecutor(Protocol):
    """Makes the executor of a real run, once the run's recorder exists (a
    cluster executor hands jobs their specs through the cache)."""

    def __call__(self, store: Store, recorder: RunRecorder, reporter: RunReporter) -> Executor:
        ...
