"""Stat a plan's files in another process while the plan goes on.

Planning 100,000 jobs stats some 150,000 files: about half a second of
system calls, each blocking the one thread that also expands the graph,
reads the cache and decides. When the files are known before the plan
needs them (the plan memo lists those of the last run; the expanded graph
lists its own), a helper process stats them on another core while this one
goes on. Threads would not do: each would wait for the interpreter lock
after every call. Nor would ``fork``: after it, each first write to a page
of this process's memory (hundreds of megabytes by then) is a copy.

What the helper finds is used as if this process had stat-ed each file at
that moment: a file that changes afterwards is as stale as one that changes
after the plan's own ``stat``. Any trouble (one core, a helper that cannot
start or dies) leaves the plan to stat its files itself, as it would anyway.
"""

from __future__ import annotations

import array
import subprocess
import sys
from collections.abc import Sequence

from outflowfile.machine import usable_cores

# Below this many files, starting the helper costs about what it saves.
MIN_FILES = 5000

_ENCODING = (sys.getfilesystemencoding(), "surrogateescape")
# Given as the mtime and the size of a file that cannot be stat-ed: sizes are
# never negative, and the plan memo writes missing files so.
MISSING = -1

# The helper: the NUL-separated paths on stdin, (mtime in ns, size) of each
# on stdout as native 64-bit integers. Without site (-S) or the environment
# (-E), it starts in a few milliseconds, and no module of the project can
# shadow one of its own.
_HELPER = """
import array, os, sys
prefix = os.fsencode(os.path.join(sys.argv[1], ""))
found = []
add = found.append
stat = os.stat
for p in sys.stdin.buffer.read().split(b"\\0"):
    try:
        st = stat(p if p[:1] == b"/" else prefix + p)
        add(st.st_mtime_ns)
        add(st.st_size)
    except OSError:
        add(-1)
        add(-1)
sys.stdout.buffer.write(array.array("q", found).tobytes())
"""


class Prestat:
    """A helper process stating ``paths`` (relative ones under the workdir)."""

    def __init__(self, paths: Sequence[str], workdir: str, proc: subprocess.Popen[bytes]) -> None:
        self.paths = paths
        self.workdir = workdir
        self._proc = proc

    @property
    def pid(self) -> int:
        return self._proc.pid

    @classmethod
    def start(cls, paths: Sequence[str], workdir: str) -> Prestat | None:
        """The helper at work, or None when it is not worth it or cannot be."""
        if len(paths) < MIN_FILES or usable_cores() < 2:
            return None
        if getattr(sys, "frozen", False):  # a bundled outflow: no Python to start
            return None
        try:
            proc = subprocess.Popen(
                [sys.executable, "-S", "-E", "-c", _HELPER, workdir],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        except OSError:
            return None
        assert proc.stdin is not None
        try:
            # The helper reads all of it before it starts: this does not wait long.
            proc.stdin.write("\0".join(paths).encode(*_ENCODING))
            proc.stdin.close()
        except OSError:  # it died already
            _stop(proc)
            return None
        return cls(paths, workdir, proc)

    def collect(self) -> dict[str, tuple[int, int] | None] | None:
        """Wait for the helper: every path's (mtime in ns, size), None if it
        does not exist; None if the helper did not finish."""
        flat = self.collect_flat()
        if flat is None:
            return None
        pairs = zip(flat[::2], flat[1::2], strict=True)
        stats: dict[str, tuple[int, int] | None] = dict(zip(self.paths, pairs, strict=True))
        for path, st in stats.items():
            if st[1] == MISSING:
                stats[path] = None
        return stats

    def collect_flat(self) -> list[int] | None:
        """Wait for the helper: mtime in ns and size of each path in turn,
        (MISSING, MISSING) for one that does not exist; None if it did not
        finish."""
        proc = self._proc
        assert proc.stdout is not None
        try:
            data = proc.stdout.read()
        finally:
            proc.stdout.close()
            proc.wait()
        if proc.returncode != 0 or len(data) != 16 * len(self.paths):
            return None
        words = array.array("q")
        words.frombytes(data)
        return words.tolist()

    def cancel(self) -> None:
        """Stop the helper: the plan will not need it."""
        _stop(self._proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            pipe.close()
