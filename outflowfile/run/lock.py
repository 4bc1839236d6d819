"""The project lock: one running ``outflow`` per project.

The lock is an OS file lock (filelock), so it dies with its process: no stale
locks, no unlock command. A side file says who holds it, for the message.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from filelock import FileLock, Timeout

from outflowfile.errors import UserError


class ProjectLock:
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(state_dir / "lock"), timeout=0)
        self._info = state_dir / "lock.info"

    def __enter__(self) -> ProjectLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise UserError(
                f"another outflow is running in this project ({self._holder()})",
                hint="wait for it to finish, or use -n to see the plan meanwhile",
            ) from None
        self._info.write_text(
            f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}\n"
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def _holder(self) -> str:
        try:
            return self._info.read_text().strip()
        except OSError:
            return "holder unknown"
