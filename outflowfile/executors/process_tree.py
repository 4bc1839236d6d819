"""Killing a job means its whole process tree: the descendants found through
psutil plus, for shell jobs, the process group of their session. SIGTERM
first, SIGKILL after a grace period (the pool keeps the time).
"""

from __future__ import annotations

import os
import time

import psutil

from outflowfile.executors.pool_records import Job


def signal_tree(job: Job, sig: int) -> None:
    """Signal the job's process and every descendant (those seen before
    too: a child whose parent died is no longer found by walking down)."""
    job.tree.setdefault(job.pid, job.ps())
    try:
        for child in job.ps().children(recursive=True):
            job.tree.setdefault(child.pid, child)
    except psutil.Error:
        pass
    for proc in job.tree.values():
        try:
            proc.send_signal(sig)  # psutil checks it is still the same process
        except psutil.Error:
            pass
    if job.proc is not None:
        killpg(job.pid, sig)


def finish_tree(job: Job) -> None:
    """Once a killed job's own process is gone, what is left of its tree
    gets SIGKILL right away."""
    if not job.tree:
        return
    for proc in job.tree.values():
        if proc.pid != job.pid:
            try:
                proc.kill()
            except psutil.Error:
                pass


def killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has ended (a zombie has); those still alive.

    Our own children stay zombies until reaped, and orphans are reaped by
    init whenever it gets to them, so neither is waited for with waitpid."""
    end = time.monotonic() + timeout
    while True:
        alive = [p for p in procs if _alive(p)]
        if not alive or time.monotonic() >= end:
            return alive
        time.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
