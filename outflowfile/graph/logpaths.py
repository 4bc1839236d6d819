"""One ``log:`` path per job.

Two jobs writing one log file show each other's lines, and a log that is
also an output file is overwritten by one of them; both are errors. The
checker reports what the patterns prove (two tasks with one log pattern, a
mapped task whose log pattern does not vary per item); this finds the rest
as each job's parameters become known: before the run starts for the jobs
known then, before a job starts for those a map makes at run time. Paths
are compared normalised (``./logs/a.log`` is ``logs/a.log``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outflowfile.language.ownership import normalize
from outflowfile.language.patterns import PatternError, format_pattern

if TYPE_CHECKING:
    from outflowfile.graph.expand import Job


class LogClash(ValueError):
    """Two jobs would write one log file, or a log is an output file."""


@dataclass
class LogClaims:
    """The log path of every job with a ``log:`` so far, normalised."""

    owner: dict[str, Job] = field(default_factory=dict)

    def claim(self, job: Job, params: Mapping[str, Any],
              producer_of: Mapping[str, Job]) -> None:
        """Note ``job``'s log; raises ``LogClash`` naming both jobs and the
        path when another job writes it (as its log or as an output)."""
        pattern = job.task.log
        if pattern is None:
            return
        try:
            path = normalize(format_pattern(pattern, params))
        except PatternError:
            return  # reported when the job's spec is made, with the job's name
        other = self.owner.setdefault(path, job)
        if other is not job and not _same_job(other, job):
            raise LogClash(f"{job.label}: its log {path} is also the log of job {other.label}; "
                           f"give each job a log: path of its own (with a field that "
                           f"differs between them, such as a map's item)")
        maker = producer_of.get(path)
        if maker is not None:
            raise LogClash(f"{job.label}: its log {path} is an output file of job "
                           f"{maker.label}; a log must not be an output file")

    def check_outputs(self, job: Job, outputs: Mapping[str, str]) -> None:
        """An output of ``job`` that is another job's log is an error too."""
        if not self.owner:
            return
        for path in outputs.values():
            other = self.owner.get(normalize(path))
            if other is not None:
                raise LogClash(f"{job.label}: its output {path} is the log of job "
                               f"{other.label}; a log must not be an output file")


def _same_job(a: Job, b: Job) -> bool:
    """The same task with the same inputs: one job, made twice."""
    return a.task is b.task and a.params == b.params
