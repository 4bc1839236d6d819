"""What a Python job may change in the worker's process, put back after it.

A worker runs many jobs one after another, so a job's ``os.chdir``,
``os.environ[...] = ...``, ``sys.path.append``, ``os.umask`` or
``sys.stdout = ...`` would otherwise reach the jobs after it. Each job
starts with what outflow gives it: the project directory (set by the
worker), the worker's environment plus the job's thread variables, the
worker's ``sys.path``, umask and standard streams.

Taking the snapshot and checking it costs about two microseconds per job;
only a job that did change something pays for putting it back.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO


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

    @classmethod
    def take(cls) -> JobState:
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
        )

    def restore(self) -> None:
        """Put back what the job changed (the working directory is the
        worker's to set: it is not part of this)."""
        self._restore_environ()
        if sys.path != self.path:
            sys.path[:] = self.path
        os.umask(self.umask)
        sys.stdout, sys.stderr, sys.stdin = self.stdout, self.stderr, self.stdin

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
