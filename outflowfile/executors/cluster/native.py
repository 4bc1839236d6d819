"""A job's resources (cores, memory, time, partition) in the scheduler's own
arguments, for Slurm (``sbatch`` or its DRMAA library) and Grid Engine.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass

from outflowfile.run.jobspec import JobSpec


@dataclass
class Defaults:
    """Resources for jobs whose task does not say (command-line options)."""

    cpus: int | None = None
    mem: int | None = None  # bytes
    time: int | None = None  # seconds
    partition: str | None = None
    args: str = ""  # --cluster-args: native arguments for every job


def native_args(flavour: str, spec: JobSpec, defaults: Defaults) -> list[str]:
    """The scheduler's own arguments for a job's resources; the defaults
    (command-line options) fill what the task leaves at its default."""
    cpus = spec.cpus if spec.cpus != 1 else (defaults.cpus or 1)
    mem = spec.mem or defaults.mem
    seconds = spec.time or defaults.time
    partition = spec.resources.get("partition") or defaults.partition
    extra = shlex.split(spec.resources.get("cluster") or "") + shlex.split(defaults.args)
    if flavour in ("slurm", "slurm-drmaa"):
        args = [f"--cpus-per-task={cpus}"]
        if mem:
            args.append(f"--mem={math.ceil(mem / 2**20)}M")
        if seconds:
            args.append(f"--time={_slurm_time(flavour, seconds)}")
        if partition:
            args.append(f"--partition={partition}")
        return args + extra
    # -w e: refuse at once a job no queue can ever take (it would pend forever).
    args = ["-w", "e", "-pe", "smp", str(cpus)]
    if mem:
        args += ["-l", f"h_vmem={math.ceil(mem / cpus / 2**20)}M"]  # per slot
    if seconds:
        args += ["-l", f"h_rt={seconds}"]
    if partition:
        args += ["-q", partition]
    return args + extra


def _slurm_time(flavour: str, seconds: int) -> str:
    """Whole minutes, rounded up: sbatch reads a bare number as minutes (and
    ``H:MM`` as minutes:seconds); Slurm's DRMAA library reads only hours:minutes."""
    minutes = max(1, math.ceil(seconds / 60))
    if flavour == "slurm":
        return str(minutes)
    return f"{minutes // 60}:{minutes % 60:02d}"
