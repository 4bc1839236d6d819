"""The result cache, against SQLite and PostgreSQL (``cache_url``)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from outflowfile.errors import UserError
from outflowfile.store.database import Cache
from outflowfile.store.location import filesystem_type, is_network_filesystem
from outflowfile.store.records import Finished
from outflowfile.valuecodec import UnstorableValue, digest


@pytest.fixture
def cache(tmp_path: Path, cache_url: str | None) -> Any:
    c = Cache.open(tmp_path, cache_url)
    yield c
    c.close()


def start(c: Cache, run: int, key: str, slot: str, task: str = "t", **kw: Any) -> int:
    args: dict[str, Any] = {
        "def_hash": "d1",
        "params": {"x": 1},
        "output_files": [],
        "log": f"logs/{slot}.log",
        "host": "node1",
        "started": time.time(),
    }
    args.update(kw)
    return c.job_started(run, key, task, slot, **args)


def finish(c: Cache, row: int, values: dict[str, Any] | None = None, **kw: Any) -> None:
    c.job_done(row, values or {}, kw.pop("files", {"in": {}, "out": {}}), time.time(), **kw)


# --- recording and loading ---------------------------------------------------------


def test_runs_and_jobs_are_recorded_and_loaded(cache: Cache) -> None:
    run = cache.begin_run(["outflow", "-j", "2"])
    files = {"in": {"a.txt": [1, 2, "ab" * 32]}, "out": {"b.txt": [3, 4, None]}}
    row = start(
        cache, run, "k1", "t/0", params={"x": (1, 2), "p": Path("a")}, output_files=["b.txt"]
    )
    cache.job_done(row, {"y": {1, 2}}, files, 123.5, 0, 1.25, 4096)
    cache.end_run(run, "done")

    snap = cache.load()
    rec = snap.by_key["k1"]
    assert snap.by_slot["t/0"] is rec and snap.running == []
    assert (rec.id, rec.run_id, rec.task, rec.slot, rec.def_hash) == (row, run, "t", "t/0", "d1")
    assert (rec.status, rec.host, rec.ended, rec.exit_status) == ("done", "node1", 123.5, 0)
    assert (rec.cpu_seconds, rec.peak_mem, rec.log, rec.error) == (1.25, 4096, "logs/t/0.log", None)
    assert rec.params == {"x": (1, 2), "p": Path("a")}
    assert rec.values == {"y": {1, 2}}
    assert rec.files == files
    assert rec.outputs_digest == digest({"y": {1, 2}})

    with cache.engine.connect() as conn:
        r = conn.execute(sa.text("SELECT argv, status, ended, pid FROM runs")).one()
    assert json.loads(r.argv) == ["outflow", "-j", "2"]
    assert r.status == "done" and r.ended is not None and r.pid == os.getpid()


def test_values_decode_lazily(cache: Cache) -> None:
    run = cache.begin_run([])
    finish(cache, start(cache, run, "k", "s"), {"v": 1})
    rec = cache.load().by_key["k"]
    assert (rec._params, rec._values, rec._files) == (None, None, None)
    assert rec.values == {"v": 1}
    assert rec._values == {"v": 1} and rec._params is None


def test_started_job_lists_its_declared_outputs(cache: Cache) -> None:
    run = cache.begin_run([])
    row = start(cache, run, "k", "s", output_files=["out/a.txt", "out/b.txt"])
    (rec,) = cache.load().running
    assert rec.id == row and rec.status == "running"
    assert rec.files == {"in": {}, "out": {"out/a.txt": None, "out/b.txt": None}}
    assert rec.values == {} and rec.outputs_digest is None


def test_one_done_row_per_key(cache: Cache) -> None:
    run = cache.begin_run([])
    first = start(cache, run, "k", "s")
    finish(cache, first, {"v": 1})
    failed = start(cache, run, "k", "s")
    cache.job_failed(failed, "Traceback ...", time.time(), 1, 0.5, 10)
    second = start(cache, run, "k", "s")
    finish(cache, second, {"v": 2})
    other = start(cache, run, "k2", "s2")
    finish(cache, other, {"v": 3})

    rows = cache.records_for("t")
    assert [(r.id, r.status) for r in rows] == [
        (failed, "failed"),
        (second, "done"),
        (other, "done"),
    ]
    assert rows[0].error == "Traceback ..." and rows[0].exit_status == 1
    snap = cache.load()
    assert snap.by_key["k"].id == second and snap.by_key["k"].values == {"v": 2}


def test_by_slot_is_the_latest_row_of_any_status(cache: Cache) -> None:
    run = cache.begin_run([])
    finish(cache, start(cache, run, "old-key", "s"), {"v": 1})
    failed = start(cache, run, "new-key", "s", def_hash="d2")
    cache.job_failed(failed, "boom", time.time())
    snap = cache.load()
    assert snap.by_slot["s"].id == failed and snap.by_slot["s"].status == "failed"
    assert snap.by_slot["s"].def_hash == "d2"
    assert snap.by_key["old-key"].values == {"v": 1}
    assert "new-key" not in snap.by_key


def test_load_by_task(cache: Cache) -> None:
    run = cache.begin_run([])
    for task in ("a", "b", "c"):
        finish(cache, start(cache, run, f"k{task}", f"s{task}", task=task))
    assert set(cache.load(["a", "c"]).by_key) == {"ka", "kc"}
    assert set(cache.load(iter(["b"])).by_key) == {"kb"}
    assert cache.load([]).by_key == {}
    assert set(cache.load().by_key) == {"ka", "kb", "kc"}


def test_mark_interrupted(cache: Cache) -> None:
    run = cache.begin_run([])
    rows = [start(cache, run, f"k{i}", f"s{i}") for i in range(3)]
    finish(cache, rows[2])
    cache.mark_interrupted([r.id for r in cache.load().running])
    snap = cache.load()
    assert snap.running == []
    assert [snap.by_slot[f"s{i}"].status for i in range(3)] == ["interrupted"] * 2 + ["done"]
    cache.mark_interrupted([rows[2]])  # only running rows change
    assert cache.load().by_slot["s2"].status == "done"


def test_forget(cache: Cache) -> None:
    run = cache.begin_run([])
    finish(cache, start(cache, run, "k1", "s1", task="a"))
    finish(cache, start(cache, run, "k2", "s2", task="a"))
    cache.job_failed(start(cache, run, "k3", "s3", task="a"), "x", time.time())
    finish(cache, start(cache, run, "k4", "s4", task="b"))
    still_running = start(cache, run, "k5", "s5", task="a")
    assert cache.forget("a") == 3
    assert set(cache.load().by_key) == {"k4"}
    assert [r.id for r in cache.records_for("a")] == [still_running]
    assert cache.forget("nothing") == 0


def test_record_many(cache: Cache) -> None:
    run = cache.begin_run([])
    rows = [start(cache, run, f"k{i}", f"s{i}") for i in range(4)]
    finish(cache, start(cache, run, "k0", "s0"), {"v": "old"})
    cache.record_many(
        [Finished(r, time.time(), {"v": i}) for i, r in enumerate(rows[:3])]
        + [Finished(rows[3], time.time(), error="killed", exit_status=-9)]
    )
    snap = cache.load()
    assert {k: r.values for k, r in snap.by_key.items()} == {f"k{i}": {"v": i} for i in range(3)}
    assert snap.by_slot["s3"].status == "failed" and snap.by_slot["s3"].exit_status == -9
    assert len(cache.records_for("t")) == 4  # the old done row of k0 is gone
    cache.record_many([])


def test_unstorable_output_writes_nothing(cache: Cache) -> None:
    run = cache.begin_run([])
    row = start(cache, run, "k", "s")
    with pytest.raises(UnstorableValue, match=r"\['f'\] is a function"):
        cache.job_done(row, {"f": lambda: 0}, {}, time.time())
    assert cache.load().running[0].id == row
    with pytest.raises(UnstorableValue):
        start(cache, run, "k2", "s2", params={"x": object()})
    assert len(cache.records_for("t")) == 1


def test_load_issues_exactly_one_select(cache: Cache) -> None:
    run = cache.begin_run([])
    for i in range(50):
        finish(cache, start(cache, run, f"k{i}", f"s{i}"), {"v": i})
    statements: list[str] = []

    @sa.event.listens_for(cache.engine, "before_cursor_execute")
    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    snap = cache.load()
    _ = [(r.values, r.params, r.files) for r in snap.by_key.values()]
    cache.load(["t"])
    data = [s for s in statements if s.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(data) == 2 and all(s.lstrip().upper().startswith("SELECT") for s in data)


def test_a_forked_child_writes_through_its_own_connections(cache: Cache) -> None:
    run = cache.begin_run([])
    finish(cache, start(cache, run, "parent-before", "a"))
    pid = os.fork()
    if pid == 0:  # the child: exit without running pytest's cleanup
        code = 0
        try:
            finish(cache, start(cache, run, "child", "b"))
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    finish(cache, start(cache, run, "parent-after", "c"))
    assert set(cache.load().by_key) == {"parent-before", "child", "parent-after"}


def test_reopening_keeps_everything(tmp_path: Path, cache_url: str | None) -> None:
    with Cache.open(tmp_path, cache_url) as c:
        finish(c, start(c, c.begin_run([]), "k", "s"), {"v": 1})
    with Cache.open(tmp_path, cache_url) as c:
        assert c.load().by_key["k"].values == {"v": 1}


# --- bad databases -------------------------------------------------------------------


def test_schema_version_mismatch(tmp_path: Path, cache_url: str | None) -> None:
    with Cache.open(tmp_path, cache_url) as c, c.engine.begin() as conn:
        conn.execute(sa.text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(UserError, match="schema version 99.*uses version 1") as info:
        Cache.open(tmp_path, cache_url)
    assert info.value.problems[0].hint


def test_foreign_tables_of_the_same_name(tmp_path: Path, cache_url: str | None) -> None:
    with Cache.open(tmp_path, cache_url) as c, c.engine.begin() as conn:
        for table in ("specs", "scheduled", "images", "meta", "jobs", "runs"):
            conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text("CREATE TABLE jobs (name TEXT)"))
    with pytest.raises(UserError, match="not an outflow cache"):
        Cache.open(tmp_path, cache_url)


def default_db(tmp_path: Path) -> Path:
    path = tmp_path / ".outflow" / "outflow.db"
    path.parent.mkdir(exist_ok=True)
    return path


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = default_db(tmp_path)
    data = b"name,value\n" + os.urandom(4096)
    path.write_bytes(data)
    with pytest.raises(UserError, match="not an outflow cache.*not an SQLite database"):
        Cache.open(tmp_path)
    assert path.read_bytes() == data


def test_an_sqlite_database_of_another_program(tmp_path: Path) -> None:
    path = default_db(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO photos (name) VALUES ('cat.jpg')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(UserError, match=r"not an outflow cache: it holds other tables \(photos\)"):
        Cache.open(tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith("outflow.db")) == [
        "outflow.db"
    ]


def test_an_empty_file_becomes_a_cache(tmp_path: Path) -> None:
    default_db(tmp_path).write_bytes(b"")
    with Cache.open(tmp_path) as c:
        assert c.load().by_key == {}


def test_unreachable_postgresql(tmp_path: Path) -> None:
    url = "postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere"
    with pytest.raises(UserError) as info:
        Cache.open(tmp_path, url, timeout=3)
    text = str(info.value)
    assert "127.0.0.1:1" in text and "s3cret-pw" not in text
    assert "server is running" in text


def test_url_forms(tmp_path: Path) -> None:
    with Cache.open(tmp_path) as c:
        assert Path(c.engine.url.database) == tmp_path / ".outflow" / "outflow.db"
    with Cache.open(tmp_path, "other.db") as c:
        assert Path(c.engine.url.database) == tmp_path / "other.db"
    with Cache.open(tmp_path, f"sqlite:///{tmp_path}/abs.db") as c:
        assert Path(c.engine.url.database) == tmp_path / "abs.db"
    with pytest.raises(UserError, match="not a database URL"):
        Cache.open(tmp_path, "postgresql://host:notaport/db")
    with pytest.raises(UserError, match="cannot use the cache database"):
        Cache.open(tmp_path, "nosuchdialect://x/y")
    with pytest.raises(UserError, match="cannot use the cache database"):
        Cache.open(tmp_path, f"sqlite:///{tmp_path}/no/such/dir/x.db")


def test_a_postgresql_database_shared_with_other_tables(tmp_path: Path, pg_url: str) -> None:
    """Unlike an SQLite file, a server database may hold other applications' tables."""
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE photos (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with Cache.open(tmp_path, pg_url) as c:
        finish(c, start(c, c.begin_run([]), "k", "s"))
        assert set(c.load().by_key) == {"k"}


def test_postgresql_url_uses_psycopg_3(tmp_path: Path, pg_url: str) -> None:
    assert pg_url.startswith("postgresql://")
    with Cache.open(tmp_path, pg_url) as c:
        assert c.engine.url.drivername == "postgresql+psycopg"
        assert c.engine.dialect.driver == "psycopg"


# --- SQLite specifics ---------------------------------------------------------------


def test_sqlite_uses_wal_on_a_local_disk(tmp_path: Path) -> None:
    assert not is_network_filesystem(filesystem_type(tmp_path))
    with Cache.open(tmp_path) as c, c.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


@pytest.mark.parametrize(
    "fstype, network",
    [
        ("nfs", True),
        ("nfs4", True),
        ("lustre", True),
        ("gpfs", True),
        ("cifs", True),
        ("smb3", True),
        ("beegfs", True),
        ("ceph", True),
        ("fuse.sshfs", True),
        ("fuse.glusterfs", True),
        ("ext4", False),
        ("xfs", False),
        ("btrfs", False),
        ("tmpfs", False),
        ("overlay", False),
    ],
)
def test_network_filesystems(fstype: str, network: bool) -> None:
    assert is_network_filesystem(fstype) is network


def test_sqlite_on_a_network_filesystem_uses_the_rollback_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Cache.open(tmp_path).close()  # made in WAL mode on the local disk
    monkeypatch.setattr("outflowfile.store.database.filesystem_type", lambda path: "nfs4")
    with Cache.open(tmp_path) as c, c.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        finish(c, start(c, c.begin_run([]), "k", "s"))
    assert not Path(f"{default_db(tmp_path)}-wal").exists()


def run_python(code: str, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
        **kw,
    )


HOLD_SQLITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


def test_a_locked_sqlite_database(tmp_path: Path) -> None:
    Cache.open(tmp_path).close()
    holder = run_python(HOLD_SQLITE_LOCK, str(default_db(tmp_path)))
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(UserError, match="is locked by another process"):
            with Cache.open(tmp_path, timeout=0.5) as c:
                c.begin_run([])
    finally:
        holder.kill()
        holder.wait()


def test_a_held_writer_lock(tmp_path: Path) -> None:
    import filelock

    with Cache.open(tmp_path, timeout=0.3) as c:
        with filelock.FileLock(f"{default_db(tmp_path)}.lock"):
            # Another thread's (or process's) lock: filelock is per thread.
            import threading

            errors: list[BaseException] = []

            def write() -> None:
                try:
                    c.begin_run([])
                except BaseException as e:
                    errors.append(e)

            t = threading.Thread(target=write)
            t.start()
            t.join()
        assert isinstance(errors[0], UserError) and "locked" in str(errors[0])
        c.begin_run([])  # fine once released


# --- crashes and concurrency (real processes) -------------------------------------

WRITER = """
import sys, time
from pathlib import Path
from outflowfile.store.database import Cache
project, url, name, count, start_at = sys.argv[1:6]
cache = Cache.open(Path(project), url or None)
run = cache.begin_run(["writer", name])
while time.time() < float(start_at):
    time.sleep(0.005)
for i in range(int(count)):
    key = f"{name}-{i}"
    row = cache.job_started(run, key, "w", key, "d", {"i": i}, [f"out/{key}"], "", "h", time.time())
    if name == "crash" and i == int(count) - 1:
        print("started", row, flush=True)
        time.sleep(60)
    cache.job_done(row, {"i": i, "name": name}, {"in": {}, "out": {}}, time.time(), 0, 0.0, 1)
    print("done", row, flush=True)
cache.end_run(run, "done")
"""


def writer(tmp_path: Path, url: str | None, name: str, count: int, start_at: float = 0.0) -> Any:
    return run_python(WRITER, str(tmp_path), url or "", name, str(count), str(start_at))


def test_a_killed_run_leaves_its_running_row(
    tmp_path: Path, cache: Cache, cache_url: str | None
) -> None:
    proc = writer(tmp_path, cache_url, "crash", 3)
    assert proc.stdout is not None
    lines = [proc.stdout.readline().split() for _ in range(3)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [word for word, _ in lines] == ["done", "done", "started"]
    snap = cache.load()
    (running,) = snap.running
    assert running.id == int(lines[2][1]) and running.slot == "crash-2"
    assert running.files["out"] == {"out/crash-2": None}
    assert {"crash-0", "crash-1"} <= set(snap.by_key)


def test_committed_jobs_survive_kill_9(tmp_path: Path, cache: Cache, cache_url: str | None) -> None:
    proc = writer(tmp_path, cache_url, "busy", 100_000)
    assert proc.stdout is not None
    reported = [int(proc.stdout.readline().split()[1]) for _ in range(40)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {r.id for r in cache.load().by_key.values()}
    assert set(reported) <= done
    assert len(cache.load().running) <= 1  # at most the job it was writing


def test_concurrent_writers_lose_nothing(
    tmp_path: Path, cache: Cache, cache_url: str | None
) -> None:
    processes = 8 if cache_url is None else 32
    per_process = 200
    start_at = time.time() + 2.0  # all imported and connected, then all at once
    procs = [writer(tmp_path, cache_url, f"p{n}", per_process, start_at) for n in range(processes)]
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        assert out.count("done") == per_process
    snap = cache.load()
    assert len(snap.by_key) == processes * per_process and snap.running == []
    for n in range(processes):
        for i in (0, per_process - 1):
            assert snap.by_key[f"p{n}-{i}"].values == {"i": i, "name": f"p{n}"}
    with cache.engine.connect() as conn:
        ended = conn.execute(sa.text("SELECT count(*) FROM runs WHERE status = 'done'")).scalar()
    assert ended == processes


OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from outflowfile.store.database import Cache
project, url, name, start_at = sys.argv[1:5]
while time.time() < float(start_at):
    time.sleep(0.002)
with Cache.open(Path(project), url or None) as cache:
    row = cache.job_started(cache.begin_run([]), name, "t", name, "d", {}, [], "", "h", 0.0)
    cache.job_done(row, {}, {}, 1.0)
"""


def test_many_processes_create_a_new_cache_at_once(tmp_path: Path, cache_url: str | None) -> None:
    start_at = time.time() + 2.0
    procs = [
        run_python(OPEN_AT_ONCE, str(tmp_path), cache_url or "", f"p{n}", str(start_at))
        for n in range(8)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    with Cache.open(tmp_path, cache_url) as c:
        assert set(c.load().by_key) == {f"p{n}" for n in range(8)}


# --- many rows -----------------------------------------------------------------------
# (How fast they load, against sqlite3 alone, is timed in benchmarks/bench_scale.py:
# no test asserts on wall time.)


def test_load_100k_rows(tmp_path: Path) -> None:
    n = 100_000
    with Cache.open(tmp_path) as c:
        fill(c, n)
        snapshot = c.load()
    assert len(snapshot.by_key) == n
    last = snapshot.by_key[f"{n - 1:040x}"]
    assert (last.task, last.host, last.peak_mem) == (f"task{(n - 1) % 10}", "node1", 123456)


def fill(c: Cache, n: int) -> None:
    """n completed jobs, inserted in one transaction (the setup, not under test)."""
    from outflowfile.store.tables import jobs_table

    run = c.begin_run(["fill"])
    rows = [
        {
            "run_id": run, "key": f"{i:040x}", "task": f"task{i % 10}",
            "slot": f"task{i % 10}/{i}", "def_hash": "d" * 32,
            "params": f'{{"multiplier":2,"raw_data":{i}}}', "status": "done",
            "started": 1.0, "ended": 2.0, "host": "node1", "exit_status": 0,
            "cpu_seconds": 0.5, "peak_mem": 123456, "outputs": f'{{"transformed":{i}}}',
            "files": f'{{"in":{{}},"out":{{"out/{i}.txt":[1700000000000000000,42,null]}}}}',
            "error": None, "log": f"logs/{i}.log",
        }
        for i in range(n)
    ]  # fmt: skip
    with c.engine.begin() as conn:
        conn.execute(jobs_table.insert(), rows)
