"""The memo of a plan that found every job up to date.

Deciding that 100,000 jobs are up to date means building each job, hashing
its key and finding its record: most of a no-op run's time, spent to reach
the same answer as last time. After a plan that finds nothing to do, this
module writes down what that answer was decided from:

- a fingerprint of the inputs that shape the job graph and the job keys:
  outflow's version, the project and its Outflowfile's text, the resolved
  config (``glob()`` results included) and the targets;
- a summary of the cache's ``jobs`` table (highest id, row count, sums of
  start and end times, number of completed rows), read in the same
  transaction as the plan's records: any row added, removed or finished
  since changes it;
- the stamp (mtime in ns, size) of every file the plan looked at, or that
  it was missing.

The plan is a function of these three, so when all three are unchanged the
next run has nothing to do either, and says so after one ``stat`` per file
and one query. Anything else (a different fingerprint, a changed table, a
changed or unreadable memo, ``-F``/``-R``, a database other than the
project's SQLite file) plans in full, which writes a new memo when it again
finds nothing to do. The memo is a cache of a conclusion, never a source of
truth: deleting it only costs one full plan.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from outflowfile import __version__
from outflowfile import values as valuecodec

FILENAME = "plan-memo.json"
FORMAT = 2

# What changes when any row of ``jobs`` is added, removed or finished.
CACHE_STATE_QUERY = (
    "SELECT max(id), count(*), total(started), total(ended), total(status = 'done') FROM jobs"
)

Stats = dict[str, "tuple[int, int] | None"]


def fingerprint(
    outflowfile: Path, text_digest: str, workdir: Path, config: dict[str, Any], targets: list[str],
    until: list[str],
) -> str:
    """What shapes the job graph and every job's key, hashed."""
    parts = [
        __version__, str(outflowfile.resolve()), text_digest, str(workdir.resolve()),
        valuecodec.encode(config), targets, until,
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def cache_state(con: sqlite3.Connection) -> list[Any]:
    return list(con.execute(CACHE_STATE_QUERY).fetchone())


def save(path: Path, print_: str, state: list[Any], jobs: int, stats: Stats) -> None:
    """Write the memo atomically; a project that cannot be written to just
    goes without."""
    stamps: list[int] = []
    for st in stats.values():
        stamps.extend((-1, -1) if st is None else st)
    # Two long strings rather than lists: a tenth of the time to write and read.
    memo = {
        "format": FORMAT, "fingerprint": print_, "cache": state, "jobs": jobs,
        "paths": "\0".join(stats), "stamps": ",".join(map(str, stamps)),
    }  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps(memo, separators=(",", ":")))
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def up_to_date(path: Path, print_: str, db: Path, workdir: Path) -> tuple[int | None, Stats]:
    """The number of jobs the memo says are up to date if it still holds
    (same fingerprint, same cache, every file as it was), else None; and
    the stamps of the files it looked at, for the full plan to reuse."""
    stats: Stats = {}
    memo = _read(path)
    if memo is None or memo.get("fingerprint") != print_:
        return None, stats
    state = _read_state(db)
    if state is None or state != memo.get("cache"):
        return None, stats
    try:
        paths = memo["paths"].split("\0") if memo["paths"] else []
        stamps = [int(x) for x in memo["stamps"].split(",")] if memo["stamps"] else []
        jobs = int(memo["jobs"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None, stats
    if not _files_unchanged(paths, stamps, workdir, stats):
        return None, stats
    return jobs, stats


def _read(path: Path) -> dict[str, Any] | None:
    try:
        memo = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(memo, dict) or memo.get("format") != FORMAT:
        return None
    return memo


def _read_state(db: Path) -> list[Any] | None:
    if not db.exists():
        return None
    try:
        con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        return cache_state(con)
    except sqlite3.Error:
        return None
    finally:
        con.close()


def _files_unchanged(paths: list[str], stamps: list[int], workdir: Path, stats: Stats) -> bool:
    """Stat each path (into ``stats``) until one differs from its stamp."""
    if len(stamps) != 2 * len(paths):
        return False
    prefix = os.path.join(workdir, "")
    stat = os.stat
    for i, p in enumerate(paths):
        try:
            st = stat(p if p[:1] == "/" else prefix + p)
        except OSError:
            stats[p] = None
            if stamps[2 * i] != -1:
                return False
            continue
        now = stats[p] = (st.st_mtime_ns, st.st_size)
        if now[0] != stamps[2 * i] or now[1] != stamps[2 * i + 1]:
            return False
    return True
