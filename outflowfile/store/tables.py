"""The schema's tables (``schema.py``) as SQLAlchemy Core, and the
statements made for every job through it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from outflowfile.store.schema import RECORD_COLUMNS, TABLES, Column

metadata = sa.MetaData()

# SQLite's INTEGER PRIMARY KEY is its 64-bit rowid; elsewhere ask for BIGINT.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _type(column: Column) -> Any:
    if column.kind == "string":
        return sa.String(column.length)
    return {
        "id": _BigId,
        "text": sa.Text,
        "float": sa.Float,
        "integer": sa.Integer,
        "bigint": sa.BigInteger,
    }[column.kind]


def _column(column: Column) -> sa.Column[Any]:
    args: list[Any] = [column.name, _type(column)]
    if column.references is not None:
        args.append(sa.ForeignKey(column.references, ondelete=column.on_delete))
    kwargs: dict[str, Any] = {}
    if column.primary:
        kwargs["primary_key"] = True
        if column.kind == "id" and column.references is None:
            kwargs["autoincrement"] = True
    else:
        kwargs["nullable"] = column.null
    if column.index:
        kwargs["index"] = True
    return sa.Column(*args, **kwargs)


def _table(name: str) -> sa.Table:
    return sa.Table(name, metadata, *(_column(c) for c in TABLES[name]))


meta_table = _table("meta")
runs_table = _table("runs")
jobs_table = _table("jobs")
specs_table = _table("specs")
scheduled_table = _table("scheduled")
images_table = _table("images")

RECORD_SELECT = [jobs_table.c[name] for name in RECORD_COLUMNS]

# The writes made for every job. A fixed statement with parameters compiles
# once; .values(row) would build and hash a new statement for every job.
_c = jobs_table.c
INSERT_JOB = jobs_table.insert()
NODE_FINISHED = (
    jobs_table.update()
    .where(_c.id == sa.bindparam("row_id"))
    .values(
        outputs=sa.bindparam("p_outputs"),
        error=sa.bindparam("p_error"),
        exit_status=sa.bindparam("p_exit_status"),
        cpu_seconds=sa.bindparam("p_cpu_seconds"),
        peak_mem=sa.bindparam("p_peak_mem"),
        host=sa.bindparam("p_host"),
        ended=sa.bindparam("p_ended"),
        started=sa.func.coalesce(sa.bindparam("p_started", type_=sa.Float), _c.started),
    )
)
DELETE_OLDER_DONE = jobs_table.delete().where(
    _c.key == sa.select(_c.key).where(_c.id == sa.bindparam("row_id")).scalar_subquery(),
    _c.status == "done",
    _c.id != sa.bindparam("row_id"),
)
MARK_DONE = (
    jobs_table.update()
    .where(_c.id == sa.bindparam("row_id"))
    .values(
        status="done",
        outputs=sa.bindparam("p_outputs"),
        files=sa.bindparam("p_files"),
        ended=sa.bindparam("p_ended"),
        exit_status=sa.bindparam("p_exit_status"),
        cpu_seconds=sa.bindparam("p_cpu_seconds"),
        peak_mem=sa.bindparam("p_peak_mem"),
        error=None,
        started=sa.func.coalesce(sa.bindparam("p_started", type_=sa.Float), _c.started),
    )
)
MARK_FAILED = (
    jobs_table.update()
    .where(_c.id == sa.bindparam("row_id"))
    .values(
        status="failed",
        error=sa.bindparam("p_error"),
        ended=sa.bindparam("p_ended"),
        exit_status=sa.bindparam("p_exit_status"),
        cpu_seconds=sa.bindparam("p_cpu_seconds"),
        peak_mem=sa.bindparam("p_peak_mem"),
        started=sa.func.coalesce(sa.bindparam("p_started", type_=sa.Float), _c.started),
    )
)
