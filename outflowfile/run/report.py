"""What a run tells the world as it goes: the interface the loop and the
session talk to (``views/console.py`` implements it), and where the run
stands, for a status line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from outflowfile.graph.expand import Job
    from outflowfile.run.jobspec import JobResult, JobSpec
    from outflowfile.run.outcome import Outcome


@dataclass
class Counts:
    """Where a run stands: ``total`` is every job of the targets that is not
    up to date and not blocked by a failure (it can still shrink when an
    upstream job's rerun leaves a downstream one up to date)."""

    done: int
    running: int
    failed: int
    queued: int
    total: int


# (slot, task, seconds) of jobs that ran before, oldest first.
Durations = list[tuple[str, str, float]]


class RunReporter(Protocol):
    def follow(self, counts: Callable[[], Counts], durations: Callable[[], Durations]) -> None:
        """Show where the run stands from here on (if anyone sees it);
        ``durations`` (past ones, for an estimate) is read when needed."""
        ...

    def unfollow(self) -> None: ...

    def tick(self) -> None:
        """Time passes: a moment to redraw what shows where the run stands."""
        ...

    def say(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def job_queued(self, job: Job) -> None: ...

    def job_started(self, job: Job, reason: str, spec: JobSpec) -> None: ...

    def job_done(self, job: Job, result: JobResult, done: int, total: int) -> None: ...

    def job_not_started(self, job: Job) -> None:
        """A job announced as started never ran: it waits again."""
        ...

    def job_retry(self, job: Job, attempt: int, retries: int, error: str) -> None: ...

    def job_failed(self, job: Job, spec: JobSpec, result: JobResult, error: str) -> None: ...

    def node_error(self, label: str, message: str) -> None: ...

    def dry_run(self, outcome: Outcome) -> None:
        """What a dry run found."""
        ...

    def summary(self, outcome: Outcome) -> None:
        """What a run did."""
        ...
