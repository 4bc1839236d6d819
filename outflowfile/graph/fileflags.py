"""Which of a job's output files are ``temp("...")`` or ``protected("...")``
(language/model.py ``FileSpec``): their paths, bound."""

from __future__ import annotations

from outflowfile.graph.expand import Job
from outflowfile.language.model import Outflowfile


def has_temp_outputs(model: Outflowfile) -> bool:
    """Whether any task declares a ``temp("...")`` output: if none does, a
    run has no temporary file to follow."""
    return any(spec.temp for task in model.tasks for spec in task.output_files)


def temp_paths(job: Job) -> list[str]:
    """The job's temporary output files (removed once their readers succeed)."""
    return _flagged(job, temp=True)


def protected_paths(job: Job) -> list[str]:
    """The job's protected output files (read-only, never replaced unasked)."""
    return _flagged(job, temp=False)


def is_temp_output(job: Job, path: str) -> bool:
    return path in temp_paths(job)


def _flagged(job: Job, temp: bool) -> list[str]:
    outputs = job.output_files
    if not outputs:
        return []
    return [
        outputs[spec.name]
        for spec in job.task.output_files
        if (spec.temp if temp else spec.protected) and spec.name in outputs
    ]
