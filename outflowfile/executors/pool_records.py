"""What the local pool keeps of each job it runs (``Job``) and of each
Python worker process (``Worker``).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import psutil

from outflowfile.executors.spawn import Child
from outflowfile.run.jobspec import JobSpec


@dataclass
class Worker:
    """A Python worker process, busy or idle, and the one job it may hold queued."""

    proc: subprocess.Popen[bytes]
    process: psutil.Process
    conn: Connection
    pidfd: int | None
    queued: Job | None = None  # sent, to start when the running job ends
    withdrawn: bool = False  # the queued job must not start: end the worker first
    python: str = ""  # the interpreter it runs: outflow's own, a venv's, an image's
    container: tuple[str, str] | None = None  # (runtime, name) when it runs in one


@dataclass
class Job:
    """A job the pool runs (or holds queued in a worker), until its result is collected."""

    spec: JobSpec
    cpus: int
    log: str  # absolute path
    started: float
    # The worker, or the shell (made on first use: reading /proc costs a
    # file open, and most shell jobs end without ever being killed).
    process: psutil.Process | None
    pidfd: int | None
    worker: Worker | None = None  # Python jobs
    proc: subprocess.Popen[bytes] | Child | None = None  # shell jobs
    deadline: float | None = None  # time.monotonic() when its time limit is up
    failure: str | None = None  # set once we kill it: why
    kill_at: float | None = None  # when SIGTERM becomes SIGKILL
    tree: dict[int, psutil.Process] = field(default_factory=dict)
    temp_log: bool = False
    since: float = field(default_factory=time.monotonic)
    log_fd: int | None = None  # a shell job's, ours to close
    answered: bool = False  # its worker sent its result (with its output)
    worker_free: bool = False  # its worker answered and goes on to its next job
    withdrawn: bool = False  # killed by withdraw_queued(): it never ran, as far as we say

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else self.ps().pid

    def ps(self) -> psutil.Process:
        if self.process is None:
            assert self.proc is not None
            self.process = psutil.Process(self.proc.pid)
        return self.process

    @property
    def mem(self) -> int:
        return self.spec.mem or 0
