"""The cache's schema, declared once: its version, its tables and their columns.

Plain data, without SQLAlchemy: the standard library's fast path
(``sqlite_fast.py``) reads its column names from here, and ``tables.py``
builds SQLAlchemy's tables from the same declarations.

Schema (version 1)::

    meta(key PK, value)                    schema_version = "1", application = "outflow"
    runs(id PK, started, ended, host, pid, argv JSON, status)
    jobs(id PK, run_id -> runs.id, key*, task*, slot*, def_hash, params, status,
         started, ended, host, exit_status, cpu_seconds, peak_mem, outputs, files,
         error, log)                      * indexed
    specs(job_id PK -> jobs.id, spec)      what a job sent to a cluster runs (jobspec.py)
    scheduled(job_id PK -> jobs.id, scheduler, scheduler_id, array_index, name, adopted_from)
                                           a cluster job's id at its scheduler (records.Scheduled)
    images(job_id PK -> jobs.id, image, digest)
                                           the image a job ran in (container:), as it was then

A table added since a cache was made is created when outflow opens it
(``scheduled`` and ``images`` came after version 1 without changing it: an
older outflow ignores them).

``status`` is running | done | failed | interrupted; times are epoch seconds;
``params``/``outputs`` are ``valuecodec.encode`` of a dict; ``files`` is JSON
``{"in": {path: [mtime_ns, size, sha256|null]}, "out": {...}}``, and a job
still running lists its declared outputs as ``{"out": {path: null}}``. A
job that ran may add ``"out_dirs": [dir, ...]``, the directories outflow
made to hold its outputs (``MADE_DIRS``; what ``--clean`` may remove when
empty). Its name sorts after ``"out"``, so that the canonical text still
begins ``{"in":{`` and holds ``},"out":{`` (what plan/files.py searches for).
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1
APPLICATION = "outflow"

MADE_DIRS = "out_dirs"  # the key of a ``files`` record described above

JOB_STATUSES = ("running", "done", "failed", "interrupted")
TOUCHED = "touched"  # the status of a --touch run, which ran nothing

ELSEWHERE_HINT = "move that file away, or give another cache location with --db or OUTFLOW_DB"


@dataclass(frozen=True)
class Column:
    """One column. ``kind``: id (a 64-bit row id), string (of ``length``),
    text, float, integer or bigint."""

    name: str
    kind: str
    length: int | None = None
    null: bool = True
    primary: bool = False
    index: bool = False
    references: str | None = None  # "table.column"
    on_delete: str | None = None


def _id(name: str = "id") -> Column:
    return Column(name, "id", primary=True)


TABLES: dict[str, tuple[Column, ...]] = {
    "meta": (
        Column("key", "string", 64, primary=True),
        Column("value", "text", null=False),
    ),
    "runs": (
        _id(),
        Column("started", "float", null=False),
        Column("ended", "float"),
        Column("host", "string", 255, null=False),
        Column("pid", "integer", null=False),
        Column("argv", "text", null=False),
        Column("status", "string", 16, null=False),
    ),
    "jobs": (
        _id(),
        Column("run_id", "id", null=False, references="runs.id"),
        Column("key", "string", 64, null=False, index=True),
        Column("task", "string", 255, null=False, index=True),
        Column("slot", "text", null=False, index=True),
        Column("def_hash", "string", 64, null=False),
        Column("params", "text", null=False),
        Column("status", "string", 16, null=False),
        Column("started", "float", null=False),
        Column("ended", "float"),
        Column("host", "string", 255, null=False),
        Column("exit_status", "integer"),
        Column("cpu_seconds", "float"),
        Column("peak_mem", "bigint"),
        Column("outputs", "text"),
        Column("files", "text", null=False),
        Column("error", "text"),
        Column("log", "text", null=False),
    ),
    # What a job running on a cluster node reads to run: its JobSpec
    # (jobspec.py, as tagged JSON). Written only for jobs sent to a cluster.
    "specs": (
        Column("job_id", "id", primary=True, references="jobs.id", on_delete="CASCADE"),
        Column("spec", "text", null=False),
    ),
    # The scheduler's id of every job sent to a cluster, written once it is
    # submitted: a run that dies leaves them for the next to find its jobs
    # by (executors/cluster/adoption.py).
    "scheduled": (
        Column("job_id", "id", primary=True, references="jobs.id", on_delete="CASCADE"),
        Column("scheduler", "string", 16, null=False),
        Column("scheduler_id", "string", 64, null=False),
        Column("array_index", "integer"),
        Column("name", "string", 255, null=False),
        Column("adopted_from", "id"),
    ),
    # The image (name and digest) a job that ran in a container: ran in,
    # written with its start: the digest its tag named then.
    "images": (
        Column("job_id", "id", primary=True, references="jobs.id", on_delete="CASCADE"),
        Column("image", "string", 255, null=False),
        Column("digest", "string", 128, null=False),
    ),
}

OUR_TABLES = frozenset(TABLES)

# The columns of ``jobs`` a Record is built from, in the order of its arguments.
RECORD_COLUMNS = (
    "id", "run_id", "key", "task", "slot", "def_hash", "status", "started", "ended",
    "host", "exit_status", "cpu_seconds", "peak_mem", "error", "log",
    "params", "outputs", "files",
)  # fmt: skip

# The columns of ``jobs`` a Done record is built from, in order.
DONE_COLUMNS = ("id", "key", "outputs", "files")

# What planning reads of a row. The fast path leaves the other columns out
# (its records have None there: timings, host, exit status, error, log),
# which makes reading 100,000 rows a fifth faster.
PLAN_COLUMNS = frozenset(
    {"id", "key", "task", "slot", "def_hash", "status", "started", "params", "outputs", "files"}
)

# The columns of ``scheduled`` a Scheduled record is built from, in order.
SCHEDULED_COLUMNS = ("job_id", "scheduler", "scheduler_id", "array_index", "name", "adopted_from")
