"""What the cache holds, as records: one type per thing read or written.

Read from ``jobs``: a ``Record`` (a whole row) or a ``Done`` (the part of
a completed row that deciding a job is up to date uses, read by the fast
path for speed); from ``runs``: a ``RunInfo``. Written to ``jobs``: a job's
start (``Started``), its end (``Finished``), or a job recorded done without
running (``Touched``, by ``--touch``).

Plain records without the database layer, so that the run's recorder can
hold them before it imports SQLAlchemy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from outflowfile import valuecodec

# A file's stamp as a record keeps it: [mtime_ns, size, sha256 or None];
# None for a declared output of a job still running.
Stamp = list[Any]


class _Decoded:
    """``values`` and ``files`` of a row, decoded on first use."""

    __slots__ = ("outputs_text", "files_text", "_values", "_files")
    outputs_text: str | None
    files_text: str
    _values: dict[str, Any] | None
    _files: dict[str, dict[str, Any]] | None

    @property
    def values(self) -> dict[str, Any]:
        """The value outputs by name (empty unless done)."""
        if self._values is None:
            text = self.outputs_text
            self._values = valuecodec.decode(text) if text and text != "{}" else {}
        return self._values

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """``{"in": {path: Stamp}, "out": {path: Stamp | None}}``."""
        if self._files is None:
            self._files = json.loads(self.files_text)
        return self._files

    @property
    def outputs_digest(self) -> str | None:
        """``valuecodec.digest(self.values)``, without decoding them (early cutoff)."""
        if self.outputs_text is None:
            return None
        return valuecodec.digest_encoded(self.outputs_text)


class Done(_Decoded):
    """A completed row as the fast path reads it for ``Snapshot.by_key``
    (``schema.DONE_COLUMNS``): what deciding that a job is up to date uses
    (its values and file stamps), and nothing else."""

    __slots__ = ("id", "key")
    status = "done"
    # Not read (``Store.durations`` reads timings separately when it needs them).
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

    # The columns of schema.RECORD_COLUMNS (the base class holds the last
    # two), then the decoded parameters.
    __slots__ = (
        "id", "run_id", "key", "task", "slot", "def_hash", "status", "started", "ended",
        "host", "exit_status", "cpu_seconds", "peak_mem", "error", "log",
        "params_text", "_params",
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
    _params: dict[str, Any] | None

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
        self._params = None
        self._values = None
        self._files = None

    @property
    def params(self) -> dict[str, Any]:
        """The job's input values."""
        if self._params is None:
            self._params = valuecodec.decode(self.params_text)
        return self._params

    def __repr__(self) -> str:
        return f"Record(id={self.id}, task={self.task!r}, slot={self.slot!r}, status={self.status})"


@dataclass
class RunInfo:
    """A row of ``runs``: one invocation of outflow that ran jobs."""

    id: int
    started: float
    ended: float | None
    host: str
    argv: list[str]
    status: str  # running | done | failed | interrupted


@dataclass
class Finished:
    """One job's end, for ``Cache.record_many``: ``error`` None means done."""

    row_id: int
    ended: float
    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    exit_status: int | None = None
    cpu_seconds: float | None = None
    peak_mem: int | None = None
    # When it really started, if not when its row says (it waited, queued
    # in a worker, after the row was written).
    started: float | None = None


@dataclass
class Started:
    """One job's start, for ``Cache.write_jobs``; with its ``end`` when that
    is known before the start is written (its ``row_id`` is then ignored)."""

    key: str
    task: str
    slot: str
    def_hash: str
    params: dict[str, Any]
    output_files: list[str]
    log: str
    host: str
    started: float
    end: Finished | None = None
    image: tuple[str, str] | None = None  # (name, digest): the container it runs in


@dataclass
class Touched:
    """A job recorded as done without running (``Cache.insert_done``)."""

    key: str
    task: str
    slot: str
    def_hash: str
    params: dict[str, Any]
    files: dict[str, Any]
    # What it made when it ran: kept when a job kept by early cutoff has its
    # outputs' mtimes brought forward (run/loop.py); none for --touch.
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scheduled:
    """A job sent to a cluster: the scheduler's id for it (an array
    element's: ``123_4`` on Slurm, ``123.4`` through Grid Engine's DRMAA),
    so that the next run finds it if this one dies (run/adoption)."""

    row_id: int  # its row in ``jobs``
    scheduler: str  # how it was submitted: slurm, slurm-drmaa or sge
    scheduler_id: str
    array_index: int | None  # its index in its array (from 1), if in one
    name: str  # the job name it was submitted under
    adopted_from: int | None = None  # the run that submitted it, once another adopted it
    # Read, not written: whether the job wrote its report (Cache.node_finished),
    # and the run its row belongs to.
    reported: bool = False
    run_id: int | None = None

    @classmethod
    def read(cls, row: Any) -> Scheduled:
        """From ``schema.SCHEDULED_COLUMNS``, whether its row has ended, its run."""
        return cls(int(row[0]), row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7])
