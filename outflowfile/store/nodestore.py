"""What a job on a node (or a worker) reads and writes in the cache, and
nothing more: its ``JobSpec`` (``read_spec``) and its report of how it
ended (``node_finished``), the same two things ``Cache.read_spec`` and
``Cache.node_finished`` (database.py) do, without SQLAlchemy.

Why not SQLAlchemy: importing it costs a node job about 0.4 s of CPU before
its task starts, more than thousands of small jobs can afford. The
project's SQLite file is reached with the standard library's driver
(``SqliteNodeStore``, here); PostgreSQL through libpq itself (pg_fast.py).
``door.open_node_store`` chooses, and ``tests/store/test_store_door.py``
holds them to the answers of ``Cache``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from outflowfile.errors import database_error
from outflowfile.store.location import lock_timeout

READ_SPEC = "SELECT spec FROM specs WHERE job_id = {p}"
NODE_FINISHED = (
    "UPDATE jobs SET outputs = {p}, error = {p}, exit_status = {p}, cpu_seconds = {p}, "
    "peak_mem = {p}, host = {p}, ended = {p}, started = COALESCE({p}, started) WHERE id = {p}"
)


class NodeStore(Protocol):
    @property
    def where(self) -> str:
        """The cache, as messages name it."""
        ...

    def read_spec(self, row_id: int) -> str | None: ...

    def node_finished(self, row_id: int, result: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def finished_values(row_id: int, result: dict[str, Any]) -> list[Any]:
    """The parameters of ``NODE_FINISHED``, in order: what ``rows.node_row``
    makes for SQLAlchemy's statement (not imported: it brings the records)."""
    from outflowfile import valuecodec

    return [
        valuecodec.encode(result.get("values", {})),
        result.get("error"),
        result.get("exit_status"),
        result.get("cpu_seconds"),
        result.get("peak_mem"),
        result.get("host") or os.uname().nodename,
        result.get("ended"),
        # When it started on the node, not when it was submitted (as rows.node_row).
        result.get("started") or None,
        row_id,
    ]


class SqliteNodeStore:
    """A node's reads and writes of an SQLite cache, through the standard driver."""

    def __init__(self, path: Path) -> None:
        self.where = f"sqlite:///{path}"
        if not path.exists():
            raise database_error(self.where, "no such file", "")
        self._con = sqlite3.connect(str(path), timeout=lock_timeout(), isolation_level=None)

    def read_spec(self, row_id: int) -> str | None:
        try:
            found = self._con.execute(READ_SPEC.format(p="?"), (row_id,)).fetchone()
        except sqlite3.Error as exc:
            raise database_error(self.where, str(exc), "") from None
        return None if found is None else str(found[0])

    def node_finished(self, row_id: int, result: dict[str, Any]) -> None:
        try:
            self._con.execute(NODE_FINISHED.format(p="?"), finished_values(row_id, result))
        except sqlite3.Error as exc:
            raise database_error(self.where, str(exc), "") from None

    def close(self) -> None:
        self._con.close()
