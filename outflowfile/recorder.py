"""What a run writes to the cache, opened on the first write.

A run with nothing to do writes nothing: it neither opens the cache through
SQLAlchemy nor records itself in ``runs``. The first job that starts opens
the cache and begins the run.

Once a write has failed (the database locked, full or unreachable), closing
does not try again to end the run: that would only wait for the same error.

A job's end is written together with the start of the next job, in one
transaction, or by ``flush`` (the engine calls it before it waits for jobs
and before a map expands): so a run makes about one commit per job rather
than two, and every end is committed before another job starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from outflowfile.errors import UserError

if TYPE_CHECKING:
    from outflowfile.cache import Cache, Finished


class RunRecorder:
    def __init__(self, open_cache: Callable[[], Cache], argv: list[str]) -> None:
        self._open_cache = open_cache
        self._argv = argv
        self._cache: Cache | None = None
        self._run_id: int | None = None
        self._ends: list[Finished] = []  # jobs' ends not written yet
        self.failed = False  # a write raised UserError

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            try:
                self._cache = self._open_cache()
            except UserError:
                self.failed = True
                raise
        return self._cache

    def _run(self) -> int:
        if self._run_id is None:
            self._run_id = self.cache.begin_run(self._argv)
        return self._run_id

    def job_started(self, *args: Any) -> int:
        """``Cache.job_started`` without the run id; the ends waiting to be
        written go in the same transaction."""
        ends, self._ends = self._ends, []
        try:
            return self.cache.job_started(self._run(), *args, finished=ends)
        except UserError:
            self.failed = True
            raise

    def job_done(
        self,
        row_id: int,
        values: dict[str, Any],
        files: dict[str, Any],
        ended: float,
        exit_status: int | None = 0,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
    ) -> None:
        """Like ``Cache.job_done``, written with the next start or flush."""
        from outflowfile.cache import Finished  # the cache is open: a job started

        self._ends.append(
            Finished(row_id, ended, values, files, None, exit_status, cpu_seconds, peak_mem)
        )

    def job_failed(
        self,
        row_id: int,
        error: str,
        ended: float,
        exit_status: int | None = None,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
    ) -> None:
        """Like ``Cache.job_failed``, written with the next start or flush."""
        from outflowfile.cache import Finished

        self._ends.append(
            Finished(row_id, ended, {}, {}, error, exit_status, cpu_seconds, peak_mem)
        )

    def flush(self) -> None:
        """Write the ends not written yet (one transaction)."""
        if not self._ends:
            return
        ends, self._ends = self._ends, []
        try:
            self.cache.record_many(ends)
        except UserError:
            self.failed = True
            raise

    def jobs_touched(self, touched: list[Any]) -> None:
        """``Cache.insert_done`` without the run id."""
        try:
            self.cache.insert_done(self._run(), touched)
        except UserError:
            self.failed = True
            raise

    def mark_interrupted(self, row_ids: list[int]) -> None:
        try:
            self.flush()
            self.cache.mark_interrupted(row_ids)
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
