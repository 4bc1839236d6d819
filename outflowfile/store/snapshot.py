"""What planning reads from the result cache: one row per job, decoded lazily.

``Cache.load`` (``cache.py``, SQLAlchemy) fills a ``Snapshot`` on any
database. ``read_sqlite`` fills the same from a project's default SQLite
cache with the standard library's driver alone, so a run with nothing to do
never imports the database layer (importing SQLAlchemy costs more than
planning thousands of jobs). It only reads, and returns None whenever the
file is not plainly a current outflow cache: the caller then opens it through
``Cache``, which explains what is wrong.

A plan that finds every job's result by its key (a run with nothing or
little to do) needs four columns of the completed rows, and nothing of the
rest: ``read_sqlite`` reads those first, as ``Done`` records, and reads the
latest row of each slot (which only explains why a job without a result
must run) the first time a plan asks for one.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from outflowfile import valuecodec
from outflowfile.plan.memo import cache_state

SCHEMA_VERSION = 1
APPLICATION = "outflow"
DEFAULT_TIMEOUT = 30.0  # seconds to wait for a locked SQLite database
TIMEOUT_VARIABLE = "OUTFLOW_DB_TIMEOUT"

# The columns of ``jobs`` a Record is built from, in order.
RECORD_COLUMNS = (
    "id", "run_id", "key", "task", "slot", "def_hash", "status", "started", "ended",
    "host", "exit_status", "cpu_seconds", "peak_mem", "error", "log",
    "params", "outputs", "files",
)  # fmt: skip

# What planning reads of a row. read_sqlite leaves the other columns out (its
# records have None there: timings, host, exit status, error, log), which
# makes reading 100,000 rows a fifth faster; Cache.load reads them all.
PLAN_COLUMNS = frozenset(
    {"id", "key", "task", "slot", "def_hash", "status", "params", "outputs", "files"}
)
_PLAN_SELECT = "SELECT " + ", ".join(
    c if c in PLAN_COLUMNS else "NULL" for c in RECORD_COLUMNS
)
_SLOTS_QUERY = _PLAN_SELECT + " FROM jobs WHERE id <= ? ORDER BY id"
_SLOT_LATEST = _PLAN_SELECT + " FROM jobs WHERE slot = ? AND id <= ? ORDER BY id DESC LIMIT 1"
_RUNNING_QUERY = _PLAN_SELECT + " FROM jobs WHERE status = 'running' AND id <= ? ORDER BY id"
# What a Done record holds, in the order of its arguments.
_DONE_QUERY = (
    "SELECT id, key, outputs, files FROM jobs WHERE status = 'done' AND id <= ? ORDER BY id"
)
_DONE_BY_KEY = (
    "SELECT id, key, outputs, files FROM jobs"
    " WHERE key = ? AND status = 'done' AND id <= ? ORDER BY id DESC LIMIT 1"
)
_FULL_QUERY = "SELECT " + ", ".join(RECORD_COLUMNS) + " FROM jobs ORDER BY id"


class _Decoded:
    """``values`` and ``files`` of a row, decoded on first use."""

    __slots__ = ()
    outputs_text: str | None
    files_text: str
    _values: dict[str, Any] | None
    _files: dict[str, Any] | None

    @property
    def values(self) -> dict[str, Any]:
        """The value outputs by name (empty unless done)."""
        if self._values is None:
            text = self.outputs_text
            self._values = valuecodec.decode(text) if text and text != "{}" else {}
        return self._values

    @property
    def files(self) -> dict[str, dict[str, list[Any] | None]]:
        """``{"in": {path: [mtime_ns, size, sha256|None]}, "out": {...}}``."""
        if self._files is None:
            self._files = json.loads(self.files_text)
        return self._files

    @property
    def outputs_digest(self) -> str | None:
        """``values.digest(self.values)``, without decoding them (early cutoff)."""
        if self.outputs_text is None:
            return None
        return valuecodec.digest_encoded(self.outputs_text)


class Done(_Decoded):
    """A completed row as ``read_sqlite`` reads it for ``Snapshot.by_key``:
    what deciding that a job is up to date uses (its values and file
    stamps), and nothing else."""

    __slots__ = ("id", "key", "outputs_text", "files_text", "_values", "_files")
    status = "done"
    # Not read, as in read_sqlite's Records (``project._history`` reads
    # timings separately when it needs them).
    started: float | None = None
    ended: float | None = None

    def __init__(self, id: int, key: str, outputs_text: str | None, files_text: str) -> None:
        self.id = id
        self.key = key
        self.outputs_text = outputs_text
        self.files_text = files_text
        self._values = None
        self._files = None

    def __repr__(self) -> str:
        return f"Done(id={self.id}, key={self.key!r})"


class Record(_Decoded):
    """One row of ``jobs``. ``params``, ``values`` and ``files`` decode on first use."""

    # The column order of _RECORD_COLUMNS, then the decoded caches.
    __slots__ = (
        "id", "run_id", "key", "task", "slot", "def_hash", "status", "started", "ended",
        "host", "exit_status", "cpu_seconds", "peak_mem", "error", "log",
        "params_text", "outputs_text", "files_text",
        "_params", "_values", "_files",
    )  # fmt: skip

    id: int
    run_id: int
    key: str
    task: str
    slot: str
    def_hash: str
    status: str
    started: float
    ended: float | None
    host: str
    exit_status: int | None
    cpu_seconds: float | None
    peak_mem: int | None
    error: str | None
    log: str
    params_text: str
    outputs_text: str | None
    files_text: str

    def __init__(
        self,
        id: int,
        run_id: int,
        key: str,
        task: str,
        slot: str,
        def_hash: str,
        status: str,
        started: float,
        ended: float | None,
        host: str,
        exit_status: int | None,
        cpu_seconds: float | None,
        peak_mem: int | None,
        error: str | None,
        log: str,
        params_text: str,
        outputs_text: str | None,
        files_text: str,
    ) -> None:
        self.id = id
        self.run_id = run_id
        self.key = key
        self.task = task
        self.slot = slot
        self.def_hash = def_hash
        self.status = status
        self.started = started
        self.ended = ended
        self.host = host
        self.exit_status = exit_status
        self.cpu_seconds = cpu_seconds
        self.peak_mem = peak_mem
        self.error = error
        self.log = log
        self.params_text = params_text
        self.outputs_text = outputs_text
        self.files_text = files_text
        self._params: dict[str, Any] | None = None
        self._values: dict[str, Any] | None = None
        self._files: dict[str, Any] | None = None

    @property
    def params(self) -> dict[str, Any]:
        """The job's input values."""
        if self._params is None:
            self._params = valuecodec.decode(self.params_text)
        return self._params

    def __repr__(self) -> str:
        return f"Record(id={self.id}, task={self.task!r}, slot={self.slot!r}, status={self.status})"


class Snapshot:
    """What planning needs from the cache.

    ``by_key``: the completed record of each key (``Record`` or ``Done``);
    ``running``: records left "running" by a dead run; ``by_slot``: the
    latest record of each slot, of any status, made by ``load_slots`` when
    first asked for (if given).
    """

    def __init__(
        self,
        by_key: dict[str, Any] | None = None,
        by_slot: dict[str, Record] | None = None,
        running: list[Record] | None = None,
        load_slots: Callable[[], dict[str, Record]] | None = None,
    ) -> None:
        self.by_key: dict[str, Any] = {} if by_key is None else by_key
        self.running: list[Record] = [] if running is None else running
        # The summary of the jobs table these were read with (planmemo.py),
        # when read for it (the project's SQLite file, Cache.load(state=True)).
        self.state: list[Any] | None = None
        self._by_slot = by_slot
        self._load_slots = load_slots

    @property
    def by_slot(self) -> dict[str, Record]:
        if self._by_slot is None:
            load, self._load_slots = self._load_slots, None
            with collector_paused(keep=True):
                self._by_slot = load() if load is not None else {}
        return self._by_slot


@contextmanager
def collector_paused(keep: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects.

    Loading 100,000 records allocates a few hundred thousand containers, none
    in a cycle; each allocation burst otherwise triggers full collections that
    walk every object of the process (the cost grows with the caller's heap).

    With ``keep``, what exists when the pause ends lives on (a run's graph
    and records): it is moved out of the collector's generations
    (``gc.freeze``), else the first collection after the pause would walk
    all of it again. The engine puts it back when its run ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
        if was_enabled:
            gc.enable()


def build_snapshot(rows: Sequence[Any]) -> Snapshot:
    by_key: dict[str, Record] = {}
    by_slot: dict[str, Record] = {}
    running: list[Record] = []
    for row in rows:
        rec = Record(*row)
        by_slot[rec.slot] = rec  # rows come in id order: the last one wins
        status = rec.status
        if status == "done":
            by_key[rec.key] = rec
        elif status == "running":
            running.append(rec)
    return Snapshot(by_key, by_slot, running)


def lock_timeout() -> float:
    """How long to wait for an SQLite cache another process has locked:
    ``OUTFLOW_DB_TIMEOUT`` seconds, else 30."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        from outflowfile.errors import UserError

        raise UserError(f"{TIMEOUT_VARIABLE}={text}: expected a number of seconds")
    return value


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
    just found as ``state`` (planmemo.py): a plan helped by the memo asks
    for few records, so ``by_key`` and ``by_slot`` read them one at a time
    (up to ``KeyLookup.POINT_READS``, then all at once). The memo is only
    written when no row is left running, so none is now."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    last = state[0] or 0
    where = f"sqlite:///{path.resolve()}"
    snapshot = Snapshot(KeyLookup(uri, last, where), SlotLookup(uri, last, where), [])  # type: ignore[arg-type]
    snapshot.state = state
    return snapshot


ELSEWHERE_HINT = "move that file away, or give another cache location with --db or OUTFLOW_DB"


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
            from outflowfile.errors import database_error

            raise database_error(self._where, str(exc), ELSEWHERE_HINT) from None


class SlotLookup(KeyLookup):
    """``Snapshot.by_slot`` read from the database as slots are asked for:
    the latest record of each, of any status."""

    _ONE = _SLOT_LATEST

    def _record(self, row: Any) -> Any:
        return Record(*row)

    def _read_all(self) -> dict[str, Any]:
        return build_snapshot(self._fetch(_SLOTS_QUERY, (self._last,))).by_slot


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
        return con.execute(
            "SELECT slot, task, ended - started FROM jobs "
            "WHERE status = 'done' AND ended IS NOT NULL ORDER BY id"
        ).fetchall()
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
        from outflowfile.errors import UserError

        raise UserError(f"cannot read the cache {uri}: {exc}") from None
