"""What a run writes to the cache, opened on the first write.

A run with nothing to do writes nothing: it neither opens the cache through
SQLAlchemy nor records itself in ``runs``. The first job that starts opens
the cache and begins the run.

Once a write has failed (the database locked, full or unreachable), closing
does not try again to end the run: that would only wait for the same error.

A job's end is written together with the start of the next job, in one
transaction, or by ``flush`` (before a map expands, and at the end).

With ``batch`` (seconds; a local run, where this process is the only
writer), the starts of jobs that have no output files wait too: such a job
leaves nothing to clean up if the run dies, so its row need not exist
before it starts. What waits is written by ``flush_due`` once its oldest
item is ``batch`` old, in one transaction for however many jobs came and
went meanwhile: a run of many short value jobs makes one commit per batch
rather than one per job. A run killed outright (``kill -9``) loses what
the last ``batch`` seconds had not written: those jobs run again. A job
with output files is written before it starts, always, together with
everything waiting: the next run must know which partial files to remove.

The cache itself is opened by the first write, so a run whose first jobs
have no output files starts them (and the workers that run them) while it
imports SQLAlchemy and opens the cache, not after. The row of a job whose
start waits is not known yet: ``job_started``
returns a negative ticket in its place, which the other methods accept.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from outflowfile.errors import UserError
from outflowfile.store.records import Finished, Started, Touched

if TYPE_CHECKING:
    from outflowfile.store.database import Cache


#: How long a local run lets jobs' starts and ends wait to be written
#: together (see above).
LOCAL_BATCH = 0.02


class RunRecorder:
    def __init__(
        self, open_cache: Callable[[], Cache], argv: list[str], batch: float = 0.0
    ) -> None:
        self._open_cache = open_cache
        self._argv = argv
        self._batch = batch
        self._cache: Cache | None = None
        self._run_id: int | None = None
        self._ends: list[Finished] = []  # jobs' ends not written yet
        self._starts: dict[int, Started] = {}  # by ticket: starts not written yet
        self._rows: dict[int, int] = {}  # ticket -> row, once written
        self._tickets = 0
        self._since: float | None = None  # time.monotonic() of the oldest waiting item
        self.failed = False  # a write raised UserError

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            # Opening imports SQLAlchemy, for a good fraction of a second: a
            # Ctrl-C in the middle would leave it half imported, and the
            # cleanup that follows could not write. The signal waits.
            stop = {signal.SIGINT, signal.SIGTERM}
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, stop)
            try:
                self._cache = self._open_cache()
            except UserError:
                self.failed = True
                raise
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return self._cache

    def _run(self) -> int:
        if self._run_id is None:
            self._run_id = self.cache.begin_run(self._argv)
        return self._run_id

    def job_started(
        self,
        key: str,
        task: str,
        slot: str,
        def_hash: str,
        params: dict[str, Any],
        output_files: list[str],
        log: str,
        host: str,
        started: float,
        image: tuple[str, str] | None = None,
    ) -> int:
        """``Cache.job_started`` without the run id: the job's row, written
        with whatever waits; or, for a job without output files when
        batching, a ticket (negative), written later. ``image``: the
        container's (name, digest) it runs in."""
        start = Started(key, task, slot, def_hash, params, output_files, log, host, started,
                        image=image)
        if self._batch and not output_files:
            self._tickets += 1
            ticket = -self._tickets
            self._starts[ticket] = start
            self._waiting()
            return ticket
        return self._write([start])[0]

    def job_done(
        self,
        row_id: int,
        values: dict[str, Any],
        files: dict[str, Any],
        ended: float,
        exit_status: int | None = 0,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
        started: float | None = None,
    ) -> None:
        """Like ``Cache.job_done``, written with the next start or flush;
        ``started``: when it really started, if known."""
        self._ended(Finished(row_id, ended, values, files, None, exit_status, cpu_seconds,
                             peak_mem, started))

    def job_failed(
        self,
        row_id: int,
        error: str,
        ended: float,
        exit_status: int | None = None,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
        started: float | None = None,
    ) -> None:
        """Like ``Cache.job_failed``, written with the next start or flush."""
        self._ended(Finished(row_id, ended, {}, {}, error, exit_status, cpu_seconds, peak_mem,
                             started))

    def _ended(self, end: Finished) -> None:
        if end.row_id < 0:
            start = self._starts.get(end.row_id)
            if start is not None:  # start and end go in together
                start.end = end
                return
            row = self._rows.pop(end.row_id, None)
            if row is None:  # its start was lost with a failed write: no row to end
                return
            end.row_id = row
        self._ends.append(end)
        self._waiting()

    def _waiting(self) -> None:
        if self._since is None:
            self._since = time.monotonic()

    def flush(self) -> None:
        """Write what waits (one transaction)."""
        if self._ends or self._starts:
            self._write([])

    def flush_due(self) -> float | None:
        """Write what waits if the oldest of it is ``batch`` seconds old;
        else how long until it is (None: nothing waits)."""
        if self._since is None:
            return None
        left = self._since + self._batch - time.monotonic()
        if left > 0:
            return left
        self.flush()
        return None

    def _write(self, starts: list[Started]) -> list[int]:
        """What waits, then ``starts``: the rows of ``starts``. What waits is
        kept until it is written: a write cut short (Ctrl-C) is rolled back,
        and the cleanup's own flush writes it."""
        waiting = self._starts
        try:
            rows = self.cache.write_jobs(self._run(), [*waiting.values(), *starts], self._ends)
        except UserError:
            self.failed = True
            raise
        self._starts, self._ends, self._since = {}, [], None
        for ticket, row in zip(waiting, rows, strict=False):
            if waiting[ticket].end is None:  # still running: its end comes later
                self._rows[ticket] = row
        return rows[len(waiting) :]

    def adopt(self, row_id: int) -> None:
        """A job a dead run submitted to a cluster, followed by this run:
        its row becomes this run's (``Cache.adopt``)."""
        try:
            self.cache.adopt([row_id], self._run())
        except UserError:
            self.failed = True
            raise

    def row(self, row_id: int) -> int | None:
        """The row a ticket stands for, once written (a row stands for itself)."""
        return self._rows.get(row_id) if row_id < 0 else row_id

    def jobs_touched(self, touched: list[Touched]) -> None:
        """``Cache.insert_done`` without the run id."""
        try:
            self.cache.insert_done(self._run(), touched)
        except UserError:
            self.failed = True
            raise

    def withdraw(self, row_id: int) -> None:
        """A job that was to start and never did: its start is dropped if it
        still waits, else its row is marked interrupted (it is not a result)."""
        if self._starts.pop(row_id, None) is not None:
            return
        row = self.row(row_id)
        if row is not None:
            self._rows.pop(row_id, None)
            self.mark_interrupted([row])

    def mark_interrupted(self, row_ids: list[int]) -> None:
        """Rows or tickets; those of jobs whose start was never written have
        nothing to mark."""
        try:
            self.flush()
            rows = [r for r in map(self.row, row_ids) if r is not None]
            self.cache.mark_interrupted(rows)
        except UserError:
            self.failed = True
            raise

    def close(self, status: str) -> None:
        """End the run (if it began) and close the cache (if it was opened)."""
        if self._cache is None:
            return
        try:
            if not self.failed:
                self.flush()
            if self._run_id is not None and not self.failed:
                self._cache.end_run(self._run_id, status)
        finally:
            self._cache.close()
            self._cache = None
