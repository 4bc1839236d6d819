"""What each Dask worker sets up as it starts (Dask's ``--preload``): the
local pools its batches run jobs on, kept from one batch to the next, and
its end at the scheduler's SIGTERM.

A pool (``executors/local.py``) costs a guard process to start, and a
Python worker per ``run:`` body: once per worker thread, not per batch.

SIGTERM (``scancel``, a time limit, the run's end) ends the worker at once.
Dask's own shutdown, when it meets the scheduler telling the worker to close
at the same moment, hangs until the scheduler kills it, holding the node for
seconds after the run. Nothing is lost by ending at once: the jobs got the
signal too, the pool's guard kills what is left of them, and outflow writes
every job's result itself.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

if TYPE_CHECKING:
    from outflowfile.executors.local import LocalExecutor

PLUGIN = "outflow-pools"


async def dask_setup(worker: Any) -> None:
    signal.signal(signal.SIGTERM, _end_now)
    await worker.plugin_add(Pools(), name=PLUGIN)


def _end_now(signum: int, _frame: Any) -> None:
    os._exit(128 + signum)


class Pools(WorkerPlugin):
    """The worker's idle local pools, by cores (a Dask worker plugin: its
    ``teardown`` closes them with the worker). A batch takes one for its
    thread and gives it back when it is done."""

    def __init__(self) -> None:
        self._idle: dict[int, list[LocalExecutor]] = {}
        self._lock = threading.Lock()

    def take(self, cores: int) -> LocalExecutor:
        with self._lock:
            idle = self._idle.get(cores)
            if idle:
                return idle.pop()
        from outflowfile.executors.local import LocalExecutor

        return LocalExecutor(cores=cores)

    def give(self, pool: LocalExecutor, cores: int) -> None:
        with self._lock:
            self._idle.setdefault(cores, []).append(pool)

    def teardown(self, worker: Any) -> None:
        with self._lock:
            pools = [pool for idle in self._idle.values() for pool in idle]
            self._idle.clear()
        for pool in pools:
            pool.close()
