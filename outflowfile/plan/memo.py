"""The memo of a plan with nothing to do.

Deciding that 100,000 jobs are up to date means building each job, hashing
its key and finding its record: most of a no-op run's time, spent to reach
the same answer as last time. After a plan that finds nothing to do, or a run
in which every job that ran succeeded, this module writes down what the
next plan's answer (nothing to do) would be decided from:

- a fingerprint of the inputs that shape the job graph and the job keys:
  outflow's version, the project and its Outflowfile's text, the resolved
  config (``glob()`` results included) and the targets;
- a summary of the cache's ``jobs`` table (row count, and the highest row:
  its id, key, status and times), read in the same transaction as the plan's
  records, or after the run's last write and before it lets go of the
  project. Rows are only ever added, finished (by the run that added them)
  or deleted, so any change since shows in it;
- the stamp (mtime in ns, size) of every file the plan or run looked at
  (as it last saw it: after a job made it), or that it was missing.

The plan is a function of these three, so when all three are unchanged the
next run has nothing to do either, and says so after one ``stat`` per file
and two queries. When only some files changed, the plan is made in full,
but a job whose files are all unchanged, that makes no values and whose
upstream jobs are all up to date is decided as it was then (see
``Decider.trusted`` in ``plan/decide.py``): only what the changed files
touch is looked at again.

The memo also keeps the key of every job it found up to date. When the
fingerprint changed (an edited Outflowfile or config, a new file matching a
``glob()``, other targets) but the cache did not, the graph may differ, yet
a job whose key is among the memo's, and whose files and upstream jobs are
as above, is the job it was then and is decided the same way: adding a
sample plans only that sample's jobs and those gathering it.

The memo serves any cache database (the fingerprint names it; the
store reads the summary: ``Store.state``). A changed cache or ``-F``/``-R`` plans in full.
The memo is a cache of a conclusion, never a source of truth: deleting it
only costs one full plan.

The file is one line of JSON (format, fingerprint, cache summary, job
count), one line of stamps (``mtime,size,...``, ``-1,-1`` for a missing
file), one line of keys (``,``-separated, by job id; empty for a node that
is not a job) and the paths, separated by NUL (last: a path may hold a
newline).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outflowfile import __version__, valuecodec
from outflowfile.plan import stamps
from outflowfile.plan.stamps import Stats

if TYPE_CHECKING:
    from outflowfile.plan.prestat import Prestat

FILENAME = "plan-memo"
# 5: links and directories stamped by target and content, and paths among
# jobs' values looked at (stamps.py): a memo listing fewer files is not to
# be trusted, as if it had not been written.
FORMAT = 5
_ENCODING = ("utf-8", "surrogateescape")


@dataclass
class Trust:
    """What a plan may decide a job from without reading its record
    (``Decider.trusted`` in ``plan/decide.py``), while the cache is as the
    memo found it."""

    unchanged: set[str]  # files that exist with the stamp the memo has for them
    keys: list[str]  # the memo's keys of up-to-date jobs, by job id ('' for none)
    # The fingerprint is the memo's: the graph is the memo's graph, so job i
    # made before the run has key ``keys[i]``. Otherwise a key is looked up.
    same_graph: bool
    _key_set: set[str] | None = field(default=None, repr=False)

    def key_of(self, job_id: int) -> str:
        """The memo's key for job ``job_id`` of the same graph, or ''."""
        return self.keys[job_id] if job_id < len(self.keys) else ""

    def knows(self, key: str) -> bool:
        """Whether a job of this key was up to date when the memo was written."""
        if self._key_set is None:
            self._key_set = set(self.keys)
            self._key_set.discard("")
        return key in self._key_set


@dataclass
class Check:
    """What checking the memo found."""

    jobs: int | None = None  # all of them up to date: how many
    # Unless the memo answered: the files it lists, for the plan to stat
    # (ahead, by a helper: prestat.py) and to compare with its stamps.
    paths: list[str] = field(default_factory=list)
    # When the cache is as the memo found it (otherwise None): the memo's
    # stamps and keys, and the cache's state, the memo's.
    stamps: list[int] | None = None
    keys: list[str] = field(default_factory=list)
    state: list[Any] | None = None
    same_graph: bool = False
    now: list[int] | None = None  # the files' stamps, when taken already (same graph)

    def settle(self, now: list[int]) -> tuple[Stats, Trust]:
        """With the files' stamps as they are now (as ``stat_flat`` gives
        them): each file's stat for the plan, and what it may trust."""
        assert self.stamps is not None
        stats, unchanged = _compare(self.paths, now, self.stamps)
        return stats, Trust(unchanged, self.keys, self.same_graph)


def fingerprint(
    outflowfile: Path, text_digest: str, workdir: Path, config: dict[str, Any], targets: list[str],
    until: list[str], database: str,
) -> str:
    """What shapes the job graph and every job's key, hashed, and the
    database the cache is in ('' for the project's SQLite file)."""
    parts = [
        __version__, str(outflowfile.resolve()), text_digest, str(workdir.resolve()),
        valuecodec.encode(config), targets, until, database,
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def save(
    path: Path, print_: str, state: list[Any], jobs: int, stats: Stats, keys: list[str]
) -> None:
    """Write the memo atomically; a project that cannot be written to just
    goes without."""
    header = {"format": FORMAT, "fingerprint": print_, "cache": state, "jobs": jobs}
    data = b"\n".join([
        json.dumps(header).encode(),
        ",".join(map(str, stamps.to_flat(stats))).encode(),
        ",".join(keys).encode(),
        "\0".join(stats).encode(*_ENCODING),
    ])  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def check(
    path: Path, print_: str, state_now: Callable[[], list[Any] | None], workdir: Path
) -> Check:
    """Check the memo against the project as it is now; ``state_now`` reads
    the summary of the cache's jobs table (None if it cannot)."""
    try:
        data = path.read_bytes()
        head, stamps_line, keys_line, paths_text = data.split(b"\n", 3)
        header = json.loads(head)
    except (OSError, ValueError):
        return Check()
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return Check()
    paths = paths_text.decode(*_ENCODING).split("\0") if paths_text else []
    state = state_now()
    if state is None or state != header.get("cache"):
        return Check(paths=paths)
    try:
        then = list(map(int, stamps_line.split(b","))) if stamps_line else []
    except ValueError:
        return Check()
    if len(then) != 2 * len(paths) or not keys_line.isascii():
        return Check()
    found = Check(paths=paths, stamps=then, state=state)
    if header.get("fingerprint") == print_:
        # The memo's stamps, and the files' as they are now: alike when nothing changed.
        now = _stat_all(paths, workdir)
        jobs = header.get("jobs")
        if now == then and isinstance(jobs, int):
            return Check(jobs=jobs)
        found.same_graph, found.now = True, now
    # Otherwise the plan stats the files while the graph is made. The keys
    # are decoded only for a plan that follows, not for a no-op.
    found.keys = keys_line.decode("ascii").split(",")
    return found


def _stat_all(paths: list[str], workdir: Path) -> list[int]:
    """The stats of ``paths``, flat (stamps.py). A helper process stats the
    second half of a long list meanwhile (prestat.py)."""
    from outflowfile.plan.prestat import Prestat

    half = len(paths) // 2
    helper = Prestat.start(paths[half:], str(workdir))
    if helper is None:
        return stamps.stat_paths(paths, str(workdir))
    return stamps.stat_paths(paths[:half], str(workdir)) + stat_flat(
        helper.paths, str(workdir), helper
    )


def stat_flat(paths: list[str], workdir: str, helper: Prestat | None = None) -> list[int]:
    """The stats of ``paths``, flat (stamps.py): what a helper started on
    ``paths`` answers (prestat.py), or if there is none or it failed,
    stat-ed now."""
    if helper is not None:
        answer = helper.collect_flat()
        if answer is not None:
            return answer
    return stamps.stat_paths(paths, workdir)


def _compare(paths: list[str], now: list[int], then: list[int]) -> tuple[Stats, set[str]]:
    """Each path's stat as the plan keeps them (None for a missing file),
    and the files that exist with the stamp the memo has for them."""
    missing = stamps.MISSING
    flat = zip(paths, now[::2], now[1::2], then[::2], then[1::2], strict=True)
    unchanged = {p for p, mtime, size, was_mtime, was_size in flat
                 if mtime == was_mtime and size == was_size and size != missing}  # fmt: skip
    return stamps.from_flat(paths, now), unchanged
