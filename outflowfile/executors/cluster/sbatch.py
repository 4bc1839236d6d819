"""Slurm without DRMAA: submit with ``sbatch --parsable``, follow with one
``squeue`` per round (filtered by the run's job name) and ``scontrol`` for
the jobs that left the queue (``sacct`` needs accounting storage, which many
small clusters lack)."""

from __future__ import annotations

import shlex
import subprocess

from outflowfile.executors.cluster.scheduler import Ended, job_environment


class SubmitError(OSError):
    """The scheduler refused a job."""


# Why a pending job will never start (Slurm accepts such jobs and keeps them).
NEVER = frozenset({
    "PartitionConfig", "BadConstraints", "PartitionNodeLimit", "PartitionTimeLimit",
    "InvalidAccount", "InvalidQOS", "QOSMaxCpuPerJobLimit", "QOSMaxMemoryPerJob",
})  # fmt: skip


# Slurm would requeue a job whose node fails and run it again later, silently;
# outflow reports it (NODE_FAIL) and retries it itself when the task says so.
FIXED = ("--no-requeue",)


class SbatchSubmitter:
    flavour = "slurm"

    def __init__(self) -> None:
        self._name: str | None = None

    def describe(self) -> str:
        version = _run(["sbatch", "--version"]).strip() or "Slurm"
        return f"{version} through sbatch"

    def submit(self, name: str, command: list[str], native: list[str], log: str,
               workdir: str) -> str:
        self._name = name
        argv = ["sbatch", "--parsable", *FIXED, f"--job-name={name}", f"--output={log}",
                f"--chdir={workdir}", *native, "--wrap", shlex.join(command)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=job_environment())
        if proc.returncode != 0:
            raise SubmitError(f"sbatch refused the job: {proc.stderr.strip()}")
        return proc.stdout.strip().split(";")[0]

    def submit_array(self, name: str, command: list[str], native: list[str], size: int,
                     log_dir: str, workdir: str) -> list[str]:
        self._name = name
        log = f"{log_dir}/%A_%a.out"
        argv = ["sbatch", "--parsable", *FIXED, f"--array=1-{size}", f"--job-name={name}",
                f"--output={log}", f"--chdir={workdir}", *native, "--wrap", shlex.join(command)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=job_environment())
        if proc.returncode != 0:
            raise SubmitError(f"sbatch refused the job array: {proc.stderr.strip()}")
        array_id = proc.stdout.strip().split(";")[0]
        return [f"{array_id}_{i}" for i in range(1, size + 1)]

    def finished(self, ids: list[str]) -> dict[str, Ended]:
        if self._name is None:
            return {}
        queued: dict[str, str] = {}
        stuck: dict[str, Ended] = {}
        # -r: one line per array element ("123_4"), pending ones included.
        listing = _run(["squeue", "-h", "-r", f"--name={self._name}", "-o", "%i %T %r"])
        for line in listing.splitlines():
            job_id, state, reason = (line.split(None, 2) + ["", ""])[:3]
            queued[job_id] = state
            if state == "PENDING" and reason in NEVER:
                stuck[job_id] = Ended("FAILED", None, f"it can never start here: {reason}")
        if stuck:
            self.cancel(list(stuck))
        ended = {job_id: _ended(job_id) for job_id in ids if job_id not in queued}
        ended.update((job_id, e) for job_id, e in stuck.items() if job_id in ids)
        return ended

    def cancel(self, ids: list[str]) -> None:
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)

    def close(self) -> None:
        pass


def _ended(job_id: str) -> Ended:
    """Slurm's account of a job that left the queue."""
    fields = dict(
        item.split("=", 1)
        for item in _run(["scontrol", "-o", "show", "job", job_id]).split()
        if "=" in item
    )
    if "JobState" not in fields:  # already purged: the node's report decides
        return Ended("UNKNOWN")
    code = fields.get("ExitCode", "0:0").split(":")[0]
    reason = fields.get("Reason", "")
    return Ended(
        fields["JobState"],
        int(code) if code.isdigit() else None,
        "" if reason in ("None", "") else reason,
    )


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
