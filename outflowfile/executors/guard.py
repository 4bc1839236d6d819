"""The guard: a small process that kills the local pool's jobs and workers
when the pool's process dies, even by SIGKILL.

The pool tells it, through a pipe, the process group of every job and worker
it starts and of every one that ends; the end of that pipe is the signal.
"""

from __future__ import annotations

import os
import subprocess

# The guard reads "+PGID" / "-PGID" lines on its stdin: the process groups of
# running jobs and workers; "+PGID\0ARG\0ARG..." also names a command to run
# once that group is killed (what removes a job's container, which is not in
# the group). At end-of-file (we closed the pipe, or died however we died) it
# kills every group still listed, then runs their commands and waits for
# them. No imports beyond os and signal, and python -I -S: it starts in a few
# milliseconds.
_GUARD_CODE = """\
import os, signal
groups, after, rest = set(), {}, b""
while True:
    data = os.read(0, 65536)
    if not data:
        break
    *lines, rest = (rest + data).split(b"\\n")
    for line in lines:
        pgid, *argv = line[1:].split(b"\\0")
        if line[:1] == b"+":
            groups.add(int(pgid))
            if argv:
                after[int(pgid)] = argv
        else:
            groups.discard(int(pgid))
            after.pop(int(pgid), None)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
started = []
for argv in after.values():
    try:
        started.append(os.posix_spawnp(argv[0], argv, os.environ))
    except OSError:
        pass
for pid in started:
    os.waitpid(pid, 0)
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

    def watch(self, pgid: int, then: list[str] | None = None) -> None:
        """Kill the group ``pgid`` if we die; ``then``: a command to run
        after that (a container to remove)."""
        self._send(b"\0".join([b"+%d" % pgid, *(os.fsencode(a) for a in then or [])]) + b"\n")

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
