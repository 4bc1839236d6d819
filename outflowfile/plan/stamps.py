"""A file's stamp: what it is, how it is taken, how it is written down.

A file is seen as its *stat*: (mtime in ns, size), or None when it cannot
be stat-ed. Three forms carry it, all made here:

- ``Stat | None``, per path: what planning compares (``files.FileState``);
- *flat*: the stats of a list of paths as one list of integers, mtime and
  size in turn, ``MISSING, MISSING`` for a missing file: what the plan memo
  writes (memo.py) and the helper process sends back (prestat.py);
- a *recorded stamp*, ``[mtime in ns, size, sha256 or None]``: what a job's
  record keeps for each of its files (the cache's ``files``, canonical JSON).

A recorded stamp matches a stat when mtime and size agree; its hash serves
only early cutoff. ``same`` says it of a decoded stamp, ``text_key`` gives
how a matching one begins in the record's text.

This module imports no other of outflow, and little of the standard
library (not even ``typing``): the helper process of prestat.py runs
``serve``, and must start in a few milliseconds.
"""

from __future__ import annotations

import os
import sys

try:  # json's own C encoder, without the import of json (and re) it comes with
    from _json import encode_basestring_ascii as _json_string
except ImportError:  # pragma: no cover - an interpreter without the C module
    from json.encoder import encode_basestring_ascii as _json_string

Stat = tuple[int, int]  # (mtime in ns, size)
Stats = dict[str, "Stat | None"]  # path -> its stat, None if missing
Stamp = list  # [mtime in ns, size, sha256 hex or None]

# The mtime and the size, in the flat form, of a file that cannot be
# stat-ed: sizes are never negative.
MISSING = -1

# Output files larger than this are not hashed: no early cutoff through them.
HASH_LIMIT = 1 << 30


def stat_file(full_path: str) -> Stat | None:
    """The stat of one file (its path absolute or from the current directory)."""
    try:
        st = os.stat(full_path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def stat_paths(paths: list[str], workdir: str) -> list[int]:
    """The stats of ``paths`` (relative ones under ``workdir``), flat."""
    prefix = os.path.join(workdir, "")
    flat: list[int] = []
    add = flat.append
    stat = os.stat
    # ``stat_file``, inline: this is the loop over every file of a workflow.
    for p in paths:
        try:
            st = stat(p if p[:1] == "/" else prefix + p)
            add(st.st_mtime_ns)
            add(st.st_size)
        except OSError:
            add(MISSING)
            add(MISSING)
    return flat


def from_flat(paths: list[str], flat: list[int]) -> Stats:
    """Each path's stat, from the flat stats of ``paths``."""
    stats: Stats = dict(zip(paths, zip(flat[::2], flat[1::2], strict=True), strict=True))
    for path, st in stats.items():
        if st is not None and st[1] == MISSING:
            stats[path] = None
    return stats


def to_flat(stats: Stats) -> list[int]:
    """The flat form of each path's stat, in their order."""
    flat: list[int] = []
    for st in stats.values():
        flat.extend((MISSING, MISSING) if st is None else st)
    return flat


def recorded(st: Stat, full_path: str, with_hash: bool) -> Stamp:
    """The stamp to record for a file of stat ``st``; hashed when asked,
    unless it is larger than ``HASH_LIMIT`` (or cannot be read)."""
    digest = file_digest(full_path) if with_hash and st[1] <= HASH_LIMIT else None
    return [st[0], st[1], digest]


def file_digest(path: str) -> str | None:
    """The sha256 of a file's content, hex; None if it cannot be read."""
    import hashlib  # here: the helper process never hashes

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


def same(rec: Stamp | None, st: Stat | None) -> bool:
    """Whether a recorded stamp matches a file's stat (both present)."""
    return rec is not None and st is not None and rec[0] == st[0] and rec[1] == st[1]


def text_key(path: str, st: Stat) -> str:
    """How the entry of ``path`` with a stamp matching ``st`` begins in the
    canonical JSON of a record's files: ``"path":[mtime,size,``."""
    return f"{_json_string(path)}:[{st[0]},{st[1]},"


def serve(workdir: str, encoding: str) -> None:
    """The helper process (prestat.py): the NUL-separated paths on stdin,
    their flat stats on stdout as native 64-bit integers."""
    import array

    data = sys.stdin.buffer.read().decode(encoding, "surrogateescape")
    paths = data.split("\0") if data else []
    sys.stdout.buffer.write(array.array("q", stat_paths(paths, workdir)).tobytes())

