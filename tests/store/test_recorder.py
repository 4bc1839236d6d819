"""What a run writes to the cache and when (recorder.py): with batching, the
starts and ends of jobs without output files wait and are written
together; a job with output files is written before it starts, with
everything that waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from outflowfile.store.database import Cache
from outflowfile.store.recorder import RunRecorder

FILES = {"in": {}, "out": {}}


@pytest.fixture
def opened(tmp_path: Path, cache_url: str | None) -> Iterator[list[Cache]]:
    """The caches the recorders under test opened (closed at the end)."""
    caches: list[Cache] = []
    yield caches
    for c in caches:
        c.close()


def recorder(tmp_path: Path, url: str | None, opened: list[Cache], batch: float) -> RunRecorder:
    def open_cache() -> Cache:
        c = Cache.open(tmp_path, url, shared_writers=False)
        opened.append(c)
        return c

    return RunRecorder(open_cache, ["outflow"], batch=batch)


def start(rec: RunRecorder, name: str, outputs: list[str] | None = None) -> int:
    return rec.job_started(f"key-{name}", "t", name, "d", {"n": name}, outputs or [],
                           f"logs/{name}.log", "h", time.time())


def statuses(tmp_path: Path, url: str | None) -> dict[str, tuple[str, dict]]:
    """slot -> (status, values), read through a connection of its own."""
    with Cache.open(tmp_path, url) as c:
        return {r.slot: (r.status, r.values if r.status == "done" else {})
                for r in c.records_for("t")}


def test_value_jobs_wait_until_a_job_with_files_starts(
    tmp_path: Path, cache_url: str | None, opened: list[Cache]
) -> None:
    rec = recorder(tmp_path, cache_url, opened, batch=3600)
    a = start(rec, "a")
    b = start(rec, "b")
    assert a < 0 and b < 0, "tickets, not rows"
    rec.job_done(a, {"v": 1}, FILES, time.time())
    assert statuses(tmp_path, cache_url) == {}
    c = start(rec, "c", ["out/c.txt"])
    assert c > 0
    assert statuses(tmp_path, cache_url) == {
        "a": ("done", {"v": 1}), "b": ("running", {}), "c": ("running", {})}
    rec.job_failed(b, "boom", time.time(), 1)
    rec.job_done(c, {}, FILES, time.time())
    rec.close("failed")
    assert statuses(tmp_path, cache_url) == {
        "a": ("done", {"v": 1}), "b": ("failed", {}), "c": ("done", {})}


def test_what_waits_is_written_once_due(
    tmp_path: Path, cache_url: str | None, opened: list[Cache]
) -> None:
    rec = recorder(tmp_path, cache_url, opened, batch=0.05)
    a = start(rec, "a")
    left = rec.flush_due()
    assert left is not None and 0 < left <= 0.05
    assert statuses(tmp_path, cache_url) == {}
    while rec.flush_due() is not None:
        time.sleep(0.01)
    assert statuses(tmp_path, cache_url) == {"a": ("running", {})}
    rec.job_done(a, {"v": 2}, FILES, time.time())  # its row is known now
    assert rec.flush_due() is not None
    rec.flush()
    assert statuses(tmp_path, cache_url) == {"a": ("done", {"v": 2})}
    assert rec.flush_due() is None
    rec.close("done")


def test_interrupted_jobs_are_marked_whether_written_or_not(
    tmp_path: Path, cache_url: str | None, opened: list[Cache]
) -> None:
    rec = recorder(tmp_path, cache_url, opened, batch=3600)
    a = start(rec, "a")
    rec.flush()
    b = start(rec, "b")  # still waiting when the run is interrupted
    c = start(rec, "c")
    rec.job_done(c, {"v": 3}, FILES, time.time())
    rec.mark_interrupted([a, b])
    rec.close("interrupted")
    assert statuses(tmp_path, cache_url) == {
        "a": ("interrupted", {}), "b": ("interrupted", {}), "c": ("done", {"v": 3})}


def test_without_batching_every_start_is_written_at_once(
    tmp_path: Path, cache_url: str | None, opened: list[Cache]
) -> None:
    rec = recorder(tmp_path, cache_url, opened, batch=0.0)
    a = start(rec, "a")
    assert a > 0
    assert statuses(tmp_path, cache_url) == {"a": ("running", {})}
    rec.job_done(a, {"v": 4}, FILES, time.time())
    assert rec.flush_due() is None  # due at once: the engine writes it before it waits
    assert statuses(tmp_path, cache_url) == {"a": ("done", {"v": 4})}
    rec.close("done")
