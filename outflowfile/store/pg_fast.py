"""A node's reads and writes of a PostgreSQL cache through libpq itself,
loaded with ctypes: the client library psycopg wraps, without psycopg's
import (about 0.2 s of CPU here, as much as SQLAlchemy's, for a node job
that makes two statements).

The library is the system's ``libpq.so.5``, or the one psycopg's binary
wheel ships; ``load_libpq`` returns None when neither is there, and the
door then takes the SQLAlchemy way. Parameters travel as text, NULL as a
null pointer; PostgreSQL casts them to the columns' types.
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
from typing import Any

from outflowfile.errors import UserError
from outflowfile.store.nodestore import NODE_FINISHED, READ_SPEC, finished_values

CONNECTION_OK = 0
PGRES_COMMAND_OK = 1
PGRES_TUPLES_OK = 2


def load_libpq() -> Any | None:
    """libpq, its functions typed; None when it cannot be loaded."""
    for name in _candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        _declare(lib)
        return lib
    return None


def _candidates() -> list[str]:
    names = ["libpq.so.5", "libpq.5.dylib"]
    for entry in sys.path:  # psycopg[binary]'s own copy, beside its package
        names += sorted(glob.glob(os.path.join(entry, "psycopg_binary.libs", "libpq-*.so*")))
    return names


def _declare(lib: Any) -> None:
    p, c, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    signatures: dict[str, tuple[list[Any], Any]] = {
        "PQconnectdb": ([c], p),
        "PQstatus": ([p], i),
        "PQerrorMessage": ([p], c),
        "PQfinish": ([p], None),
        "PQexecParams": ([p, c, i, p, ctypes.POINTER(c), p, p, i], p),
        "PQresultStatus": ([p], i),
        "PQresultErrorMessage": ([p], c),
        "PQntuples": ([p], i),
        "PQgetisnull": ([p, i, i], i),
        "PQgetvalue": ([p, i, i], c),
        "PQclear": ([p], None),
    }
    for name, (args, result) in signatures.items():
        func = getattr(lib, name)
        func.argtypes, func.restype = args, result


def conninfo(url: str) -> str:
    """libpq's URI for a cache URL (SQLAlchemy's driver names dropped)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql{sep}{rest}" if scheme.startswith("postgres") else url


def _placeholders(sql: str) -> str:
    """``{p}`` placeholders as $1, $2, ..."""
    parts = sql.split("{p}")
    return "".join(part + (f"${n}" if n < len(parts) else "")
                   for n, part in enumerate(parts, start=1))


class PgNodeStore:
    """A node's reads and writes of a PostgreSQL cache (``nodestore.NodeStore``)."""

    def __init__(self, lib: Any, url: str) -> None:
        self._lib = lib
        self.where = url.split("@")[-1]  # no password in messages
        self._conn = lib.PQconnectdb(conninfo(url).encode())
        if lib.PQstatus(self._conn) != CONNECTION_OK:
            reason = (lib.PQerrorMessage(self._conn) or b"").decode(errors="replace").strip()
            lib.PQfinish(self._conn)
            self._conn = None
            raise UserError(f"cannot reach the cache database {self.where}: {reason}")

    def read_spec(self, row_id: int) -> str | None:
        rows = self._execute(_placeholders(READ_SPEC), [row_id])
        return rows[0][0] if rows else None

    def node_finished(self, row_id: int, result: dict[str, Any]) -> None:
        self._execute(_placeholders(NODE_FINISHED), finished_values(row_id, result))

    def close(self) -> None:
        if self._conn is not None:
            self._lib.PQfinish(self._conn)
            self._conn = None

    def _execute(self, sql: str, params: list[Any]) -> list[list[str | None]]:
        lib = self._lib
        texts = [None if v is None else _text(v).encode() for v in params]
        values = (ctypes.c_char_p * len(texts))(*texts)
        res = lib.PQexecParams(self._conn, sql.encode(), len(texts), None, values, None, None, 0)
        try:
            status = lib.PQresultStatus(res)
            if status not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
                reason = (lib.PQresultErrorMessage(res) or lib.PQerrorMessage(self._conn) or b"")
                raise UserError(f"the cache database {self.where} failed: "
                                f"{reason.decode(errors='replace').strip()}")
            if status == PGRES_COMMAND_OK:
                return []
            return [
                [None if lib.PQgetisnull(res, r, 0) else lib.PQgetvalue(res, r, 0).decode()]
                for r in range(lib.PQntuples(res))
            ]
        finally:
            lib.PQclear(res)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
