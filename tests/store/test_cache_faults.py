"""The cache database misbehaving, through the ``outflow`` command: garbage,
foreign, damaged or newer files at the cache path, a writer holding SQLite's
lock, a read-only cache, an unreachable PostgreSQL. Each must give a clear
message and exit status 2, never a traceback, and leave files as they were.

A no-op run reads the default SQLite cache with the standard library
(``snapshot.py``) and opens SQLAlchemy only when a job starts
(``recorder.py``): both paths are caused to fail here."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from faults import alive, kill_all, read_pids, wait_for
from outflowtest import cache_rows, lines, make_project, outflow, outflow_command

SMALL = """
config:
    items: list = [1, 2, 3]

task small(item: int):
    output: out = "small/{item}.txt"
    shell: "echo {item} >> ran.log; echo {item} > {output.out}"

workflow all:
    map(items -> item) { small }
"""


def _db(project: Path) -> Path:
    return project / ".outflow" / "outflow.db"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clean_failure(proc: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for text in expected:
        assert text in proc.stderr, proc.stderr


def _refused_on_every_path(project: Path, *expected: str) -> None:
    """A dry run, a run and a forced run all refuse the cache and change nothing."""
    db = _db(project)
    before = _digest(db)
    for args in (["-n"], [], ["-F"]):
        _clean_failure(outflow(project, *args, check=None), *expected)
    assert _digest(db) == before
    assert not (project / "ran.log").exists()


def test_garbage_at_the_cache_path(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    _db(p).parent.mkdir()
    _db(p).write_bytes(bytes(range(256)) * 40)
    _refused_on_every_path(p, "is not an outflow cache (it is not an SQLite database)",
                           "move that file away")


def test_a_foreign_sqlite_database(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    _db(p).parent.mkdir()
    con = sqlite3.connect(_db(p))
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    _refused_on_every_path(p, "is not an outflow cache: it holds other tables (notes)")


def test_a_cache_of_another_schema_version(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    con = sqlite3.connect(_db(p))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    _refused_on_every_path(p, "has schema version 99, and this outflow uses version 1")


def _overwrite_page(db: Path, name: str) -> None:
    """Put garbage in the root page of table or index ``name``."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
    con.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xa5" * page_size)


def test_a_damaged_cache(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    _overwrite_page(_db(p), "jobs")
    _refused_on_every_path(p, "is damaged (database disk image is malformed)", ".recover")


def test_damage_found_only_when_a_job_starts(tmp_path: Path) -> None:
    # The planning read scans jobs by row id and never reads the damaged
    # index; the first write (through SQLAlchemy) does.
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    _overwrite_page(_db(p), "ix_jobs_key")
    assert "Nothing to do" in outflow(p, "-n").stdout
    assert "3 up to date" in outflow(p).stdout
    (p / "small" / "1.txt").unlink()
    proc = outflow(p, check=None)
    _clean_failure(proc, "is damaged (database disk image is malformed)")
    assert not (p / "ran.log").exists()
    assert sorted(f.name for f in (p / "small").iterdir()) == ["2.txt", "3.txt"]


def test_a_read_only_cache_file_stops_only_runs_that_must_write(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    if subprocess.run(["chattr", "+i", str(_db(p))], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this filesystem (tmp_path)")
    try:
        assert "3 up to date" in outflow(p).stdout  # a no-op writes nothing
        proc = outflow(p, "-F", check=None)
        _clean_failure(proc, "attempt to write a readonly database")
        # The cache could not be told, so nothing was touched: old outputs stay.
        assert [lines(p / "small" / f"{i}.txt") for i in (1, 2, 3)] == [["1"], ["2"], ["3"]]
        assert not (p / "ran.log").exists()
    finally:
        subprocess.run(["chattr", "-i", str(_db(p))], check=True)


_HOLDER = textwrap.dedent("""
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("BEGIN IMMEDIATE")   # SQLite's write lock, as any writer takes it
    print("locked", flush=True)
    sys.stdin.read()                 # until the test closes our stdin
    con.execute("ROLLBACK")
""")


class LockHolder:
    """Another process holding the SQLite cache's write lock."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db)], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.proc.stdin is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def test_a_locked_cache_fails_clearly_after_the_wait(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    holder = LockHolder(_db(p))
    try:
        # Readers are not blocked by a writer: planning and no-op runs work.
        assert "Nothing to do" in outflow(p, "-n").stdout
        assert "3 up to date" in outflow(p).stdout
        proc = outflow(p, "-F", check=None, env={"OUTFLOW_DB_TIMEOUT": "0.5"})
    finally:
        holder.release()
    _clean_failure(proc, "is locked by another process", "fuser")
    assert [lines(p / "small" / f"{i}.txt") for i in (1, 2, 3)] == [["1"], ["2"], ["3"]]
    assert not (p / "ran.log").exists()
    assert cache_rows(p, "select status from runs") == [("done",)]


def test_a_briefly_locked_cache_is_waited_for(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    holder = LockHolder(_db(p))
    run = subprocess.Popen(outflow_command() + ["-F"], cwd=p, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # It gets as far as its first write, then waits: no job starts.
        wait_for(lambda: _has_open(run.pid, _db(p)), what="outflow to open the cache", proc=run)
        time.sleep(1.0)
        assert run.poll() is None and not (p / "ran.log").exists()
    finally:
        holder.release()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert sorted(lines(p / "ran.log")) == ["1", "2", "3"]


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(Path(f.path) == path for f in psutil.Process(pid).open_files())
    except psutil.Error:
        return False


MID_RUN = """
config:
    items: list = [1, 2]

task first():
    output: first = "first.txt"
    shell: '''echo partial > {output.first}
              while [ ! -e go ]; do sleep 0.05; done'''

task slow():
    output: slow = "slow.txt"
    shell: '''echo partial > {output.slow}
              sleep 300 & echo $! $$ > slow.pids; wait'''

workflow all:
    (first, slow)
"""


def test_cache_locked_in_the_middle_of_a_run(tmp_path: Path) -> None:
    # Both jobs run; another process takes the write lock; the first job
    # ends and cannot be recorded. outflow stops the other job, removes its
    # partial output and says why.
    p = make_project(tmp_path, MID_RUN)
    env = dict(os.environ, OUTFLOW_DB_TIMEOUT="0.5")
    env.pop("OUTFLOW_DB", None)
    run = subprocess.Popen(outflow_command() + ["-j", "2"], cwd=p, text=True, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pids: list[int] = []
    holder = None
    try:
        wait_for(lambda: (p / "first.txt").exists() and (p / "slow.pids").exists()
                 and len((p / "slow.pids").read_text().split()) == 2, what="both jobs running",
                 proc=run)
        pids = read_pids([p / "slow.pids"])
        holder = LockHolder(_db(p))
        (p / "go").touch()
        _, err = run.communicate(timeout=60)
    finally:
        if holder is not None:
            holder.release()
        run.kill()
        kill_all(pids)
    assert run.returncode == 2, err
    assert "is locked by another process" in err and "Traceback" not in err
    assert not (p / "slow.txt").exists()
    wait_for(lambda: not alive(pids), timeout=30, what="the slow job's processes to end")
    # The next run finds both jobs incomplete and runs them again.
    (p / "Outflowfile").write_text(MID_RUN.replace("sleep 300 & ", "sleep 0 & "))
    proc = outflow(p, "-j", "2")
    assert "2 jobs were left incomplete by an interrupted run" in proc.stdout
    assert (p / "slow.txt").read_text() == "partial\n"


def test_a_bad_lock_timeout_is_a_usage_error(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    proc = outflow(p, check=None, env={"OUTFLOW_DB_TIMEOUT": "soon"})
    _clean_failure(proc, "OUTFLOW_DB_TIMEOUT=soon: expected a number of seconds")


def test_an_unreachable_postgresql(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    url = "postgresql://outflow:secret@127.0.0.1:1/x"
    for args in (["-n"], []):
        proc = outflow(p, *args, "--db", url, check=None)
        _clean_failure(proc, "cannot connect to the cache database at 127.0.0.1:1",
                       "check that the server is running")
        assert "secret" not in proc.stderr
    proc = outflow(p, check=None, env={"OUTFLOW_DB": url})
    _clean_failure(proc, "127.0.0.1:1")
    assert not (p / "ran.log").exists() and not (p / "small").exists()


def test_sigkill_while_waiting_for_the_lock_loses_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, SMALL)
    outflow(p)
    (p / "ran.log").unlink()
    holder = LockHolder(_db(p))
    run = subprocess.Popen(outflow_command() + ["-F"], cwd=p, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _has_open(run.pid, _db(p)), what="outflow to open the cache", proc=run)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        holder.release()
    assert "3 up to date" in outflow(p).stdout
    assert not (p / "ran.log").exists()


def test_two_projects_writing_one_sqlite_cache_at_once(tmp_path: Path) -> None:
    # Each run holds only its own project's lock and, as the only writer it
    # knows of, skips the per-write file lock: SQLite's own locking must
    # still keep both runs' results.
    shared = tmp_path / "shared.db"
    projects = [make_project(tmp_path / name, SMALL.replace("[1, 2, 3]", repr(list(items))))
                for name, items in (("a", range(60)), ("b", range(100, 160)))]
    runs = [subprocess.Popen(outflow_command() + ["-j", "2", "-q", "--db", str(shared)], cwd=p,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for p in projects]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    con = sqlite3.connect(shared)
    try:
        assert con.execute("select count(*), count(distinct key) from jobs "
                           "where status = 'done'").fetchone() == (120, 120)
        assert con.execute("select status from runs").fetchall() == [("done",), ("done",)]
    finally:
        con.close()
    for p in projects:
        assert "60 up to date" in outflow(p, "--db", str(shared)).stdout
