"""The one door to the cache (store/door.py): the standard library's fast
path and SQLAlchemy give the same answers for the same database, and the
door picks the way from the URL alone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from outflowfile.store.database import Cache
from outflowfile.store.door import SqlReader, open_store
from outflowfile.store.records import Record
from outflowfile.store.schema import RECORD_COLUMNS
from outflowfile.store.snapshot import Snapshot
from outflowfile.store.sqlite_fast import SqliteReader


class Refuses:
    """A fallback the fast path must not need."""

    def snapshot(self, full: bool = False) -> Snapshot:
        raise AssertionError("the fast path gave way")

    def snapshot_at(self, state: list[Any]) -> Snapshot:
        raise AssertionError("the fast path gave way")

    def state(self) -> list[Any] | None:
        raise AssertionError("the fast path gave way")

    def durations(self) -> list[tuple[str, str, float]]:
        raise AssertionError("the fast path gave way")

    def might_have_records(self) -> bool:
        raise AssertionError("the fast path gave way")


def _fill(project: Path) -> Path:
    """A cache with every kind of row: done (a key done twice), failed,
    interrupted, and left running."""
    cache = Cache.open(project)
    run = cache.begin_run(["test"])
    t = time.time()
    for i in range(8):
        row = cache.job_started(run, f"k{i % 5}", f"t{i % 2}", f"s{i % 6}", f"d{i}",
                                {"i": i, "p": (i, "x")}, [f"o{i}"], f"logs/{i}", "h", t + i)
        if i < 4:
            # A directory's or a link's stamp: a 63-bit digest for its size.
            files = {"in": {"a": [1, 2, "ab"], "d": [5, 2**63 - 1 - i, None]},
                     "out": {f"o{i}": [3, 4, None]}}
            if i == 2:  # the directories outflow made for the outputs (run/madedirs.py)
                files["out_dirs"] = ["d", "d/e"]
            cache.job_done(row, {"v": [i, {i}]}, files, t + i + 0.5, 0, 0.25 * i, 1024 * i)
        elif i == 4:
            cache.job_failed(row, "boom", t + i + 1, 3)
        elif i == 5:
            cache.mark_interrupted([row])
    cache.end_run(run, "done")
    cache.close()
    return project / ".outflow" / "outflow.db"


def _row(r: Record) -> tuple[Any, ...]:
    names = [n if n not in ("params", "outputs", "files") else f"{n}_text" for n in RECORD_COLUMNS]
    return tuple(getattr(r, n) for n in names)


def _result(r: Any) -> tuple[Any, ...]:
    return (r.id, r.key, r.status, r.values, r.files, r.outputs_digest)


@pytest.fixture
def readers(tmp_path: Path) -> tuple[SqliteReader, SqlReader, SqlReader]:
    db = _fill(tmp_path)
    return SqliteReader(db, Refuses()), SqlReader(tmp_path, None), SqlReader(tmp_path, f"sqlite:///{db}")


def test_full_snapshots_are_the_same(readers: tuple[SqliteReader, SqlReader, SqlReader]) -> None:
    fast, *slow = readers
    a = fast.snapshot(full=True)
    for reader in slow:
        b = reader.snapshot(full=True)
        assert a.state == b.state and a.state is not None
        assert {k: _row(r) for k, r in a.by_key.items()} == {
            k: _row(r) for k, r in b.by_key.items()
        }
        assert {k: _row(r) for k, r in a.by_slot.items()} == {
            k: _row(r) for k, r in b.by_slot.items()
        }
        assert [_row(r) for r in a.running] == [_row(r) for r in b.running]
        assert [r.params for r in a.by_slot.values()] == [r.params for r in b.by_slot.values()]


def test_planning_snapshots_agree(readers: tuple[SqliteReader, SqlReader, SqlReader]) -> None:
    fast, slow, _ = readers
    a, b = fast.snapshot(), slow.snapshot()
    assert a.state == b.state
    assert sorted(a.by_key) == sorted(b.by_key) == ["k0", "k1", "k2", "k3"]
    assert {k: _result(r) for k, r in a.by_key.items()} == {
        k: _result(r) for k, r in b.by_key.items()
    }
    assert {k: (r.id, r.status, r.params, r.files) for k, r in a.by_slot.items()} == {
        k: (r.id, r.status, r.params, r.files) for k, r in b.by_slot.items()
    }
    assert [r.id for r in a.running] == [r.id for r in b.running] == [7, 8]
    # The directories outflow made for a job's outputs come back from both.
    assert a.by_key["k2"].files["out_dirs"] == b.by_key["k2"].files["out_dirs"] == ["d", "d/e"]


def test_snapshot_at_a_state_reads_the_same_records(
    readers: tuple[SqliteReader, SqlReader, SqlReader],
) -> None:
    fast, slow, _ = readers
    state = fast.state()
    assert state is not None and state == slow.state()
    a, b = fast.snapshot_at(state), slow.snapshot_at(state)
    assert a.state == b.state == state
    for key in ("k0", "k1", "k2", "k3", "k4", "nothing"):
        found, wanted = a.by_key.get(key), b.by_key.get(key)
        assert (found and _result(found)) == (wanted and _result(wanted))
    for slot in ("s0", "s3", "s5", "nothing"):
        found, wanted = a.by_slot.get(slot), b.by_slot.get(slot)
        assert (found and found.id) == (wanted and wanted.id)


def test_state_and_durations_are_the_same(
    readers: tuple[SqliteReader, SqlReader, SqlReader],
) -> None:
    fast, *slow = readers
    for reader in slow:
        assert fast.state() == reader.state()
        assert fast.durations() == reader.durations()
    assert [slot for slot, _, _ in fast.durations()] == ["s0", "s1", "s2", "s3"]
    assert fast.might_have_records() and slow[0].might_have_records()


def test_the_door_picks_the_way_from_the_url(tmp_path: Path) -> None:
    db = _fill(tmp_path)
    own, other = open_store(tmp_path, None), open_store(tmp_path, f"sqlite:///{db}")
    assert isinstance(own.reader, SqliteReader) and isinstance(other.reader, SqlReader)
    assert own.name == "" and other.name == f"sqlite:///{db}"
    assert own.state() == other.state()
    a, b = own.snapshot(), other.snapshot()
    assert own.durations(a) == other.durations(b) == SqliteReader(db, Refuses()).durations()


def test_a_missing_own_file_is_empty_and_not_made(tmp_path: Path) -> None:
    store = open_store(tmp_path, None)
    assert not store.exists() and store.state() is None and not store.might_have_records()
    snap = store.snapshot()
    assert not snap.by_key and not snap.running and store.durations(snap) == []
    assert not (tmp_path / ".outflow").exists()


def test_a_foreign_own_file_goes_to_sqlalchemy_which_explains(tmp_path: Path) -> None:
    from outflowfile.errors import UserError

    db = tmp_path / ".outflow" / "outflow.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(UserError):
        open_store(tmp_path, None).snapshot()


# --- a node job's way in (door.open_node_store) -----------------------------------

NODE_REPORT = {
    "values": {"y": [1, 2.5, "é"], "n": None}, "error": "boom\nline 2", "exit_status": 3,
    "cpu_seconds": 0.125, "peak_mem": 2**40 + 1, "host": "node-7", "ended": 1765000000.25,
    "started": 1764999999.5,
}


def _node_row(project: Path, url: str | None) -> int:
    cache = Cache.open(project, url)
    try:
        run = cache.begin_run(["test"])
        row = cache.job_started(run, "k", "t", "s", "d", {}, [], "log", "h", time.time())
        cache.store_spec(row, '{"spec": "é\\n\'quoted\'"}')
        return row
    finally:
        cache.close()


def test_the_node_store_answers_as_the_cache(tmp_path: Path, cache_url: str | None) -> None:
    """The fast node store (SQLite's driver, or libpq) reads the spec the
    cache stored and writes the report ``Cache.node_result`` reads back, as
    ``Cache.node_finished`` writes it."""
    from outflowfile.store.door import open_node_store
    from outflowfile.store.nodestore import SqliteNodeStore
    from outflowfile.store.pg_fast import PgNodeStore

    fast_row, slow_row = _node_row(tmp_path, cache_url), _node_row(tmp_path, cache_url)
    node = open_node_store(tmp_path, cache_url)
    assert isinstance(node, SqliteNodeStore if cache_url is None else PgNodeStore)
    try:
        assert node.read_spec(fast_row) == '{"spec": "é\\n\'quoted\'"}'
        assert node.read_spec(10**9) is None
        node.node_finished(fast_row, NODE_REPORT)
    finally:
        node.close()
    cache = Cache.open(tmp_path, cache_url)
    try:
        cache.node_finished(slow_row, NODE_REPORT)
        fast, slow = cache.node_result(fast_row), cache.node_result(slow_row)
    finally:
        cache.close()
    assert fast is not None and slow is not None
    assert fast == {**slow, "started": fast["started"]}
    assert fast["values"] == NODE_REPORT["values"] and fast["peak_mem"] == 2**40 + 1


def test_the_node_store_of_a_named_sqlite_file(tmp_path: Path) -> None:
    from outflowfile.store.door import open_node_store
    from outflowfile.store.nodestore import SqliteNodeStore

    row = _node_row(tmp_path, "sqlite:///elsewhere.db")
    for url in ("sqlite:///elsewhere.db", "elsewhere.db", f"sqlite:///{tmp_path}/elsewhere.db"):
        node = open_node_store(tmp_path, url)
        assert isinstance(node, SqliteNodeStore)
        assert node.read_spec(row) is not None
        node.close()


def test_a_node_store_that_cannot_reach_postgresql_says_where(tmp_path: Path) -> None:
    from outflowfile.errors import UserError
    from outflowfile.store.door import open_node_store

    with pytest.raises(UserError) as caught:
        open_node_store(tmp_path, "postgresql://u:secret@127.0.0.1:1/nothing")
    assert "cannot reach the cache database 127.0.0.1:1/nothing" in str(caught.value)
    assert "secret" not in str(caught.value)
