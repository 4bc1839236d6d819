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
import os
import subprocess
import sys

from outflowfile.machine import usable_cores
from outflowfile.plan import stamps

# Below this many files, starting the helper costs about what it saves.
MIN_FILES = 5000

_ENCODING = (sys.getfilesystemencoding(), "surrogateescape")

# The helper's program: stamps.serve, imported from where this outflow is
# (found after the standard library's modules, so that none is shadowed).
_HELPER = (
    "import sys; sys.path.append(sys.argv[1]); "
    "from outflowfile.plan.stamps import serve; serve(sys.argv[2], sys.argv[3])"
)


class Prestat:
    """A helper process stating ``paths`` (relative ones under the workdir).

    The helper runs ``stamps.serve``: the paths go NUL-separated to its
    stdin, their stats come back flat (stamps.py) as native 64-bit
    integers. Isolated (-I) and without site (-S), it starts in a few
    milliseconds, and no module of the project can shadow one of its own."""

    def __init__(self, paths: list[str], workdir: str, proc: subprocess.Popen[bytes]) -> None:
        self.paths = paths
        self.workdir = workdir
        self._proc = proc

    @property
    def pid(self) -> int:
        return self._proc.pid

    @classmethod
    def start(cls, paths: list[str], workdir: str) -> Prestat | None:
        """The helper at work, or None when it is not worth it or cannot be."""
        if len(paths) < MIN_FILES or usable_cores() < 2:
            return None
        if getattr(sys, "frozen", False):  # a bundled outflow: no Python to start
            return None
        # The folder holding the outflowfile package.
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(stamps.__file__))))
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _HELPER, root, workdir, _ENCODING[0]],
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

    def collect(self) -> stamps.Stats | None:
        """Wait for the helper: every path's (mtime in ns, size), None if it
        does not exist; None if the helper did not finish."""
        flat = self.collect_flat()
        return None if flat is None else stamps.from_flat(self.paths, flat)

    def collect_flat(self) -> list[int] | None:
        """Wait for the helper: the paths' stats, flat (stamps.py); None if
        it did not finish."""
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
