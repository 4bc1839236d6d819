"""The engine under ``--workers``: dask-jobqueue starts Dask workers as
scheduler jobs (Slurm, Grid Engine, PBS, LSF, HTCondor), replaces lost ones
while work remains (its adaptive scaling) and Dask distributed balances the
jobs over them. This module imports Dask (only when asked for), sizes a
class of workers and starts its cluster.

A worker class is one shape: cores, memory, time and partition. Each worker
announces its cores and memory as Dask resources (``cores``, ``memory``) and
runs as many jobs at once as fit in them, one per thread.

Never a worker without its head: outflow closes the clusters (cancelling
the worker jobs) on every way out it sees; after ``kill -9`` each worker
stops by itself once it has not reached the scheduler for
``DEATH_TIMEOUT`` seconds (Dask's ``--death-timeout``).
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from outflowfile.errors import UserError

EXTRA = "outflow[workers]"
DEATH_TIMEOUT = 60  # seconds a worker waits for a lost head before it stops
DEATH_TIMEOUT_VARIABLE = "OUTFLOW_WORKERS_DEATH_TIMEOUT"
# Dask's settings in each worker's environment: no statistical profiling of
# the jobs' threads (every 10 ms, for a dashboard nobody looks at).
WORKER_CONFIG = (("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", "False"),)
ONWORKER = "outflowfile.executors.workers.onworker"  # each worker's setup (Dask's --preload)
NOMINAL_MEMORY = 2**30  # per core, Dask's figure for a worker whose jobs name none

# dask-jobqueue's cluster class for each --cluster name, and its config section.
CLUSTERS = {
    "slurm": ("SLURMCluster", "slurm"),
    "sge": ("SGECluster", "sge"),
    "pbs": ("PBSCluster", "pbs"),
    "lsf": ("LSFCluster", "lsf"),
    "htcondor": ("HTCondorCluster", "htcondor"),
}

# Where the head's scheduler listens: the workers connect to it over TCP.
INTERFACE_VARIABLE = "OUTFLOW_WORKERS_INTERFACE"  # e.g. ib0, eth0
PORT_VARIABLE = "OUTFLOW_WORKERS_PORT"  # default: any free port


@dataclass(frozen=True)
class Shape:
    """One class of worker."""

    cores: int
    mem: int | None  # bytes; None: no request (the scheduler's default)
    time: int | None  # seconds; None: no limit asked
    partition: str | None
    args: str = ""  # native scheduler arguments (--cluster-args, a task's cluster:)
    # True: sized for one job of its class at a time (from the jobs' own
    # resources); its jobs wait in the scheduler's queue, not the worker's,
    # so a worker lost takes only the job it was running with it. False:
    # sized by the options, it runs as many jobs as its cores and memory
    # hold (Dask resources).
    one_job: bool = False

    def describe(self) -> str:
        parts = [f"{self.cores} cores"]
        if self.mem:
            parts.append(f"{math.ceil(self.mem / 2**20)} MiB")
        if self.time:
            parts.append(f"{math.ceil(self.time / 60)} min")
        if self.partition:
            parts.append(f"partition {self.partition}")
        return ", ".join(parts)


def load_dask() -> Any:
    """dask-jobqueue, imported; a clear error when the extra is missing."""
    import signal

    # dask-jobqueue sets its own Ctrl-C handler when imported (sys.exit):
    # outflow's must stay, to cancel the run's jobs and say so.
    ours = signal.getsignal(signal.SIGINT)
    try:
        import dask
        import dask_jobqueue
        import distributed  # noqa: F401 - the engine dask-jobqueue drives
    except ImportError as exc:
        raise UserError(
            f"--workers needs Dask (dask-jobqueue and distributed): {exc}",
            hint=f"pip install '{EXTRA}'",
        ) from None
    finally:
        signal.signal(signal.SIGINT, ours)
    # A job lost with its worker fails at once (outflow's retries: decide
    # whether it runs again); Dask would rerun it elsewhere up to 3 times.
    # A worker is sent no more jobs than it has threads: the others wait at
    # the scheduler, where a lost worker cannot take them with it.
    # Dask logs at INFO, with tracebacks, what outflow says in its own words
    # (a worker lost, its connection closed as the run ends).
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # A lost worker is replaced once its cluster forgets it: after 2 s
    # rather than Dask's 15 (its job was cancelled; it will not come back).
    dask.config.set({"distributed.deploy.lost-worker-timeout": "2s",
                     "distributed.scheduler.allowed-failures": 0,
                     "distributed.scheduler.worker-saturation": 1.0})
    return dask_jobqueue


def start_cluster(scheduler: str, shape: Shape, name: str, log_dir: Path) -> Any:
    """A dask-jobqueue cluster of workers of ``shape`` (none started yet)."""
    jobqueue = load_dask()
    if scheduler not in CLUSTERS:
        raise UserError(f"--workers: no workers on {scheduler!r}",
                        hint="use --cluster " + "|".join(CLUSTERS))
    class_name, section = CLUSTERS[scheduler]
    import dask

    # Not dask-jobqueue's default time limit (30 min): the scheduler's own.
    dask.config.set({f"jobqueue.{section}.walltime": None})
    log_dir.mkdir(parents=True, exist_ok=True)
    memory = shape.mem or NOMINAL_MEMORY * shape.cores
    kwargs: dict[str, Any] = {
        "cores": shape.cores,
        "processes": 1,
        "memory": f"{memory}B",
        "nanny": False,  # one process per worker: the jobs are its children
        # exec: the worker is the job's own process, not a child the job
        # script leaves behind when the scheduler ends it; a worker whose
        # shutdown hangs is then still the scheduler's to kill.
        "python": f"exec {shlex.quote(sys.executable)}",
        "job_name": name,
        "log_directory": str(log_dir),
        "death_timeout": _seconds(DEATH_TIMEOUT_VARIABLE, DEATH_TIMEOUT),
        "worker_extra_args": _worker_args(shape, memory),
        "silence_logs": "critical",  # a lost worker is told as its jobs' failure
        "scheduler_options": _scheduler_options(),
        "job_extra_directives": _directives(scheduler, shape),
        "job_script_prologue": [f"export {name}={value}" for name, value in WORKER_CONFIG],
        "job_directives_skip": [] if shape.mem else ["--mem"],
    }
    interface = os.environ.get(INTERFACE_VARIABLE)
    if interface:
        kwargs["interface"] = interface
    if scheduler == "htcondor":
        # HTCondor has neither queues nor time limits in dask-jobqueue's
        # terms; it needs the worker's disk.
        kwargs["disk"] = f"{memory}B"
        if shape.partition or shape.time:
            raise UserError("--workers on HTCondor: no partition or time limit",
                            hint="leave --partition/--time (and partition:/time:) out")
        return getattr(jobqueue, class_name)(**kwargs)
    if shape.time:
        kwargs["walltime"] = _walltime(scheduler, shape.time)
    if shape.partition:
        kwargs["queue"] = shape.partition
    if scheduler == "sge" and shape.mem:
        kwargs["resource_spec"] = f"h_vmem={math.ceil(shape.mem / shape.cores / 2**20)}M"
    return getattr(jobqueue, class_name)(**kwargs)


def adapt(cluster: Any, maximum: int, needed: Callable[[], int]) -> None:
    """Scale ``cluster`` between 0 and ``maximum`` workers to ``needed()``,
    what the jobs outflow holds for it fill, replacing lost workers while
    work remains; an idle worker stops after about 5 s."""
    from distributed.deploy.adaptive import Adaptive

    class ToNeeded(Adaptive):
        async def target(self) -> int:
            return needed()

    cluster.adapt(Adaptive=ToNeeded, minimum_jobs=0, maximum_jobs=maximum, interval="500ms",
                  wait_count=10)


def _worker_args(shape: Shape, memory: int) -> list[str]:
    setup = ["--preload", ONWORKER]
    if shape.one_job:
        return [*setup, "--nthreads", "1"]  # after dask-jobqueue's own --nthreads: this one holds
    return [*setup, "--resources", f"cores={shape.cores},memory={memory}"]


def _scheduler_options() -> dict[str, Any]:
    options: dict[str, Any] = {"dashboard_address": None}
    port = _seconds(PORT_VARIABLE, 0, what="a port number")
    if port:
        options["port"] = port
    return options


def _seconds(variable: str, default: int, what: str = "a number of seconds") -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise UserError(f"{variable}={text}: expected {what}")
    return int(text)


def _directives(scheduler: str, shape: Shape) -> list[str]:
    extra = shlex.split(shape.args)
    if scheduler == "sge":
        # Grid Engine gives one slot unless a parallel environment is named.
        return [f"-pe smp {shape.cores}", *extra]
    if scheduler == "slurm":
        return ["--no-requeue", *extra]  # a lost worker's jobs are outflow's to retry
    return extra


def _walltime(scheduler: str, seconds: int) -> str:
    if scheduler == "lsf":
        minutes = max(1, math.ceil(seconds / 60))
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
