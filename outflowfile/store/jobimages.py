"""The image each job that ran in a container ran in (the ``images``
table): written with the job's start, read by ``--summary``, which shows
the digest the job ran with rather than the one its tag names now.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from outflowfile.store.records import Started
from outflowfile.store.tables import images_table

Row = tuple[int, str, str]  # job row, image, digest


def rows(started: Sequence[Started], ids: Sequence[int]) -> list[Row]:
    """What to write for the jobs ``started`` got the rows ``ids``."""
    return [(row, s.image[0], s.image[1]) for s, row in zip(started, ids, strict=False)
            if s.image is not None]


def insert_sqlite(db: sqlite3.Connection, items: list[Row]) -> None:
    if items:
        db.executemany(
            "INSERT OR REPLACE INTO images (job_id, image, digest) VALUES (?, ?, ?)", items
        )


def insert(conn: Connection, items: list[Row]) -> None:
    if items:
        conn.execute(images_table.insert(),
                     [{"job_id": r, "image": i, "digest": d} for r, i, d in items])


def read(reading: Callable[[], AbstractContextManager[Connection]],
         job_rows: list[int]) -> dict[int, str]:
    """The digest each of ``job_rows`` that ran in a container ran with."""
    c = images_table.c
    found: dict[int, str] = {}
    with reading() as conn:
        for start in range(0, len(job_rows), 500):
            stmt = sa.select(c.job_id, c.digest).where(
                c.job_id.in_(job_rows[start : start + 500]))
            found.update((r[0], r[1]) for r in conn.execute(stmt))
    return found
