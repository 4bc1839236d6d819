"""The planning read of the cache without SQLAlchemy (snapshot.read_sqlite)
agrees with Cache.load, and gives way to Cache for anything unusual."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from outflowtest import cache_rows, make_project, outflow

from outflowfile.store.database import Cache
from outflowfile.store.sqlite_fast import read_sqlite


def _fill(project: Path) -> Path:
    cache = Cache.open(project)
    run = cache.begin_run(["test"])
    for i in range(5):
        row = cache.job_started(run, f"k{i % 3}", "t", f"s{i}", "d", {"i": i}, [f"o{i}"], "l",
                                "h", time.time())
        if i < 4:
            cache.job_done(row, {"v": [i, (i,)]}, {"in": {}, "out": {f"o{i}": [1, 2, None]}},
                           time.time())
    cache.close()
    return project / ".outflow" / "outflow.db"


def test_same_snapshot_as_cache_load(tmp_path: Path) -> None:
    db = _fill(tmp_path)
    fast = read_sqlite(db)
    cache = Cache.open(tmp_path)
    slow = cache.load()
    cache.close()
    assert fast is not None
    assert sorted(fast.by_key) == sorted(slow.by_key) == ["k0", "k1", "k2"]
    assert {k: r.id for k, r in fast.by_slot.items()} == {k: r.id for k, r in slow.by_slot.items()}
    assert [r.id for r in fast.running] == [r.id for r in slow.running] == [5]
    assert fast.by_key["k0"].values == slow.by_key["k0"].values == {"v": [3, (3,)]}
    assert fast.by_slot["s4"].files == {"in": {}, "out": {"o4": None}}


def test_missing_file_is_an_empty_snapshot_and_stays_missing(tmp_path: Path) -> None:
    db = tmp_path / "nothing.db"
    snap = read_sqlite(db)
    assert snap is not None and not snap.by_key and not snap.running
    assert not db.exists()


def test_anything_unusual_gives_way_to_cache(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    foreign.write_bytes(b"this is not a database at all" * 100)
    assert read_sqlite(foreign) is None
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("create table meta (key text, value text)")
    con.execute("insert into meta values ('schema_version', '99'), ('application', 'outflow')")
    con.commit()
    con.close()
    assert read_sqlite(other) is None


def test_noop_and_dry_runs_write_nothing(tmp_path: Path) -> None:
    p = make_project(tmp_path, """
        task make():
            output: out = "made.txt"
            shell: "touch {output.out}"
        workflow all:
            make
    """)
    outflow(p, "-n")
    assert not (p / ".outflow" / "outflow.db").exists()
    outflow(p)
    assert cache_rows(p, "select count(*) from runs") == [(1,)]
    outflow(p)
    outflow(p, "-n")
    assert cache_rows(p, "select count(*) from runs") == [(1,)]
    (p / "made.txt").unlink()
    outflow(p)
    assert cache_rows(p, "select count(*) from runs") == [(2,)]


def test_latest_record_of_a_slot_is_read_as_of_the_snapshot(tmp_path: Path) -> None:
    db = _fill(tmp_path)
    fast = read_sqlite(db)
    assert fast is not None
    cache = Cache.open(tmp_path)
    run = cache.begin_run(["test"])
    later = cache.job_started(run, "k9", "t", "s1", "d2", {}, [], "l", "h", time.time())
    cache.close()
    # by_slot is read when first asked for, from the rows the snapshot saw.
    assert fast.by_slot["s1"].id == 2 and fast.by_slot["s1"].def_hash == "d"
    assert later not in {r.id for r in fast.by_slot.values()}
    assert fast.by_key["k0"].status == "done" and fast.by_key["k0"].id == 4
