"""Slurm without DRMAA: submit with ``sbatch --parsable``, follow with one
``squeue`` per round for all the run's jobs (filtered by the run's job name,
ended jobs included: Slurm remembers them for ``MinJobAge``, and a job it
forgot is left to the node's own report). ``sacct`` would need accounting
storage, which many small clusters lack."""

from __future__ import annotations

import shlex
import subprocess

from outflowfile.executors.cluster.queues import slurm_queue
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
        self._names: set[str] = set()

    def describe(self) -> str:
        version = _run(["sbatch", "--version"]).strip() or "Slurm"
        return f"{version} through sbatch"

    def submit(self, name: str, command: list[str], native: list[str], log: str,
               workdir: str) -> str:
        self._names.add(name)
        argv = ["sbatch", "--parsable", *FIXED, f"--job-name={name}", f"--output={log}",
                f"--chdir={workdir}", *native, "--wrap", shlex.join(command)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=job_environment())
        if proc.returncode != 0:
            raise SubmitError(f"sbatch refused the job: {proc.stderr.strip()}")
        return proc.stdout.strip().split(";")[0]

    def submit_array(self, name: str, command: list[str], native: list[str], size: int,
                     log_dir: str, workdir: str) -> list[str]:
        self._names.add(name)
        log = f"{log_dir}/%A_%a.out"
        argv = ["sbatch", "--parsable", *FIXED, f"--array=1-{size}", f"--job-name={name}",
                f"--output={log}", f"--chdir={workdir}", *native, "--wrap", shlex.join(command)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=job_environment())
        if proc.returncode != 0:
            raise SubmitError(f"sbatch refused the job array: {proc.stderr.strip()}")
        array_id = proc.stdout.strip().split(";")[0]
        return [f"{array_id}_{i}" for i in range(1, size + 1)]

    def finished(self, ids: list[str]) -> dict[str, Ended]:
        queue = slurm_queue(self._names)  # -r: one line per array element ("123_4")
        if queue is None:  # squeue failed: ask again next round
            return {}
        stuck = {
            job_id: Ended("FAILED", None, f"it can never start here: {entry.reason}")
            for job_id, entry in queue.items()
            if entry.state == "PENDING" and entry.reason in NEVER and job_id in ids
        }
        if stuck:
            self.cancel(list(stuck))
        ended = {}
        for job_id in ids:
            entry = queue.get(job_id)
            if entry is None:  # already forgotten: the node's report decides
                ended[job_id] = Ended("UNKNOWN")
            elif not entry.waiting:
                ended[job_id] = Ended(entry.state, entry.exit_status, entry.reason)
        ended.update(stuck)
        return ended

    def cancel(self, ids: list[str]) -> None:
        if ids:
            subprocess.run(["scancel", *ids], capture_output=True)

    def close(self) -> None:
        pass


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
