"""Starting a shell job so that the peak memory measured for it is its own.

Linux keeps a process's peak resident size (``ru_maxrss``) across ``exec``,
and at ``exec`` raises it to the peak of the memory image being replaced:
a job forked straight from outflow (tens of megabytes) and measured with
``wait4`` would record outflow's size, never less, even for ``true``. Only
a process forked *after* an ``exec``, from a small program, starts from a
small image.

So the job is started through ``setsid -f``: the small ``setsid`` forks the
job (in a session of its own, as before) and exits at once. For the moment
of that start this process is a child subreaper (``PR_SET_CHILD_SUBREAPER``),
so the job, orphaned by ``setsid``, becomes our child: we wait for it, kill
its process group and read its resource usage as for any child. The job
tells its pid through a pipe before it ``exec``\\ s the command.

Where there is no ``setsid`` (or no ``prctl``), the job is started directly,
and its peak may include outflow's own size.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36
# Run by the job's own process: say its pid on its stdin (the pipe's writing
# end: the one descriptor ``Popen`` sets without a fork of its own), and take
# /dev/null as stdin instead.
_SAY_PID = "echo $$ >&0; exec 0</dev/null"
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh"})
_SUBREAPING = threading.Lock()


@dataclass
class Child:
    """A child of ours we did not start with ``Popen`` (what ``reap`` needs)."""

    pid: int
    returncode: int | None = None


@cache
def _setsid() -> str | None:
    return shutil.which("setsid") if sys.platform == "linux" else None


@cache
def _prctl() -> Any:
    try:
        import ctypes  # only here: a few milliseconds, for runs with shell jobs

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def start_job(
    argv: list[str], cwd: str, env: dict[str, str], stdout: int
) -> subprocess.Popen[bytes] | Child:
    """Start ``argv`` in a session of its own, stdin from /dev/null, stdout
    and stderr to ``stdout``; a missing program raises FileNotFoundError as
    ``Popen`` would."""
    setsid, prctl = _setsid(), _prctl()
    if setsid is None or prctl is None:
        return _direct(argv, cwd, env, stdout)
    _check_program(argv[0], cwd, env)
    # Being a subreaper is the whole process's state: threads starting jobs
    # at once (a Dask worker's) take turns, or one would turn it off while
    # another's job is being orphaned to us.
    with _SUBREAPING:
        return _start_reaped(argv, cwd, env, stdout, setsid, prctl)


def _start_reaped(argv: list[str], cwd: str, env: dict[str, str], stdout: int, setsid: str,
                  prctl: Any) -> subprocess.Popen[bytes] | Child:
    read, write = os.pipe()
    if prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        os.close(read)
        os.close(write)
        return _direct(argv, cwd, env, stdout)
    starter: subprocess.Popen[bytes] | None = None
    said = ""
    try:
        # A session of its own, as the job's: a Ctrl-C sent to our process
        # group (a terminal's) must not kill it halfway.
        starter = subprocess.Popen(
            [setsid, "-f", *_announcing(argv)],
            cwd=cwd, env=env, stdin=write, stdout=stdout, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        os.close(write)
        write = -1
        said = _read_all(read)
        starter.wait()  # the job is orphaned now: ours, as we are its subreaper
    except BaseException:  # Ctrl-C while starting: leave no job behind
        _abandon(starter, said, read)
        raise
    finally:
        prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        os.close(read)
        if write >= 0:
            os.close(write)
    if starter.returncode != 0 or not said.strip().isdigit():
        raise OSError(f"setsid could not start the job (status {starter.returncode})")
    return Child(int(said))


def _abandon(starter: subprocess.Popen[bytes] | None, said: str, read: int) -> None:
    """Kill the job a start cut short may have started."""
    if starter is None:
        return
    with contextlib.suppress(BaseException):
        said = said or _read_all(read)
        if said.strip().isdigit():
            os.killpg(int(said), signal.SIGKILL)
        starter.wait(timeout=5)
        if said.strip().isdigit():
            os.waitpid(int(said), 0)


def _announcing(argv: list[str]) -> list[str]:
    """``argv``, made to say its pid first. A shell's script says it itself
    (on its first line, so that the script's line numbers stay as they were);
    another program is started by a shell that says it, then becomes it."""
    if len(argv) >= 3 and os.path.basename(argv[0]) in _SHELLS and argv[1] == "-c":
        return [argv[0], "-c", f"{_SAY_PID}; {argv[2]}", *argv[3:]]
    return ["/bin/sh", "-c", f'{_SAY_PID}; exec "$@"', "sh", *argv]


def _direct(argv: list[str], cwd: str, env: dict[str, str], stdout: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _check_program(program: str, cwd: str, env: dict[str, str]) -> None:
    """The error ``Popen`` gives for a program that is not there: the job's
    shell would only print it to the log and exit with status 127."""
    if os.sep in program:
        found = os.access(os.path.join(cwd, program), os.X_OK)
    else:
        found = shutil.which(program, path=env.get("PATH", os.defpath)) is not None
    if not found:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), program)


def _read_all(fd: int) -> str:
    chunks: list[bytes] = []
    while True:
        data = os.read(fd, 64)
        if not data:
            return b"".join(chunks).decode(errors="replace")
        chunks.append(data)
