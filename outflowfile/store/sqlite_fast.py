"""The fast path: the project's own SQLite cache through the standard
library's driver, without SQLAlchemy.

Reads: a run with nothing to do never imports the database layer
(importing SQLAlchemy costs more than planning thousands of jobs).
``SqliteReader`` reads what planning needs, the cache-state summary the plan
memo compares and the jobs' durations; it only reads, and whenever the file
is not plainly a current outflow cache it hands the request to the
SQLAlchemy reader it was given, which explains what is wrong.

A plan that finds every job's result by its key (a run with nothing or
little to do) needs four columns of the completed rows, and nothing of the
rest: the fast path reads those first, as ``Done`` records, and reads the
latest row of each slot (which only explains why a job without a result
must run) the first time a plan asks for one.

Writes: the statements made for every job, in SQLite's SQL, which
``Cache`` (database.py) runs through the driver under its SQLAlchemy
connection: SQLAlchemy's statement machinery costs several times SQLite's
work for them. They do what tables.INSERT_JOB, DELETE_OLDER_DONE, MARK_DONE
and MARK_FAILED do.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outflowfile.errors import UserError, database_error
from outflowfile.store.location import lock_timeout
from outflowfile.store.records import Done, Record, Scheduled
from outflowfile.store.schema import (
    APPLICATION,
    DONE_COLUMNS,
    ELSEWHERE_HINT,
    PLAN_COLUMNS,
    RECORD_COLUMNS,
    SCHEDULED_COLUMNS,
    SCHEMA_VERSION,
)
from outflowfile.store.snapshot import Snapshot, build_snapshot, collector_paused

if TYPE_CHECKING:
    from outflowfile.store.door import Reader
    from outflowfile.store.rows import Row

# --- reading -------------------------------------------------------------------------

_PLAN_SELECT = "SELECT " + ", ".join(
    c if c in PLAN_COLUMNS else "NULL" for c in RECORD_COLUMNS
)
_SLOTS_QUERY = _PLAN_SELECT + " FROM jobs WHERE id <= ? ORDER BY id"
_SLOT_LATEST = _PLAN_SELECT + " FROM jobs WHERE slot = ? AND id <= ? ORDER BY id DESC LIMIT 1"
_RUNNING_QUERY = _PLAN_SELECT + " FROM jobs WHERE status = 'running' AND id <= ? ORDER BY id"
_DONE_SELECT = "SELECT " + ", ".join(DONE_COLUMNS) + " FROM jobs"
_DONE_QUERY = _DONE_SELECT + " WHERE status = 'done' AND id <= ? ORDER BY id"
_DONE_BY_KEY = (
    _DONE_SELECT + " WHERE key = ? AND status = 'done' AND id <= ? ORDER BY id DESC LIMIT 1"
)
_SCHEDULED_SELECT = (
    "SELECT " + ", ".join(f"s.{c}" for c in SCHEDULED_COLUMNS)
    + ", j.ended IS NOT NULL, j.run_id FROM scheduled s JOIN jobs j ON j.id = s.job_id"
)
_FULL_QUERY = "SELECT " + ", ".join(RECORD_COLUMNS) + " FROM jobs ORDER BY id"
_DURATIONS = (
    "SELECT slot, task, ended - started FROM jobs "
    "WHERE status = 'done' AND ended IS NOT NULL ORDER BY id"
)


class SqliteReader:
    """The reads of the project's SQLite cache (``door.Reader``), through
    the standard driver; what it cannot read plainly goes to ``fallback``."""

    def __init__(self, path: Path, fallback: Reader) -> None:
        self.path = path
        self._fallback = fallback

    def snapshot(self, full: bool = False) -> Snapshot:
        found = read_sqlite(self.path, full)
        return found if found is not None else self._fallback.snapshot(full)

    def snapshot_at(self, state: list[Any]) -> Snapshot:
        # The state is read again: another process may have written the
        # cache since the memo found it so, and the caller compares the
        # snapshot's state with ``state`` to know (run/session.py).
        if read_state(self.path) != state:
            return self.snapshot()
        return read_sqlite_by_key(self.path, state)

    def state(self) -> list[Any] | None:
        return read_state(self.path)

    def durations(self) -> list[tuple[str, str, float]]:
        return read_durations(self.path)

    def might_have_records(self) -> bool:
        state = read_state(self.path)
        return state is not None and bool(state[1])

    def scheduled(self, rows: list[int]) -> dict[int, Scheduled]:
        return read_scheduled(self.path, rows)


def cache_state(con: sqlite3.Connection) -> list[Any]:
    """The summary of the jobs table the plan memo compares (plan/memo.py):
    the highest id of jobs (first: what planning reads up to), the row
    count, the highest row's key, status and times, and the cache's
    metadata (which schema it has). ``Cache.state`` reads the same."""
    last, count = con.execute("SELECT max(id), count(*) FROM jobs").fetchone()
    row = con.execute(
        "SELECT key, status, started, ended FROM jobs WHERE id = ?", (last,)
    ).fetchone()
    meta = ";".join(f"{k}={v}" for k, v in con.execute("SELECT key, value FROM meta ORDER BY key"))
    return [last, count, *(row or ()), meta]


def read_state(db: Path) -> list[Any] | None:
    """The summary of an SQLite cache's jobs table, or None if unreadable."""
    if not db.exists():
        return None
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        con.execute("BEGIN")
        return cache_state(con)
    except sqlite3.Error:
        return None
    finally:
        con.close()


def read_sqlite(path: Path, full: bool = False) -> Snapshot | None:
    """The snapshot of an SQLite cache read with the standard driver; an
    empty one if the file does not exist; None if it is anything but a
    readable outflow cache of this schema version. With ``full``, records
    have every column (timings, host), as ``Cache.load`` gives them;
    without, ``by_key`` holds ``Done`` records and ``by_slot`` is read when
    first asked for."""
    if not path.exists():
        return Snapshot()
    uri = path.resolve().as_uri()
    try:
        return _read(f"{uri}?mode=ro", full)
    except sqlite3.Error:
        if os.access(path.parent, os.W_OK):
            return None
    # In a read-only directory SQLite cannot make the shared-memory file it
    # reads a WAL database through; nothing writes here through this mount,
    # so reading the file as immutable is safe (and ``-n`` works).
    try:
        return _read(f"{uri}?immutable=1", full)
    except sqlite3.Error:
        return None


def read_sqlite_by_key(path: Path, state: list[Any]) -> Snapshot:
    """The snapshot of an SQLite cache whose jobs table the plan memo has
    just found as ``state`` (plan/memo.py): a plan helped by the memo asks
    for few records, so ``by_key`` and ``by_slot`` read them one at a time
    (up to ``KeyLookup.POINT_READS``, then all at once). The memo is only
    written when no row is left running, so none is now."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    last = state[0] or 0
    where = f"sqlite:///{path.resolve()}"
    snapshot = Snapshot(KeyLookup(uri, last, where), SlotLookup(uri, last, where), [])  # type: ignore[arg-type]
    snapshot.state = state
    return snapshot


class KeyLookup:
    """``Snapshot.by_key`` read from the database as keys are asked for: a
    row at a time up to ``POINT_READS``, then all at once."""

    POINT_READS = 200
    _ONE = _DONE_BY_KEY  # the record of one key (or slot), newest first

    def __init__(self, uri: str, last: int, where: str) -> None:
        self._uri = uri
        self._where = where  # what messages call the database
        self._last = last
        self._reads = 0
        self._all: dict[str, Any] | None = None
        self._con: sqlite3.Connection | None = None

    def get(self, name: str, default: Any = None) -> Any:
        if self._all is None and self._reads < self.POINT_READS:
            self._reads += 1
            rows = self._fetch(self._ONE, (name, self._last))
            return self._record(rows[0]) if rows else default
        return self._everything().get(name, default)

    def values(self) -> Any:
        return self._everything().values()

    def _record(self, row: Any) -> Any:
        return Done(*row)

    def _read_all(self) -> dict[str, Any]:
        return {row[1]: Done(*row) for row in self._fetch(_DONE_QUERY, (self._last,))}

    def _everything(self) -> dict[str, Any]:
        if self._all is None:
            with collector_paused(keep=True):
                self._all = self._read_all()
            if self._con is not None:
                self._con.close()
                self._con = None
        return self._all

    def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        try:
            if self._con is None:
                self._con = _connect(self._uri)
            return self._con.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise database_error(self._where, str(exc), ELSEWHERE_HINT) from None


class SlotLookup(KeyLookup):
    """``Snapshot.by_slot`` read from the database as slots are asked for:
    the latest record of each, of any status."""

    _ONE = _SLOT_LATEST

    def _record(self, row: Any) -> Any:
        return Record(*row)

    def _read_all(self) -> dict[str, Any]:
        return build_snapshot(self._fetch(_SLOTS_QUERY, (self._last,))).by_slot


def read_scheduled(path: Path, rows: list[int]) -> dict[int, Scheduled]:
    """The scheduler's ids of those of ``rows`` sent to a cluster; {} when
    the cache cannot be read or predates the table."""
    if not rows or not path.exists():
        return {}
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return {}
    try:
        found: dict[int, Scheduled] = {}
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in con.execute(f"{_SCHEDULED_SELECT} WHERE s.job_id IN ({marks})", chunk):
                found[row[0]] = Scheduled.read(row)
        return found
    except sqlite3.Error:
        return {}
    finally:
        con.close()


def read_durations(path: Path) -> list[tuple[str, str, float]]:
    """``(slot, task, seconds)`` of every job of an SQLite cache that ran to
    the end, oldest first; [] if there is none or it cannot be read."""
    if not path.exists():
        return []
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        return con.execute(_DURATIONS).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def _read(uri: str, full: bool) -> Snapshot | None:
    """Raises ``sqlite3.Error`` when it cannot be read; None when it is not ours."""
    con = _connect(uri)
    try:
        con.execute("BEGIN")  # one read transaction: the state and rows agree
        meta = dict(con.execute("SELECT key, value FROM meta"))
        if meta.get("application") != APPLICATION or meta.get("schema_version") != str(
            SCHEMA_VERSION
        ):
            return None
        state = cache_state(con)
        if full:
            with collector_paused(keep=True):
                snapshot = build_snapshot(con.execute(_FULL_QUERY).fetchall())
            snapshot.state = state
            return snapshot
        # Every read sees the rows up to this one, whatever a run adds.
        last = state[0] or 0
        with collector_paused(keep=True):
            # Rows come in id order: the last of a key wins (there is one).
            done = con.execute(_DONE_QUERY, (last,)).fetchall()
            by_key = {row[1]: Done(*row) for row in done}
            running = [Record(*row) for row in con.execute(_RUNNING_QUERY, (last,))]
    finally:
        con.close()
    snapshot = Snapshot(by_key, None, running, lambda: _read_slots(uri, last))
    snapshot.state = state
    return snapshot


def _connect(uri: str) -> sqlite3.Connection:
    return sqlite3.connect(uri, uri=True, timeout=lock_timeout())


def _read_slots(uri: str, last: int) -> dict[str, Record]:
    """The latest record of each slot among the rows the snapshot saw (a run
    appends rows, with larger ids, as it goes)."""
    try:
        con = _connect(uri)
        try:
            return build_snapshot(con.execute(_SLOTS_QUERY, (last,)).fetchall()).by_slot
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise UserError(f"cannot read the cache {uri}: {exc}") from None


# --- writing -------------------------------------------------------------------------

# The insert's parameters come in the order of rows.start_row.
INSERT_JOB = (
    'INSERT INTO jobs (run_id, "key", task, slot, def_hash, params, status, started, host, '
    "files, log) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_OLDER_DONE = (
    'DELETE FROM jobs WHERE "key" = (SELECT "key" FROM jobs WHERE id = ?) '
    "AND status = 'done' AND id != ?"
)
_MARK_DONE = (
    "UPDATE jobs SET status = 'done', outputs = ?, files = ?, ended = ?, exit_status = ?, "
    "cpu_seconds = ?, peak_mem = ?, error = NULL, started = COALESCE(?, started) WHERE id = ?"
)
_MARK_FAILED = (
    "UPDATE jobs SET status = 'failed', error = ?, ended = ?, exit_status = ?, "
    "cpu_seconds = ?, peak_mem = ?, started = COALESCE(?, started) WHERE id = ?"
)


def insert_jobs(db: sqlite3.Connection, values: list[tuple[Any, ...]]) -> list[int]:
    """Insert jobs' rows as they start (the values of ``rows.start_row``);
    their ids, in order."""
    return [int(db.execute(INSERT_JOB, v).lastrowid or 0) for v in values]


def record_ends(db: sqlite3.Connection, done: list[Row], failed: list[Row]) -> None:
    """Write jobs' ends (``rows.end_rows``); older completed rows of the keys
    done are dropped."""
    if done:
        db.executemany(_DELETE_OLDER_DONE, [(r["row_id"], r["row_id"]) for r in done])
        db.executemany(
            _MARK_DONE,
            [
                (r["p_outputs"], r["p_files"], r["p_ended"], r["p_exit_status"],
                 r["p_cpu_seconds"], r["p_peak_mem"], r["p_started"], r["row_id"])
                for r in done
            ],
        )  # fmt: skip
    if failed:
        db.executemany(
            _MARK_FAILED,
            [
                (r["p_error"], r["p_ended"], r["p_exit_status"], r["p_cpu_seconds"],
                 r["p_peak_mem"], r["p_started"], r["row_id"])
                for r in failed
            ],
        )  # fmt: skip


_INSERT_SCHEDULED = (
    "INSERT OR REPLACE INTO scheduled (" + ", ".join(SCHEDULED_COLUMNS) + ") "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def insert_scheduled(db: sqlite3.Connection, items: list[Scheduled]) -> None:
    """The scheduler's ids of jobs just submitted."""
    db.executemany(
        _INSERT_SCHEDULED,
        [(s.row_id, s.scheduler, s.scheduler_id, s.array_index, s.name, s.adopted_from)
         for s in items],
    )  # fmt: skip
