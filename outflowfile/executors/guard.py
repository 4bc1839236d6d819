"""The guard: a small process that kills the local pool's jobs and workers
when the pool's process dies, even by SIGKILL.

The pool tells it, through a pipe, the process group of every job and worker
it starts and of every one that ends; the end of that pipe is the signal.
"""

from __future__ import annotations

import os
import subprocess

# The guard reads "+PGID" / "-PGID" lines on its stdin: the process groups of
# running jobs and workers. At end-of-file (we closed the pipe, or died
# however we died) it kills every group still listed. No imports beyond os
# and signal, and python -I -S: it starts in a few milliseconds.
_GUARD_CODE = """\
import os, signal
groups, rest = set(), b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    *lines, rest = (rest + data).split(b"\\n")
    for line in lines:
        (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


class Guard:
    """Kills the process groups of our jobs and workers when this process
    dies, even by SIGKILL, which nothing inside it can catch.

    PR_SET_PDEATHSIG (what workers use) reaches only the process that set
    it: a killed ``bash -c`` leaves its children running. Every job runs in
    its own session, so its process group holds its whole tree; a process
    outside ours learns of our death from the end of a pipe and kills the
    groups. A job that moves itself to another session escapes it."""

    def __init__(self, python: str) -> None:
        self._proc = subprocess.Popen(
            [python, "-I", "-S", "-c", _GUARD_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",  # never keep a project's filesystem busy
            start_new_session=True,  # a Ctrl-C in the terminal must not reach it
        )
        assert self._proc.stdin is not None
        self._fd: int | None = self._proc.stdin.fileno()

    def watch(self, pgid: int) -> None:
        self._send(b"+%d\n" % pgid)

    def forget(self, pgid: int) -> None:
        self._send(b"-%d\n" % pgid)

    def _send(self, line: bytes) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, line)  # a line is far below PIPE_BUF: atomic
        except OSError:  # the guard was killed: jobs are still killed by every other path
            self._fd = None

    def close(self) -> None:
        """End the guard; it kills any group still listed."""
        assert self._proc.stdin is not None
        self._fd = None
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
