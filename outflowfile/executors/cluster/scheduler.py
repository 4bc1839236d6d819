"""What the cluster executor, the two ways of submitting (``sbatch.py``,
``drmaa_session.py``) and the node job (``nodejob.py``) share: the
``Submitter`` interface, a finished job's ``Ended`` state as the scheduler
tells it, and the environment a job is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol


@dataclass
class Ended:
    """What the scheduler says of a job that is no longer queued or running."""

    state: str  # COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, ...
    exit_status: int | None = None
    reason: str = ""


class Submitter(Protocol):
    # How resources are written: "slurm" (sbatch), "slurm-drmaa" (Slurm's
    # DRMAA library: the same options, its own time format) or "sge".
    flavour: str

    def describe(self) -> str: ...

    def submit(self, name: str, command: list[str], native: list[str], log: str,
               workdir: str) -> str: ...

    def submit_array(self, name: str, command: list[str], native: list[str], size: int,
                     log_dir: str, workdir: str) -> list[str]:
        """One array of ``size`` elements, numbered from 1, each running
        ``command``; returns each element's job id, in order."""
        ...

    def finished(self, ids: list[str]) -> dict[str, Ended]: ...

    def cancel(self, ids: list[str]) -> None: ...

    def close(self) -> None: ...


ARRAY_INDEX_VARIABLES = ("SLURM_ARRAY_TASK_ID", "SGE_TASK_ID")


def array_index(job_id: str) -> int | None:
    """An array element's index in its scheduler's id: ``123_4`` (Slurm),
    ``123.4`` (Grid Engine's DRMAA library)."""
    for sep in ("_", "."):
        _, found, index = job_id.rpartition(sep)
        if found and index.isdigit():
            return int(index)
    return None
# Grid Engine shows a job's environment to every user (qstat -j); the node
# job gets the cache's URL from a private file instead (--db-file).
SECRET_VARIABLES = ("OUTFLOW_DB", "PGPASSWORD")


def job_environment() -> dict[str, str]:
    """The environment a job gets: ours, less our own array index (were
    outflow itself an array element: the scheduler sets the job's) and secrets."""
    dropped = ARRAY_INDEX_VARIABLES + SECRET_VARIABLES
    return {k: v for k, v in os.environ.items() if k not in dropped}
