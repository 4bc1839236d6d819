"""Our child processes: whether one has ended, reaping it (its exit status
and resource usage), and saying how it ended.

A pidfd, where the kernel offers one, lets ``poll`` wake up when a process
ends; without it the pool looks at its jobs every ``POLL`` seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outflowfile.executors.spawn import Child

#: How often to look at jobs when pidfds are not available.
POLL = 0.05


def pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def exited(pid: int, within: float = 0.0) -> bool:
    """True when our child ``pid`` has ended (and is not yet reaped), or
    does so ``within`` that many seconds."""
    end = time.monotonic() + within
    while True:
        try:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        if info is not None:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.005)


def reap(proc: subprocess.Popen[bytes] | Child) -> tuple[int | None, Any]:
    """Reap a child: its exit code (negative: killed by that signal) and
    resource usage. ``Popen`` learns the code so it will not wait again."""
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return proc.returncode, None
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    return code, usage


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def describe_exit(code: int | None) -> str:
    if code is None:
        return "ended (status unknown)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {-code} ({name})"
    return f"exited with status {code}"


def sigkill_note(code: int | None) -> str:
    """For a SIGKILL we did not send: the usual sender."""
    if code == -signal.SIGKILL:
        return "; out of memory, perhaps (the kernel's OOM killer sends it)"
    return ""
