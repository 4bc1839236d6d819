"""The interface every executor offers the scheduler.

The scheduler keeps the ready queue and asks ``can_start`` before each
``start``; it calls ``wait`` to collect finished jobs. An executor never
touches the cache: it runs jobs and reports ``JobResult``s.
"""

from __future__ import annotations

from typing import Protocol

from outflowfile.run.jobspec import JobResult, JobSpec


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
