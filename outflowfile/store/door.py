"""The one door to the cache: ``open_store(workdir, url)``.

Which way serves a read is decided here, once: the project's own SQLite
file (no ``--db``, no ``OUTFLOW_DB``) is read through the standard
library's driver (sqlite_fast.py), falling back to SQLAlchemy for a file
that is not plainly a current outflow cache; any other URL is read through
SQLAlchemy (database.py). Both readers answer the same questions
(``Reader``) with the same answers. Writes always go through
``database.Cache`` (``Store.open_cache``), which takes the fast path itself
for the writes made for every job on an SQLite file.

Importing this module does not import SQLAlchemy: a run with nothing to do
never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from outflowfile.errors import UserError
from outflowfile.store.location import OWN_FILE

if TYPE_CHECKING:
    from outflowfile.store.database import Cache
    from outflowfile.store.nodestore import NodeStore
    from outflowfile.store.records import Record, RunInfo, Scheduled
    from outflowfile.store.snapshot import Snapshot

Durations = list[tuple[str, str, float]]  # (slot, task, seconds) of jobs that ran to the end


class Reader(Protocol):
    """The reads planning and the run make, whichever way serves them."""

    def snapshot(self, full: bool = False) -> Snapshot:
        """What planning reads, with the cache's state summary (``Snapshot.state``).
        Unless ``full``, records may leave out what planning does not use
        (timings, host, log)."""
        ...

    def snapshot_at(self, state: list[Any]) -> Snapshot:
        """What planning reads, when the plan memo has just found the cache in
        ``state``: records may be read as they are asked for."""
        ...

    def state(self) -> list[Any] | None:
        """The summary of the jobs table the plan memo compares; None if unreadable."""
        ...

    def durations(self) -> Durations:
        """``(slot, task, seconds)`` of every job that ran to the end, oldest first."""
        ...

    def might_have_records(self) -> bool:
        """Whether the cache may hold a job (True when it would cost a connection to know)."""
        ...

    def scheduled(self, rows: list[int]) -> dict[int, Scheduled]:
        """The scheduler's ids of those of ``rows`` sent to a cluster."""
        ...


class SqlReader:
    """The reads through SQLAlchemy (``database.Cache``), each with its own connection."""

    def __init__(self, workdir: Path, url: str | None) -> None:
        self._workdir = workdir
        self._url = url

    def open(self, shared_writers: bool = True) -> Cache:
        from outflowfile.store.database import Cache

        return Cache.open(self._workdir, self._url, shared_writers=shared_writers)

    def snapshot(self, full: bool = False) -> Snapshot:
        cache = self.open()
        try:
            return cache.load(state=True)
        finally:
            cache.close()

    def snapshot_at(self, state: list[Any]) -> Snapshot:
        # Read whole: the caller compares the snapshot's state with ``state``.
        return self.snapshot()

    def state(self) -> list[Any] | None:
        try:
            cache = self.open()
        except UserError:
            return None
        try:
            return cache.state()
        except UserError:
            return None
        finally:
            cache.close()

    def durations(self) -> Durations:
        cache = self.open()
        try:
            return cache.durations()
        finally:
            cache.close()

    def might_have_records(self) -> bool:
        return True

    def scheduled(self, rows: list[int]) -> dict[int, Scheduled]:
        if not rows:
            return {}
        cache = self.open()
        try:
            return cache.scheduled(rows)
        finally:
            cache.close()


@dataclass
class Store:
    """A project's cache: its reads (through whichever ``Reader`` was chosen)
    and the ``Cache`` its writes go through."""

    workdir: Path
    url: str | None  # None: the project's own SQLite file
    reader: Reader
    _sql: SqlReader

    @property
    def name(self) -> str:
        """The database as the plan memo's fingerprint names it: '' for the
        project's own file, else its URL."""
        return self.url or ""

    @property
    def is_sqlite(self) -> bool:
        """Whether writers take turns (an SQLite file), as far as the URL tells."""
        return self.url is None or self.url.startswith("sqlite")

    def exists(self) -> bool:
        """False when the project's own file was never made (nothing ran yet)."""
        return self.url is not None or (self.workdir / OWN_FILE).exists()

    def open_cache(self, shared_writers: bool = True) -> Cache:
        """The cache through SQLAlchemy, for writes and the reads of
        ``--report`` and ``--show``; ``shared_writers=False`` promises that
        no other process writes jobs meanwhile (a local run, under the
        project lock)."""
        return self._sql.open(shared_writers)

    # -- the reads of planning and the run

    def snapshot(self, full: bool = False) -> Snapshot:
        return self.reader.snapshot(full)

    def snapshot_at(self, state: list[Any]) -> Snapshot:
        return self.reader.snapshot_at(state)

    def state(self) -> list[Any] | None:
        return self.reader.state()

    def might_have_records(self) -> bool:
        return self.reader.might_have_records()

    def scheduled(self, rows: list[int]) -> dict[int, Scheduled]:
        """The scheduler's ids of those of ``rows`` sent to a cluster (a dead
        run's jobs, which the next may adopt)."""
        return self.reader.scheduled(rows)

    def images(self, rows: list[int]) -> dict[int, str]:
        """The image digest each of ``rows`` that ran in a container ran with."""
        if not rows or not self.exists():
            return {}
        cache = self.open_cache()
        try:
            return cache.images(rows)
        finally:
            cache.close()

    def durations(self, snapshot: Snapshot) -> Durations:
        """How long jobs took when they last ran: from the snapshot's records
        when they have their timings, else read (the fast path's records
        leave them out: they would slow down every plan)."""
        done = list(snapshot.by_key.values())
        rows = [
            (r.slot, r.task, r.ended - r.started)
            for r in done
            if r.ended is not None and r.started is not None
        ]
        if not rows and done:
            rows = self.reader.durations()
        return rows

    # -- the reads of views and commands

    def last_run_and_slots(self) -> tuple[tuple[RunInfo, list[Record]] | None, list[Record]]:
        """The latest run that ran jobs and its jobs (``Cache.last_run``), and
        the latest record of every slot."""
        cache = self.open_cache()
        try:
            return cache.last_run(), list(cache.load().by_slot.values())
        finally:
            cache.close()

    def records_of(self, tasks: list[str]) -> dict[str, list[Record]]:
        """Every record of each task, oldest first."""
        cache = self.open_cache()
        try:
            return {name: cache.records_for(name) for name in dict.fromkeys(tasks)}
        finally:
            cache.close()


def open_store(workdir: Path, url: str | None) -> Store:
    """The cache of the project in ``workdir``: the database at ``url``
    (``--db``/``OUTFLOW_DB``), or the project's own SQLite file. Opens
    nothing yet."""
    from outflowfile.store.sqlite_fast import SqliteReader  # not on a node's way

    sql = SqlReader(workdir, url)
    if url is None:
        return Store(workdir, url, SqliteReader(workdir / OWN_FILE, sql), sql)
    return Store(workdir, url, sql, sql)


def open_node_store(workdir: Path, url: str | None) -> NodeStore:
    """What a job on a node reads and writes (its spec, its report), the
    fast way: the project's SQLite file (or an ``sqlite:///`` URL) through
    the standard library, PostgreSQL through libpq (pg_fast.py); any other
    database, or PostgreSQL without a loadable libpq, through SQLAlchemy's
    ``Cache``, which answers the same."""
    from outflowfile.store.nodestore import SqliteNodeStore

    if url is None:
        return SqliteNodeStore(workdir / OWN_FILE)
    if "://" not in url:
        return SqliteNodeStore(workdir / url)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):].split("?")[0])
        return SqliteNodeStore(path if path.is_absolute() else workdir / path)
    if url.split("://")[0].split("+")[0] in ("postgresql", "postgres"):
        from outflowfile.store.pg_fast import PgNodeStore, load_libpq

        lib = load_libpq()
        if lib is not None:
            return PgNodeStore(lib, url)
    return SqlReader(workdir, url).open()
