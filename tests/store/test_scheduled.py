"""The scheduler's ids of cluster jobs (``scheduled``): written and read back
the same through SQLAlchemy and the standard driver, on SQLite and
PostgreSQL; adopting a row moves it to the adopting run; and a cache made
before the table existed gets it when outflow opens it, its records kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from outflowtest import cache_rows, make_project, outflow

from outflowfile.store.database import Cache
from outflowfile.store.door import open_store
from outflowfile.store.records import Scheduled, Started
from outflowfile.store.sqlite_fast import read_scheduled


def _start(cache: Cache, run: int, key: str) -> int:
    started = Started(key, "nap", f"nap {key}", "d" * 64, {"item": key}, [f"{key}.txt"],
                      "log", "host", 1.0)
    return cache.write_jobs(run, [started])[0]


def test_ids_are_written_read_and_adopted(tmp_path: Path, cache_url: str | None) -> None:
    with Cache.open(tmp_path, cache_url) as cache:
        run = cache.begin_run(["outflow"])
        a, b, c = (_start(cache, run, k) for k in "abc")
        cache.record_scheduled([
            Scheduled(a, "slurm", "77_1", 1, "outflow-9"),
            Scheduled(b, "slurm", "77_2", 2, "outflow-9"),
        ])  # fmt: skip
        cache.node_finished(b, {"values": {}, "ended": 5.0, "started": 2.0})
        found = cache.scheduled([a, b, c])
        assert sorted(found) == [a, b]
        assert found[a] == Scheduled(a, "slurm", "77_1", 1, "outflow-9", None, False, run)
        assert found[b].reported and not found[a].reported
        # The node's start replaces the row's (when it was submitted).
        assert cache.node_result(b)["started"] == 2.0  # type: ignore[index]
        later = cache.begin_run(["outflow"])
        cache.adopt([a], later)
        assert cache.adopted(later) == {a: run}
        assert cache.scheduled([a])[a].run_id == later
        assert cache.adopted(run) == {}
    store = open_store(tmp_path, cache_url)
    assert store.scheduled([a, b, c])[a].adopted_from == run


def test_fast_path_and_sqlalchemy_agree(tmp_path: Path) -> None:
    with Cache.open(tmp_path) as cache:
        run = cache.begin_run(["outflow"])
        rows = [_start(cache, run, k) for k in "abcd"]
        cache.record_scheduled([Scheduled(r, "sge", f"5.{i}", i, "outflow-3")
                                for i, r in enumerate(rows[:3], 1)])
        cache.node_finished(rows[1], {"values": {}, "ended": 5.0})
        cache.adopt([rows[2]], cache.begin_run(["outflow"]))
        slow = cache.scheduled(rows)
    fast = read_scheduled(tmp_path / ".outflow" / "outflow.db", rows)
    assert fast == slow and len(fast) == 3


ONE = """
task one():
    output: out = "one.txt"
    shell: "echo 1 > {output.out}"

workflow all:
    one
"""


def test_a_cache_made_before_the_table_gets_it_and_keeps_its_records(tmp_path: Path) -> None:
    p = make_project(tmp_path, ONE)
    outflow(p)
    db = p / ".outflow" / "outflow.db"
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE scheduled")
    con.close()
    before = cache_rows(p, "SELECT id, key, status, outputs, files FROM jobs")
    # Read without the table: nothing scheduled, no error.
    assert read_scheduled(db, [r[0] for r in before]) == {}
    assert "every job is up to date" in outflow(p, "-n").stdout
    (p / "one.txt").unlink()
    assert "1 ran" in outflow(p).stdout
    tables = {r[0] for r in cache_rows(p, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "scheduled" in tables
    assert cache_rows(p, "SELECT count(*) FROM jobs WHERE status = 'done'") == [(1,)]
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("scheduled")}
    engine.dispose()
    assert columns == {"job_id", "scheduler", "scheduler_id", "array_index", "name",
                       "adopted_from"}
