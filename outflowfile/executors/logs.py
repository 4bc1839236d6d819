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

A shell command that names its own log (``2> {log}``) owns the file while
it runs: outflow must not write the same file through another descriptor
(its offset would overwrite the command's lines, or leave NUL bytes where
the command truncated it). So for such a job the log starts empty at its
path, as any log does, but what the command prints to its stdout and stderr
goes to a file of outflow's with no name, appended to the log when the job
ends, after whatever the command wrote there itself. A log left empty is
removed, as when a job printed nothing.
"""

from __future__ import annotations

import os
import stat

# O_NOFOLLOW: a job owns its log's path, not what a symbolic link left there
# points to (an input, a file outside the project): ``create`` replaces the link.
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
#: How much of a job's log ``JobResult.output`` carries (its end).
OUTPUT_CAP = 1 << 20


class LogFiles:
    """The logs of one process's jobs (a worker's, or the local pool's)."""

    def __init__(self) -> None:
        self._spare: dict[str, list[tuple[str, int]]] = {}  # directory -> (path, fd)
        self._made = 0
        self._captures: dict[int, FileId] = {}  # descriptor -> the log it made

    def open(self, log: str, command_writes_it: bool = False) -> int:
        """A descriptor writing to ``log`` from its start, with nothing in it;
        its directory is made if missing. ``command_writes_it``: the job
        writes ``log`` itself; the descriptor is then a nameless file whose
        text ``close`` appends to the log."""
        if command_writes_it:
            fd, made = open_capture(log)
            self._captures[fd] = made
            return fd
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
        made = self._captures.pop(fd, None)
        if made is not None:
            return not close_capture(log, fd, made)
        try:
            st = os.fstat(fd)
            # Only a file outflow made is taken back: never /dev/null, a pipe...
            if (reusable and stat.S_ISREG(st.st_mode) and st.st_size == 0
                    and os.lseek(fd, 0, os.SEEK_CUR) == 0 and _same_file(os.stat(log), st)):
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


def writes_own_log(kind: str, code: str, log: str) -> bool:
    """Whether a job's command names its log file (through ``{log}``, or
    the path written out): then the command owns the file (see above)."""
    return kind == "shell" and bool(log) and log in code


FileId = tuple[int, int]  # (st_dev, st_ino)


def open_capture(log: str) -> tuple[int, FileId]:
    """For a job whose command writes ``log``: the log made empty (so the
    command's ``>>`` starts afresh) and which file that is, and a nameless
    file beside it for what the job prints."""
    made = create(log)
    try:
        st = os.fstat(made)
    finally:
        os.close(made)
    import tempfile  # only for a command that names its own log

    fd, path = tempfile.mkstemp(prefix=".outflow-capture-", dir=os.path.dirname(log) or ".")
    os.unlink(path)  # nameless: nothing is left behind, whatever happens to us
    return fd, (st.st_dev, st.st_ino)


def close_capture(log: str, fd: int, made: FileId) -> bool:
    """Append what was captured in ``fd`` to ``log`` and close it: True when
    there is a log file afterwards. The log ``open_capture`` made, still
    empty, is removed when nothing was captured either."""
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        if not size:
            st = os.lstat(log)
            if stat.S_ISREG(st.st_mode) and st.st_size == 0 and (st.st_dev, st.st_ino) == made:
                os.remove(log)
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
                          | os.O_NOFOLLOW, 0o644)
            try:
                while chunk := os.read(fd, 1 << 20):
                    _write_all(out, chunk)
            finally:
                os.close(out)
    except OSError:
        pass
    finally:
        os.close(fd)
    return os.path.exists(log)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def create(log: str) -> int:
    """``log`` opened for writing, emptied, made if missing (and its directory).
    A symbolic link at ``log`` is replaced by the file, never written through."""
    try:
        return os.open(log, _FLAGS, 0o644)
    except FileNotFoundError:  # its directory is made by the engine, usually
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        return os.open(log, _FLAGS, 0o644)
    except OSError:
        if not os.path.islink(log):
            raise
        os.remove(log)  # the link, not its target
        return os.open(log, _FLAGS | os.O_EXCL, 0o644)


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
