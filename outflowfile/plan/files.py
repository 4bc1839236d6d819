"""Deciding whether a job must run, and saying why.

The rules (DESIGN.md, "Planning"), checked in this order:

- forced (``-F``, ``-R task``) or ``cache: false``;
- an upstream job will run (decided by the scheduler before calling here);
- no completed result for the job's key: the reason then comes from the
  latest record of the same *slot* (definition changed, parameters changed,
  left incomplete by an interrupted run, failed last time, never run);
- an output file is missing, or differs from what the job recorded;
- an input file differs from what the job recorded, unless it was remade by
  its producer with the same content (early cutoff, by content hash).

Every file is stat-ed at most once per run (``FileState``). What a file's
stamp is, and how it is taken and written, is stamps.py's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from outflowfile import valuecodec
from outflowfile.graph.expand import Job, short_value
from outflowfile.plan import stamps
from outflowfile.plan.stamps import Stamp, Stat, Stats

# A job's record of its files: "in" and "out", each path -> its stamp then.
RecordedFiles = dict[str, dict[str, "Stamp | None"]]


class ResultLike(Protocol):
    """What planning reads of a cached result (cache.Record or this run's)."""

    status: str
    def_hash: str

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def values(self) -> dict[str, Any]: ...

    @property
    def files(self) -> RecordedFiles: ...


@dataclass
class FreshResult:
    """A result recorded during this run, kept in memory for later decisions."""

    status: str
    def_hash: str
    params: dict[str, Any]
    values: dict[str, Any]
    files: RecordedFiles


_NOT_SEEN: Any = object()


@dataclass
class FileState:
    """Stats each file at most once per run; forget a path when a job writes it.

    ``ahead`` holds stats taken before the plan asked (prestat.py): a path
    is taken from there the first time the plan asks for it, so that
    ``seen`` holds only the files the plan looked at."""

    workdir: str
    _stats: Stats = field(default_factory=dict)
    ahead: Stats = field(default_factory=dict)
    _prefix: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        self._prefix = os.path.join(self.workdir, "")

    def full_path(self, path: str) -> str:
        """``os.path.join(workdir, path)``, as cheaply as it can be."""
        return path if path.startswith("/") else self._prefix + path

    def stat(self, path: str) -> Stat | None:
        """The file's (mtime in ns, size), or None if it is missing."""
        stats = self._stats
        value = stats.get(path, _NOT_SEEN)
        if value is not _NOT_SEEN:
            return value
        value = self.ahead.pop(path, _NOT_SEEN)
        if value is not _NOT_SEEN:
            stats[path] = value
            return value
        # full_path, inline: called once per file of the workflow
        value = stats[path] = stamps.stat_file(path if path[:1] == "/" else self._prefix + path)
        return value

    def note(self, paths: Iterable[str]) -> None:
        """Count ``paths`` as looked at, as ``stat`` would, when the plan
        needs no answer: their stats are taken from ``ahead`` (or now)."""
        stats, ahead = self._stats, self.ahead
        for path in paths:
            if path not in stats:
                value = ahead.pop(path, _NOT_SEEN)
                if value is _NOT_SEEN:
                    self.stat(path)
                else:
                    stats[path] = value

    def forget(self, path: str) -> None:
        """``path`` is written, or about to be: stat it again when asked."""
        self._stats.pop(path, None)
        self.ahead.pop(path, None)

    def seen(self) -> Stats:
        """Every file the plan or run looked at, as last stat-ed: (mtime in
        ns, size), or None if missing."""
        return self._stats

    def stamp(self, path: str, with_hash: bool) -> Stamp | None:
        """The stamp to record for the file as it is (None if missing)."""
        st = self.stat(path)
        if st is None:
            return None
        return stamps.recorded(st, self.full_path(path), with_hash)


DEFINITION_CHANGED = "task definition changed"


def reason_without_result(previous: ResultLike | None, def_hash: str, params: dict) -> str:
    """Why a job has no completed result for its key, from the latest record
    of the same slot."""
    if previous is None:
        return "no cached result"
    if previous.status in ("running", "interrupted"):
        return "left incomplete by an interrupted run"
    if previous.status == "failed":
        return "failed last time"
    if previous.def_hash != def_hash:
        return DEFINITION_CHANGED
    changed = changed_params(previous.params, params)
    if changed:
        return "parameters changed: " + ", ".join(changed)
    return "input files changed"


def changed_params(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    for name, value in new.items():
        if name not in old:
            out.append(f"{name} (new)")
        elif valuecodec.digest(old[name]) != valuecodec.digest(value):
            out.append(f"{name} {short_value(old[name], 20)} → {short_value(value, 20)}")
    return out


# Given the path of an input file that another job makes: the content hash
# its producer recorded for it (None if unknown).
ProducerHash = Callable[[str], "str | None"]

# Given a missing file and the stamp a record holds for it: whether it is a
# temporary file removed as planned, which counts as that stamp
# (``Decider.temp_gone``).
TempGone = Callable[[str, Any], bool]


def _never_gone(path: str, recorded: Any) -> bool:
    return False


def check_files(
    job: Job,
    result: ResultLike,
    files: FileState,
    producer_hash: ProducerHash,
    temp_gone: TempGone = _never_gone,
) -> str:
    """The reason a job with a cached result must run anyway, or ''.

    The one comparison of a job's recorded stamps with its files now. When
    the record's text is at hand and the job has few files, that text is
    searched first (``stamps_unchanged``): an up-to-date job, the common
    case, is then decided without decoding its record."""
    text = getattr(result, "files_text", None)
    few = len(job.inputs) + len(job.output_files or ()) <= FEW_FILES
    if text is not None and few and stamps_unchanged(text, job, files):
        return ""
    return first_change(job, result.files, files, producer_hash, temp_gone)


def first_change(
    job: Job,
    recorded: RecordedFiles,
    files: FileState,
    producer_hash: ProducerHash,
    temp_gone: TempGone = _never_gone,
) -> str:
    """What differs between a job's files now and its decoded ``files``
    record, as a reason to run it; '' if nothing does. A temporary file
    removed as planned is as its record says (``temp_gone``)."""
    out_rec = recorded.get("out", {})
    for path in (job.output_files or {}).values():
        st = files.stat(path)
        if st is None:
            if temp_gone(path, out_rec.get(path)):
                continue
            return f"output file {path} is missing"
        if not stamps.same(out_rec.get(path), st):
            return f"output file {path} changed since it was made"
    in_rec = recorded.get("in", {})
    for path in job.inputs:
        st = files.stat(path)
        rec = in_rec.get(path)
        if st is None:
            if temp_gone(path, rec):
                continue
            return f"input file {path} is missing"
        if rec is None:
            return f"input file {path} is new"
        if stamps.same(rec, st):
            continue
        if rec[2] is not None and producer_hash(path) == rec[2]:
            continue  # remade with the same content: early cutoff
        if st[0] > rec[0]:
            return f"input file {path} is newer than the last run"
        return f"input file {path} changed"
    return ""


# Each file searched costs a pass over the record's text: past this many,
# decoding it once is cheaper.
FEW_FILES = 16

# The middle of a canonical ``files`` record (store/rows.py), between its two maps.
_OUT_MAP = '},"out":{'
# Where the first key of its "in" map starts: after '{"in":{'.
_FIRST_IN = 7


def stamps_unchanged(text: str, job: Job, files: FileState) -> bool:
    """True when the ``files`` record ``text`` holds, for each of the job's
    output and input files, exactly the stamp the file has now: the job is
    up to date, and its record need not be decoded.

    False says nothing: ``check_files`` then decodes the record and finds
    what differs (or that nothing does, if the text is not in the canonical
    form this looks for). A key of canonical JSON either starts its map
    (found where that map starts) or follows a ``,`` (found by searching for
    ``,"path":``, which inside a string would be ``,\\"``)."""
    split = text.find(_OUT_MAP)
    if split < 0:
        return False
    seen, stat, text_key = files._stats, files.stat, stamps.text_key
    first_out = split + len(_OUT_MAP)
    for path in (job.output_files or {}).values():
        st = seen.get(path, _NOT_SEEN)
        if st is _NOT_SEEN:
            st = stat(path)
        if st is None:
            return False
        needle = text_key(path, st)
        if not text.startswith(needle, first_out) and text.find("," + needle, split) < 0:
            return False
    for path in job.inputs:
        st = seen.get(path, _NOT_SEEN)
        if st is _NOT_SEEN:
            st = stat(path)
        if st is None:
            return False
        needle = text_key(path, st)
        if not text.startswith(needle, _FIRST_IN, split) and text.find("," + needle, 0, split) < 0:
            return False
    return True
