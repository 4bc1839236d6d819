"""What a Python job may change in the worker's process, put back after it.

A worker runs many jobs one after another, so a job's ``os.chdir``,
``os.environ[...] = ...``, ``sys.path.append``, ``os.umask`` or
``sys.stdout = ...`` would otherwise reach the jobs after it. Each job
starts with what outflow gives it: the project directory (set by the
worker), the worker's environment plus the job's thread variables, the
worker's ``sys.path``, umask and standard streams.

The modules a job imports from the project directory are forgotten when it
ends, so that the next job imports them afresh: what one job leaves in a
module's globals (a counter, a cache, a list it appended to) would
otherwise reach the jobs that happen to run after it in the same worker,
and a job's result would depend on which jobs ran before it, so that a
rerun of a few would not give what a clean run gives. Installed packages
stay imported.

Taking the snapshot and checking it costs about two microseconds per job;
only a job that did change something pays for putting it back.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TextIO


@lru_cache(maxsize=8)
def _spellings(directory: str) -> tuple[str, ...]:
    """``directory`` as given and with its links resolved, each ending in a
    separator: a module's ``__file__`` starts with one of them."""
    return tuple(dict.fromkeys(os.path.join(d, "") for d in (directory,
                                                          os.path.realpath(directory))))


def _environ_data() -> dict[Any, Any] | None:
    """The environment as ``os.environ`` keeps it (encoded keys and values),
    when it can be read that way: comparing two copies of it is about fifty
    times faster than comparing ``dict(os.environ)``, which decodes every
    entry."""
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) else None


@dataclass
class JobState:
    """The process state before a job: ``take()`` it, run the job, ``restore()``."""

    environ: dict[Any, Any]
    path: list[str]
    umask: int
    stdout: TextIO
    stderr: TextIO
    stdin: TextIO
    modules: int = 0  # how many modules were imported before the job
    # The project directory as given and resolved, each with a trailing separator.
    project: tuple[str, ...] = ()

    @classmethod
    def take(cls, project: str = "") -> JobState:
        """The state now; ``project``: the directory whose modules a job
        imports afresh ('' for none)."""
        data = _environ_data()
        umask = os.umask(0o022)
        os.umask(umask)
        return cls(
            environ=dict(data) if data is not None else dict(os.environ),
            path=list(sys.path),
            umask=umask,
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=sys.stdin,
            modules=len(sys.modules),
            project=_spellings(project) if project else (),
        )

    def restore(self) -> None:
        """Put back what the job changed (the working directory is the
        worker's to set: it is not part of this)."""
        self._restore_environ()
        if sys.path != self.path:
            sys.path[:] = self.path
        os.umask(self.umask)
        sys.stdout, sys.stderr, sys.stdin = self.stdout, self.stderr, self.stdin
        if self.project and len(sys.modules) != self.modules:
            self._forget_project_modules()

    def _forget_project_modules(self) -> None:
        """Forget the modules the job imported from the project. They come
        last in ``sys.modules``, which keeps the order of imports (a job
        that removed some may make this look at a few older ones too: those
        of the project are then imported afresh as well)."""
        modules = sys.modules
        for name in list(modules)[self.modules:]:
            if name == "outflowfile" or name.startswith("outflowfile."):
                continue  # outflow's own, even when the project is its source
            found = getattr(modules.get(name), "__file__", None)
            if isinstance(found, str) and found.startswith(self.project):
                del modules[name]

    def _restore_environ(self) -> None:
        data = _environ_data()
        now: dict[Any, Any] = dict(os.environ) if data is None else data
        if now == self.environ:
            return
        # Through os.environ, so that putenv/unsetenv reach the C environment
        # that subprocesses inherit (fsdecode: a str is returned as it is).
        for key in [k for k in now if k not in self.environ]:
            os.environ.pop(os.fsdecode(key), None)
        for key, value in self.environ.items():
            if now.get(key) != value:
                os.environ[os.fsdecode(key)] = os.fsdecode(value)
