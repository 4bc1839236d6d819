"""The cache through SQLAlchemy: every job's key, status, measurements,
values and file stamps, in any database.

SQLAlchemy Core over SQLite (``<project>/.outflow/outflow.db`` by default) or
any database URL, PostgreSQL for clusters. Every write is its own short
transaction, committed at once, so a run killed with ``kill -9`` keeps every
job that finished (a local run writes the jobs without output files in
batches, about ``recorder.LOCAL_BATCH`` late: see recorder.py). Several
processes may write at the same time: SQLite writers are serialised by a
file lock next to the database plus SQLite's own locking; PostgreSQL takes
them as they come. On an SQLite file, the writes made for every job go
through SQLite's driver under SQLAlchemy's connection (sqlite_fast.py).

Values are stored with :mod:`outflowfile.valuecodec` (canonical JSON, never
pickle), so reading the cache never runs code. ``load`` reads what planning
needs in one SELECT and decodes a record's values, parameters and file stamps
only when they are asked for. The schema is in schema.py.

The rest of outflow opens it through ``door.Store``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine

from outflowfile import valuecodec
from outflowfile.errors import UserError, database_error
from outflowfile.store import jobimages, sqlite_fast
from outflowfile.store import rows as rowsof
from outflowfile.store.location import (
    database_url,
    filesystem_type,
    is_network_filesystem,
    lock_timeout,
)
from outflowfile.store.records import Finished, Record, RunInfo, Scheduled, Started, Touched
from outflowfile.store.schema import (
    APPLICATION,
    ELSEWHERE_HINT,
    OUR_TABLES,
    SCHEDULED_COLUMNS,
    SCHEMA_VERSION,
    TOUCHED,
)
from outflowfile.store.snapshot import Snapshot, build_snapshot, collector_paused
from outflowfile.store.tables import (
    DELETE_OLDER_DONE,
    INSERT_JOB,
    MARK_DONE,
    MARK_FAILED,
    NODE_FINISHED,
    RECORD_SELECT,
    jobs_table,
    meta_table,
    metadata,
    runs_table,
    scheduled_table,
    specs_table,
)


class Cache:
    """The result cache of one project. Open with ``Cache.open``; one per process."""

    def __init__(
        self,
        engine: Engine,
        where: str,
        lock: filelock.FileLock | None = None,
        journal_mode: str | None = None,
    ) -> None:
        self._engine = engine
        self._where = where  # what messages call the database (no password)
        self._lock = lock  # SQLite only
        self._journal_mode = journal_mode  # SQLite only: "wal" or "delete"
        self._pid = os.getpid()
        # SQLite: the connection writes go through, kept open between them,
        # and the driver's connection under it.
        self._writer: Connection | None = None
        self._writer_db: sqlite3.Connection | None = None
        # Job writes take the file lock only when other processes may write
        # too (jobs on cluster nodes); a local run is the only writer under
        # the project lock, and the file lock costs more than the write.
        self.shared_writers = True

    @property
    def where(self) -> str:
        """The database as messages name it: its file, or its URL without the password."""
        return self._where

    # -- opening

    @classmethod
    def open(
        cls,
        project_dir: Path,
        url: str | None = None,
        *,
        timeout: float | None = None,
        shared_writers: bool = True,
    ) -> Cache:
        """Open (creating if absent) the cache; UserError if it is not ours or unreachable.

        ``timeout``: seconds to wait for a locked SQLite database (default:
        ``OUTFLOW_DB_TIMEOUT``, else 30). ``shared_writers=False`` promises
        that no other process writes jobs meanwhile (a local run, under the
        project lock)."""
        db_url = database_url(Path(project_dir), url)
        cache = cls._connect(db_url, lock_timeout() if timeout is None else timeout)
        cache.shared_writers = shared_writers
        try:
            with cache._errors():
                cache._prepare()
        except BaseException:
            cache.close()
            raise
        return cache

    @classmethod
    def _connect(cls, db_url: URL, timeout: float) -> Cache:
        if db_url.get_backend_name() == "sqlite" and db_url.database not in (None, "", ":memory:"):
            return cls._connect_sqlite(db_url, timeout)
        where = db_url.render_as_string(hide_password=True)
        connect_args: dict[str, Any] = {}
        if db_url.get_backend_name() == "postgresql":
            # A silent firewall would otherwise hang the connection forever.
            connect_args["connect_timeout"] = max(1, min(int(timeout), 30))
        try:
            engine = sa.create_engine(db_url, connect_args=connect_args)
        except ImportError as e:
            raise UserError(
                f"cannot use the cache database {where}: {e}",
                hint="PostgreSQL needs psycopg: pip install 'outflow[postgres]'",
            ) from None
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as e:
            raise UserError(f"cannot use the cache database {where}: {e}") from None
        return cls(engine, where, None)

    @classmethod
    def _connect_sqlite(cls, db_url: URL, timeout: float) -> Cache:
        path = Path(str(db_url.database))
        wal = not is_network_filesystem(filesystem_type(path.parent))
        engine = sa.create_engine(db_url, connect_args={"timeout": timeout})
        sa.event.listen(engine, "connect", _sqlite_on_connect(timeout, wal))
        lock = filelock.FileLock(f"{path}.lock", timeout=timeout)
        return cls(engine, str(path), lock, "wal" if wal else "delete")

    def _prepare(self) -> None:
        """Check the schema (creating it in an empty database), then the journal mode."""
        with self._engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        if "meta" in tables:
            self._check_meta()
            if not OUR_TABLES <= tables:  # made before a table was added
                with self._writing() as conn:
                    metadata.create_all(conn, checkfirst=True)
        else:
            self._refuse_foreign(tables)
            with self._writing() as conn:
                if self._is_postgresql:
                    # Two processes opening a new database at once: one creates.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7470283)"))
                metadata.create_all(conn, checkfirst=True)
                if conn.execute(sa.select(meta_table.c.key)).first() is None:
                    conn.execute(
                        meta_table.insert(),
                        [
                            {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                            {"key": "application", "value": APPLICATION},
                        ],
                    )
            self._check_meta()
        if self._journal_mode is not None:
            self._set_journal_mode(self._journal_mode)

    def _refuse_foreign(self, tables: set[str]) -> None:
        clash = sorted(tables & OUR_TABLES)
        if clash or (tables and self._lock is not None):
            shown = ", ".join(sorted(tables)[:8])
            raise UserError(
                f"{self._where} is not an outflow cache: it holds other tables ({shown})",
                hint=self._elsewhere_hint(),
            )

    def _check_meta(self) -> None:
        with self._engine.connect() as conn:
            meta = dict(conn.execute(sa.select(meta_table.c.key, meta_table.c.value)).all())
        if meta.get("application") != APPLICATION or "schema_version" not in meta:
            raise UserError(
                f"{self._where} is not an outflow cache (its 'meta' table is not outflow's)",
                hint=self._elsewhere_hint(),
            )
        if meta["schema_version"] != str(SCHEMA_VERSION):
            raise UserError(
                f"the cache database {self._where} has schema version "
                f"{meta['schema_version']}, and this outflow uses version {SCHEMA_VERSION}",
                hint="use the outflow version that wrote it, or move the database away "
                "(its results will be recomputed)",
            )

    def _elsewhere_hint(self) -> str:
        if self._lock is not None:
            return ELSEWHERE_HINT
        return "give another database with --db or OUTFLOW_DB"

    def _set_journal_mode(self, wanted: str) -> None:
        with self._errors(), self._engine.connect() as conn:
            current = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            if str(current).lower() != wanted:
                assert self._lock is not None
                with self._lock:
                    conn.exec_driver_sql(f"PRAGMA journal_mode={wanted}")

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and tools; writes should use the methods)."""
        return self._engine_here()

    @property
    def _is_postgresql(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def close(self) -> None:
        self._drop_writer()
        self._engine.dispose()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and errors

    def _engine_here(self) -> Engine:
        # Pooled connections and file locks must not cross a fork: a child
        # (a forked worker) starts its own.
        if os.getpid() != self._pid:
            self._writer = self._writer_db = None  # the parent's
            self._engine.dispose(close=False)
            if self._lock is not None:
                self._lock = filelock.FileLock(self._lock.lock_file, timeout=self._lock.timeout)
            self._pid = os.getpid()
        return self._engine

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self._errors(), self._engine_here().connect() as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, committed on leaving, rolled back on an error."""
        with self._errors():
            if self._lock is None:
                with self._engine_here().begin() as conn:
                    yield conn
                return
            engine = self._engine_here()
            lock = self._lock if self.shared_writers else contextlib.nullcontext()
            with lock:
                # One connection for every write: opening one per write (a
                # pool checkout and reset) costs more than the write.
                db = self._writer_db or self._open_writer(engine)
                writer = self._writer
                assert writer is not None
                try:
                    # Take SQLite's write lock now, waiting up to busy_timeout,
                    # rather than failing to upgrade a read lock halfway through.
                    # BEGIN and COMMIT go straight to the driver (they cost
                    # more through SQLAlchemy than the job writes themselves).
                    db.execute("BEGIN IMMEDIATE")
                    yield writer
                    if writer.in_transaction():  # SQLAlchemy statements ran
                        writer.commit()
                    db.commit()
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.rollback()
                    self._drop_writer()  # the next write opens another
                    raise

    def _write_sqlite(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """``work(db)`` in one write transaction, as ``_writing`` makes it,
        without its layers of context managers: for the writes made for
        every job, on an SQLite file."""
        with self._errors():
            engine = self._engine_here()
            lock = self._lock if self.shared_writers else None
            if lock is not None:
                lock.acquire()
            try:
                db = self._writer_db or self._open_writer(engine)
                db.execute("BEGIN IMMEDIATE")
                try:
                    out = work(db)
                    db.commit()
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        db.rollback()
                    self._drop_writer()
                    raise
                return out
            finally:
                if lock is not None:
                    lock.release()

    def _open_writer(self, engine: Engine) -> sqlite3.Connection:
        self._writer = engine.connect()
        self._writer_db = _driver(self._writer)
        return self._writer_db

    def _drop_writer(self) -> None:
        writer, self._writer, self._writer_db = self._writer, None, None
        if writer is not None:
            with contextlib.suppress(sa_exc.SQLAlchemyError, sqlite3.Error):
                writer.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Database failures the user can act on, as UserError."""
        try:
            yield
        except filelock.Timeout:
            raise self._locked_error() from None
        except sa_exc.OperationalError as e:
            raise self._operational_error(e) from None
        except sa_exc.IntegrityError:
            raise  # a bug of ours, not something the user can fix
        except sa_exc.DatabaseError as e:
            raise self._database_error(e) from None
        # The same from the writes made through SQLite's driver directly.
        except sqlite3.IntegrityError:
            raise
        except sqlite3.OperationalError as e:
            raise self._operational_error(sa_exc.OperationalError(None, None, e)) from None
        except sqlite3.DatabaseError as e:
            raise self._database_error(sa_exc.DatabaseError(None, None, e)) from None

    def _database_error(self, e: sa_exc.DatabaseError) -> UserError:
        return database_error(self._where, _first_line(e), self._elsewhere_hint())

    def _locked_error(self) -> UserError:
        return UserError(
            f"the cache database {self._where} is locked by another process",
            hint="wait for the other outflow run to finish, or find a hung process using "
            f"it (fuser {self._where})",
        )

    def _operational_error(self, e: sa_exc.OperationalError) -> UserError:
        reason = _first_line(e)
        if self._lock is not None:
            if "locked" in reason or "busy" in reason:
                return self._locked_error()
            if "full" in reason:
                return UserError(
                    f"cannot write to the cache database {self._where}: {reason}",
                    hint="free some space on the disk that holds it",
                )
            return UserError(
                f"cannot use the cache database {self._where}: {reason}",
                hint="check that its directory exists and that you may write there",
            )
        if e.connection_invalidated or "connect" in reason.lower():
            url = self._engine.url
            where = url.host or "localhost"
            if url.port is not None or self._is_postgresql:
                where += f":{url.port or 5432}"
            return UserError(
                f"cannot connect to the cache database at {where} "
                f"(database {url.database!r}, user {url.username!r}): {reason}",
                hint="check that the server is running and reachable from this host, and "
                "the user, password and database name in the URL (--db or OUTFLOW_DB)",
            )
        return UserError(f"the cache database {self._where} failed: {reason}")

    # -- runs

    def begin_run(self, argv: list[str]) -> int:
        row = {
            "started": time.time(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "argv": json.dumps(list(argv)),
            "status": "running",
        }
        with self._writing() as conn:
            return _new_id(conn.execute(runs_table.insert().values(row)))

    def end_run(self, run_id: int, status: str) -> None:
        stmt = (
            runs_table.update()
            .where(runs_table.c.id == run_id)
            .values(ended=time.time(), status=status)
        )
        with self._writing() as conn:
            conn.execute(stmt)

    # -- jobs

    def job_started(
        self,
        run_id: int,
        key: str,
        task: str,
        slot: str,
        def_hash: str,
        params: dict[str, Any],
        output_files: list[str],
        log: str,
        host: str,
        started: float,
        finished: Sequence[Finished] = (),
    ) -> int:
        """Record a job as running; returns its row id. The ends of
        ``finished`` jobs are recorded first, in the same transaction."""
        start = Started(key, task, slot, def_hash, params, output_files, log, host, started)
        return self.write_jobs(run_id, [start], finished)[0]

    def write_jobs(
        self, run_id: int, started: Sequence[Started], finished: Sequence[Finished] = ()
    ) -> list[int]:
        """In one transaction: the ends of ``finished`` jobs, then the rows of
        ``started`` jobs (running, or ended as their ``end`` says). Returns
        the new rows' ids, in order. Values are encoded before anything is
        written (``values.UnstorableValue``)."""
        done, failed = rowsof.end_rows(finished)
        rows = [rowsof.start_row(run_id, s) for s in started]
        # The ends of jobs whose start is written here: their row ids are
        # filled in once the rows exist.
        later = [(i, s.end) for i, s in enumerate(started) if s.end is not None]
        later_done, later_failed = rowsof.end_rows([end for _, end in later])
        later_rows = rowsof.by_position(later, later_done, later_failed)
        if self._lock is not None:  # an SQLite file
            values = [tuple(row.values()) for row in rows]

            def write(db: sqlite3.Connection) -> list[int]:
                sqlite_fast.record_ends(db, done, failed)
                ids = sqlite_fast.insert_jobs(db, values)
                jobimages.insert_sqlite(db, jobimages.rows(started, ids))
                sqlite_fast.record_ends(
                    db, *rowsof.with_ids(later_rows, ids, later_done, later_failed)
                )
                return ids

            return self._write_sqlite(write)
        with self._writing() as conn:
            _record(conn, done, failed)
            # A fixed statement with parameters compiles once; .values(row)
            # would build and hash a new statement for every job.
            ids = [_new_id(conn.execute(INSERT_JOB, row)) for row in rows]
            jobimages.insert(conn, jobimages.rows(started, ids))
            _record(conn, *rowsof.with_ids(later_rows, ids, later_done, later_failed))
            return ids

    def store_spec(self, row_id: int, spec: str) -> None:
        """Keep what a cluster job needs to run (see nodejob.py)."""
        with self._writing() as conn:
            conn.execute(specs_table.insert(), {"job_id": row_id, "spec": spec})

    def read_spec(self, row_id: int) -> str | None:
        with self._reading() as conn:
            return conn.execute(
                sa.select(specs_table.c.spec).where(specs_table.c.job_id == row_id)
            ).scalar()

    def node_finished(self, row_id: int, result: dict[str, Any]) -> None:
        """A cluster job's own report of how it ended (nodejob.py): its value
        outputs, error, exit status and measurements. The row stays
        ``running`` until the submitting outflow checks its files and
        records it done or failed."""
        row = rowsof.node_row(row_id, result)
        with self._writing() as conn:
            conn.execute(NODE_FINISHED, row)

    def node_result(self, row_id: int) -> dict[str, Any] | None:
        """What ``node_finished`` wrote, or None if the job never got there."""
        c = jobs_table.c
        stmt = sa.select(
            c.outputs, c.error, c.exit_status, c.cpu_seconds, c.peak_mem, c.host, c.ended,
            c.started,
        ).where(c.id == row_id)
        with self._reading() as conn:
            row = conn.execute(stmt).first()
        if row is None or row.ended is None:
            return None
        return {
            "values": valuecodec.decode(row.outputs) if row.outputs else {},
            "error": row.error,
            "exit_status": row.exit_status,
            "cpu_seconds": row.cpu_seconds,
            "peak_mem": row.peak_mem,
            "host": row.host,
            "ended": row.ended,
            "started": row.started,
        }

    # -- jobs on a cluster: their scheduler's ids (executors/cluster/adoption.py)

    def record_scheduled(self, items: Sequence[Scheduled]) -> None:
        """The scheduler's ids of jobs just submitted, in one transaction."""
        if not items:
            return
        if self._lock is not None:  # an SQLite file
            self._write_sqlite(lambda db: sqlite_fast.insert_scheduled(db, list(items)))
            return
        rows = [dict(zip(SCHEDULED_COLUMNS, _scheduled_values(s), strict=True)) for s in items]
        with self._writing() as conn:
            conn.execute(scheduled_table.insert(), rows)

    def scheduled(self, rows: list[int]) -> dict[int, Scheduled]:
        """The scheduler's ids of those of ``rows`` sent to a cluster."""
        c, j = scheduled_table.c, jobs_table.c
        found: dict[int, Scheduled] = {}
        with self._reading() as conn:
            for start in range(0, len(rows), 500):
                stmt = (
                    sa.select(*(c[n] for n in SCHEDULED_COLUMNS), j.ended.is_not(None), j.run_id)
                    .join(jobs_table, j.id == c.job_id)
                    .where(c.job_id.in_(rows[start : start + 500]))
                )
                found.update(
                    (r[0], Scheduled.read(r)) for r in conn.execute(stmt)
                )
        return found

    def images(self, rows: list[int]) -> dict[int, str]:
        """The image digest each of ``rows`` that ran in a container ran with."""
        return jobimages.read(self._reading, rows) if rows else {}

    def adopt(self, rows: list[int], run_id: int) -> None:
        """Jobs a dead run submitted, taken over by run ``run_id``: their rows
        become its own, and ``scheduled`` keeps the run they came from."""
        j, s = jobs_table.c, scheduled_table.c
        came_from = sa.select(j.run_id).where(j.id == s.job_id).scalar_subquery()
        with self._writing() as conn:
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                conn.execute(
                    scheduled_table.update()
                    .where(s.job_id.in_(chunk), s.adopted_from.is_(None))
                    .values(adopted_from=came_from)
                )
                conn.execute(jobs_table.update().where(j.id.in_(chunk)).values(run_id=run_id))

    def adopted(self, run_id: int) -> dict[int, int]:
        """The rows of run ``run_id`` it adopted, and the run each came from."""
        j, s = jobs_table.c, scheduled_table.c
        stmt = (
            sa.select(s.job_id, s.adopted_from)
            .join(jobs_table, j.id == s.job_id)
            .where(j.run_id == run_id, s.adopted_from.is_not(None))
        )
        with self._reading() as conn:
            return {int(row): int(came) for row, came in conn.execute(stmt)}

    def job_done(
        self,
        row_id: int,
        values: dict[str, Any],
        files: dict[str, Any],
        ended: float,
        exit_status: int | None = 0,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
    ) -> None:
        """Record a job's success; older completed records of its key are dropped.

        Raises ``values.UnstorableValue`` (before writing anything) for a value
        that cannot be stored.
        """
        self.record_many(
            [Finished(row_id, ended, values, files, None, exit_status, cpu_seconds, peak_mem)]
        )

    def job_failed(
        self,
        row_id: int,
        error: str,
        ended: float,
        exit_status: int | None = None,
        cpu_seconds: float | None = None,
        peak_mem: int | None = None,
    ) -> None:
        self.record_many(
            [Finished(row_id, ended, {}, {}, error, exit_status, cpu_seconds, peak_mem)]
        )

    def record_many(self, finished: Sequence[Finished]) -> None:
        """Record the ends of several jobs in one transaction (one commit)."""
        if not finished:
            return
        done, failed = rowsof.end_rows(finished)
        if self._lock is not None:  # an SQLite file
            self._write_sqlite(lambda db: sqlite_fast.record_ends(db, done, failed))
            return
        with self._writing() as conn:
            _record(conn, done, failed)

    def mark_interrupted(self, row_ids: list[int]) -> None:
        """Mark rows still ``running`` (left by a run that died) as interrupted."""
        if not row_ids:
            return
        with self._writing() as conn:
            for start in range(0, len(row_ids), 500):
                chunk = row_ids[start : start + 500]
                conn.execute(
                    jobs_table.update()
                    .where(jobs_table.c.id.in_(chunk), jobs_table.c.status == "running")
                    .values(status="interrupted")
                )

    def insert_done(self, run_id: int, touched: Sequence[Touched]) -> None:
        """Record jobs as done without running them (``--touch``), in one
        transaction: rows like those of a job that ran and made no values;
        older completed rows of the same keys are dropped."""
        if not touched:
            return
        rows = rowsof.touched_rows(run_id, touched)
        keys = sorted({t.key for t in touched})
        with self._writing() as conn:
            for start in range(0, len(keys), 500):
                conn.execute(
                    jobs_table.delete().where(
                        jobs_table.c.key.in_(keys[start : start + 500]),
                        jobs_table.c.status == "done",
                    )
                )
            conn.execute(jobs_table.insert(), rows)

    def forget(self, task: str) -> int:
        """Delete every record of ``task`` (results, failures, interruptions);
        returns how many. Rows still ``running`` stay: the next run removes
        the partial outputs they list (``project._clean_interrupted``)."""
        stmt = jobs_table.delete().where(
            jobs_table.c.task == task, jobs_table.c.status != "running"
        )
        with self._writing() as conn:
            return int(conn.execute(stmt).rowcount)

    # -- reading

    def load(self, tasks: Iterable[str] | None = None, state: bool = False) -> Snapshot:
        """Everything planning needs, in one SELECT, ordered by row id. With
        ``state``, also the summary of the jobs table it was read with (for
        the plan memo, plan/memo.py), in the same transaction."""
        stmt = sa.select(*RECORD_SELECT).order_by(jobs_table.c.id)
        if tasks is not None:
            stmt = stmt.where(jobs_table.c.task.in_(sorted(set(tasks))))
        with collector_paused(keep=True), self._snapshot_reading() as conn:
            snapshot = build_snapshot(conn.execute(stmt).all())
            if state:
                snapshot.state = self._state(conn)
        return snapshot

    def state(self) -> list[Any]:
        """The summary of the jobs table the plan memo compares (plan/memo.py)."""
        with self._snapshot_reading() as conn:
            return self._state(conn)

    def _state(self, conn: Connection) -> list[Any]:
        """``sqlite_fast.cache_state``, through SQLAlchemy."""
        jobs = jobs_table.c
        last, count = conn.execute(sa.select(sa.func.max(jobs.id), sa.func.count())).one()
        row = conn.execute(
            sa.select(jobs.key, jobs.status, jobs.started, jobs.ended).where(jobs.id == last)
        ).first()
        pairs = conn.execute(
            sa.select(meta_table.c.key, meta_table.c.value).order_by(meta_table.c.key)
        ).all()
        meta = ";".join(f"{k}={v}" for k, v in pairs)
        return [last, count, *(tuple(row) if row is not None else ()), meta]

    def durations(self) -> list[tuple[str, str, float]]:
        """``(slot, task, seconds)`` of every job that ran to the end, oldest first."""
        c = jobs_table.c
        stmt = (
            sa.select(c.slot, c.task, c.ended - c.started)
            .where(c.status == "done", c.ended.is_not(None))
            .order_by(c.id)
        )
        with self._reading() as conn:
            return [(slot, task, seconds) for slot, task, seconds in conn.execute(stmt)]

    @contextmanager
    def _snapshot_reading(self) -> Iterator[Connection]:
        """A read whose statements all see the database at one moment (what
        SQLite's read transaction does; PostgreSQL's default does not)."""
        with self._reading() as conn:
            if self._is_postgresql:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    def last_run(self) -> tuple[RunInfo, list[Record]] | None:
        """The latest run that ran jobs (not a ``--touch``), and its jobs in
        start order; None before any job ran."""
        ran = sa.select(sa.func.max(jobs_table.c.run_id)).where(
            jobs_table.c.run_id.in_(
                sa.select(runs_table.c.id).where(
                    sa.or_(runs_table.c.status.is_(None), runs_table.c.status != TOUCHED)
                )
            )
        )
        with self._reading() as conn:
            run_id = conn.execute(ran).scalar()
            if run_id is None:
                return None
            row = conn.execute(sa.select(runs_table).where(runs_table.c.id == run_id)).one()
            stmt = (
                sa.select(*RECORD_SELECT)
                .where(jobs_table.c.run_id == run_id)
                .order_by(jobs_table.c.started, jobs_table.c.id)
            )
            records = [Record(*r) for r in conn.execute(stmt)]
        info = RunInfo(
            id=int(row.id),
            started=row.started,
            ended=row.ended,
            host=row.host,
            argv=json.loads(row.argv),
            status=row.status,
        )
        return info, records

    def records_for(self, task: str) -> list[Record]:
        """Every row of ``task``, oldest first (for ``--show``)."""
        stmt = (
            sa.select(*RECORD_SELECT).where(jobs_table.c.task == task).order_by(jobs_table.c.id)
        )
        with self._reading() as conn:
            return [Record(*row) for row in conn.execute(stmt)]


def _first_line(e: sa_exc.DBAPIError) -> str:
    text = str(e.orig).strip()
    return text.splitlines()[0] if text else type(e.orig).__name__

def _scheduled_values(s: Scheduled) -> tuple[Any, ...]:
    return (s.row_id, s.scheduler, s.scheduler_id, s.array_index, s.name, s.adopted_from)


def _new_id(result: sa.CursorResult[Any]) -> int:
    """The id of the row an insert made."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _driver(conn: Connection) -> sqlite3.Connection:
    return conn.connection.driver_connection  # type: ignore[return-value]


def _record(conn: Connection, done: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
    if done:
        conn.execute(DELETE_OLDER_DONE, [{"row_id": r["row_id"]} for r in done])
        conn.execute(MARK_DONE, done)
    if failed:
        conn.execute(MARK_FAILED, failed)


def _sqlite_on_connect(timeout: float, wal: bool) -> Any:
    """Per-connection settings. Nothing here writes to the file: opening a
    foreign database must leave it untouched."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (BEGIN IMMEDIATE for writes); pysqlite's
        # implicit transactions would begin late and in the wrong mode.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if wal:
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    return on_connect
