"""What the scheduler's queue holds, asked with its own commands, once for
many jobs: ``squeue`` on Slurm, ``qstat`` on Grid Engine.

The same answers serve a run following the jobs it submitted (``sbatch.py``,
``drmaa_session.py``) and a run finding the jobs of one that died
(``adoption``, by the ids the cache recorded: the jobs of another process,
which a DRMAA session cannot follow).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from outflowfile.store.records import Scheduled

# Slurm's states of a job still queued or running.
SLURM_WAITING = frozenset({
    "PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "RESIZING",
    "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "STOPPED",
})  # fmt: skip


@dataclass
class Entry:
    """One job (or array element) as the queue lists it."""

    state: str  # Slurm's state name, or Grid Engine's state letters (qw, r, t, Eqw...)
    reason: str = ""
    exit_status: int | None = None  # Slurm: once it ended

    @property
    def waiting(self) -> bool:
        """Still queued or running."""
        return self.state in SLURM_WAITING or not self.state.isupper()


def slurm_queue(names: Iterable[str], ended_too: bool = True) -> dict[str, Entry] | None:
    """The jobs of these job names by id (an array element's as ``123_4``);
    with ``ended_too``, also those ended that Slurm still remembers
    (``MinJobAge``), with their state and exit status. One ``squeue``;
    None when it fails."""
    names = sorted(set(names))
    if not names:
        return {}
    return _slurm_listing([f"--name={','.join(names)}"], ended_too)


def slurm_jobs(ids: Iterable[str]) -> dict[str, Entry] | None:
    """These jobs by id, ended ones included while Slurm remembers them;
    one ``squeue``; None when it fails (an id it forgot fails it)."""
    ids = sorted(set(ids))
    return _slurm_listing([f"--jobs={','.join(ids)}"], True) if ids else {}


def _slurm_listing(select: list[str], ended_too: bool) -> dict[str, Entry] | None:
    argv = ["squeue", "-h", "-r", *select,
            "-O", "JobArrayID:64,JobID:24,State:24,exit_code:12,Reason:200"]  # fmt: skip
    if ended_too:
        argv.insert(3, "--states=all")
    listing = run(argv)
    if listing is None:
        return None
    found: dict[str, Entry] = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        array_id, job_id, state, code = parts[:4]
        reason = " ".join(parts[4:])
        entry = Entry(state, "" if reason == "None" else reason, _wait_status(code))
        found[array_id] = entry
        found.setdefault(job_id, entry)  # Slurm's DRMAA library names elements so
    return found


def _wait_status(text: str) -> int | None:
    """Slurm's exit_code field: a wait status (``exit << 8 | signal``)."""
    if not text.isdigit():
        return None
    status = int(text)
    return -(status & 0x7F) if status & 0x7F else status >> 8


def sge_queue() -> dict[str, Entry] | None:
    """Grid Engine's queued and running jobs by id (an array task's as
    ``123.4``, as its DRMAA library names it); one ``qstat``. None when
    ``qstat`` fails."""
    listing = run(["qstat", "-g", "d"])
    if listing is None:
        return None
    found: dict[str, Entry] = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) < 8 or not parts[0].isdigit():
            continue
        job_id, state = parts[0], parts[4]
        # job-ID prior name user state date time [queue] slots [ja-task-ID]
        columns = 9 if "@" in parts[7] else 8
        entry = Entry(state)
        if len(parts) > columns and parts[columns].isdigit():
            found[f"{job_id}.{parts[columns]}"] = entry
        found.setdefault(job_id, entry)
    return found


class QueueUnknown(OSError):
    """The scheduler could not be asked."""


def still_queued(scheduled: Iterable[Scheduled]) -> set[str]:
    """Of the jobs a run recorded, the ids of those still queued or running;
    QueueUnknown when the scheduler cannot be asked."""
    jobs = list(scheduled)
    slurm = [s for s in jobs if s.scheduler.startswith("slurm")]
    sge = [s for s in jobs if not s.scheduler.startswith("slurm")]
    alive: set[str] = set()
    if slurm:
        queue = slurm_queue({s.name for s in slurm}, ended_too=False)
        if queue is None:
            raise QueueUnknown("squeue failed")
        alive |= {s.scheduler_id for s in slurm if s.scheduler_id in queue}
    if sge:
        queue = sge_queue()
        if queue is None:
            raise QueueUnknown("qstat failed")
        alive |= {s.scheduler_id for s in sge if s.scheduler_id in queue}
    return alive


def cancel(scheduled: Iterable[Scheduled]) -> None:
    """Cancel jobs by the ids a run recorded (``scancel``, ``qdel``)."""
    jobs = list(scheduled)
    slurm = [s.scheduler_id for s in jobs if s.scheduler.startswith("slurm")]
    sge = [s.scheduler_id for s in jobs if not s.scheduler.startswith("slurm")]
    if slurm:
        run(["scancel", *slurm])
    if sge:
        run(["qdel", *sge])


def run(argv: list[str]) -> str | None:
    """What the command printed; None when it failed."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None
