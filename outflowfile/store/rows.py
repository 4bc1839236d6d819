"""A job's start and end as the cache writes them: plain records, so that
the run's recorder can hold them without importing the cache (and
SQLAlchemy) before it writes anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Finished:
    """One job's end, for ``record_many``: ``error`` None means done."""

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
    """One job's start, for ``write_jobs``; with its ``end`` when that is
    known before the start is written (its ``row_id`` is then ignored)."""

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
