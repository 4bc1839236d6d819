"""Jobs' log files, made without creating a file for every job.

Most jobs print nothing, and creating a file (a new inode and directory
entry) is what a trivial job's log costs most: 0.05 ms of system time on a
quiet disk, up to 1 ms while other processes write to it. So a job's log
starts as an empty file kept from an earlier job in the same directory,
renamed to the job's log path: while the job runs its log is at its path, as
always. When the job ends having printed nothing, the file is renamed back
to be used again, and no log file is left for that job. A job that printed
something keeps its log file.

The kept files are named ``.outflow-spare-PID-N`` and removed at the end; a
process killed outright leaves them behind (empty).
"""

from __future__ import annotations

import os

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
#: How much of a job's log ``JobResult.output`` carries (its end).
OUTPUT_CAP = 1 << 20


class LogFiles:
    """The logs of one process's jobs (a worker's, or the local pool's)."""

    def __init__(self) -> None:
        self._spare: dict[str, list[tuple[str, int]]] = {}  # directory -> (path, fd)
        self._made = 0

    def open(self, log: str) -> int:
        """A descriptor writing to ``log`` from its start, with nothing in it;
        its directory is made if missing."""
        spare = self._spare.get(os.path.dirname(log))
        while spare:
            path, fd = spare.pop()
            try:
                os.rename(path, log)  # replaces an older log of the same job
                return fd
            except OSError:
                os.close(fd)
                _remove(path)
        return create(log)

    def close(self, log: str, fd: int, reusable: bool = True) -> bool:
        """The job writing to ``fd`` through ``log`` has ended: True when it
        printed nothing and its file was taken back (there is no log file
        left). ``reusable``: no process of the job can still write to it."""
        try:
            st = os.fstat(fd)
            if (reusable and st.st_size == 0 and os.lseek(fd, 0, os.SEEK_CUR) == 0
                    and _same_file(os.stat(log), st)):
                directory = os.path.dirname(log)
                self._made += 1
                path = os.path.join(directory, f".outflow-spare-{os.getpid()}-{self._made}")
                os.rename(log, path)
                self._spare.setdefault(directory, []).append((path, fd))
                return True
        except OSError:
            pass
        os.close(fd)
        return False

    def discard(self) -> None:
        """Remove the files kept for later jobs."""
        for spare in self._spare.values():
            for path, fd in spare:
                os.close(fd)
                _remove(path)
        self._spare.clear()


def create(log: str) -> int:
    """``log`` opened for writing, emptied, made if missing (and its directory)."""
    try:
        return os.open(log, _FLAGS, 0o644)
    except FileNotFoundError:  # its directory is made by the engine, usually
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        return os.open(log, _FLAGS, 0o644)


def read_output(path: str, cap: int = OUTPUT_CAP) -> str:
    """The end of a job's log: at most ``cap`` bytes, with a note when cut;
    "" when it is empty or there is none."""
    try:
        if os.stat(path).st_size == 0:  # most jobs print nothing: no open, no read
            return ""
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - cap))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > cap:
        text = f"[... the first {size - cap} bytes are cut; the whole output is in {path}]\n" \
               + text
    return text


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """The job did not put another file in place of its log (a command's
    own ``> {log}`` writes to the same file)."""
    return a.st_ino == b.st_ino and a.st_dev == b.st_dev


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
