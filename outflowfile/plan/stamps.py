"""A file's stamp: what it is, how it is taken, how it is written down.

A file is seen as its *stat*: (mtime in ns, size), or None when it cannot
be stat-ed. Three forms carry it, all made here:

- ``Stat | None``, per path: what planning compares (``files.FileState``);
- *flat*: the stats of a list of paths as one list of integers, mtime and
  size in turn, ``MISSING, MISSING`` for a missing file: what the plan memo
  writes (memo.py) and the helper process sends back (prestat.py);
- a *recorded stamp*, ``[mtime in ns, size, sha256 or None]``: what a job's
  record keeps for each of its files (the cache's ``files``, canonical JSON).

What stands for the size is the size itself for a regular file (the common
case: one ``lstat``, as cheap as a ``stat``). For the two kinds of path
whose size says too little, it is a 63-bit digest instead (``_fold``), so
that every form above keeps its two integers and every record written
before stays readable (such a path's old stamp no longer matches: its job
runs once more):

- a *symbolic link*: mtime of what it points to, and a digest of its target
  (the text of the link) and the target's size: a link re-pointed to
  another file of the same size and mtime is a changed file;
- a *directory*: the newest mtime of the files in its tree (0 when it holds
  none), and a digest of its listing, walked in one pass with
  ``os.scandir``: every entry's relative name and kind, each file's size and
  mtime, each link's target. A file added, removed, renamed or rewritten
  anywhere in it is a changed directory. Links inside it are not followed
  (they count by their target's text and stat), nor is a ``.outflow``
  folder looked into (outflow's own state is nobody's content).

A recorded stamp matches a stat when both integers agree; its hash serves
only early cutoff: a file's sha256, the content of what a link points to,
and for a directory a sha256 of its entries' names and contents.
``same`` says it of a decoded stamp, ``text_key`` gives how a matching one
begins in the record's text.

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

# The kind of file, from ``st_mode`` (the ``stat`` module's values, without its import).
_KIND = 0o170000
_REGULAR = 0o100000
_DIRECTORY = 0o040000
_LINK = 0o120000

# Never looked into by a directory's stamp: outflow's own state.
_OWN = ".outflow"


def stat_file(full_path: str) -> Stat | None:
    """The stat of one file (its path absolute or from the current directory)."""
    try:
        st = os.lstat(full_path)
    except (OSError, ValueError):  # ValueError: a NUL in the path (from a value): no such file
        return None
    if st.st_mode & _KIND == _REGULAR:
        return (st.st_mtime_ns, st.st_size)
    return _other_stat(full_path, st)


def _other_stat(full_path: str, st: os.stat_result) -> Stat | None:
    """The stat of what is not a regular file: a link, a directory, a device..."""
    kind = st.st_mode & _KIND
    if kind == _DIRECTORY:
        return tree_stat(full_path)
    if kind != _LINK:
        return (st.st_mtime_ns, st.st_size)
    try:
        target = os.readlink(full_path)
        st = os.stat(full_path)
    except OSError:
        return None  # a dangling link: as missing as the file it names
    if st.st_mode & _KIND == _DIRECTORY:
        mtime, size = tree_stat(full_path)
    else:
        mtime, size = st.st_mtime_ns, st.st_size
    return (mtime, _fold(f"link\0{target}\0{size}"))


def tree_stat(full_path: str) -> Stat:
    """A directory's stat: the newest mtime of its files, and a digest of
    its listing (names, kinds, sizes, mtimes, link targets), in one walk."""
    newest = 0
    entries: list[str] = []
    add = entries.append
    folders = [("", full_path)]
    while folders:
        rel, folder = folders.pop()
        try:
            it = os.scandir(folder)
        except OSError:
            add(f"{rel}\0unreadable")
            continue
        with it:
            for entry in it:
                name = rel + entry.name
                try:
                    if entry.is_symlink():
                        add(f"{name}\0link\0{_link_line(entry.path)}")
                    elif entry.is_dir(follow_symlinks=False):
                        if entry.name != _OWN:
                            add(f"{name}\0dir")
                            folders.append((name + "/", entry.path))
                    else:
                        st = entry.stat(follow_symlinks=False)
                        mtime = st.st_mtime_ns
                        newest = mtime if mtime > newest else newest
                        add(f"{name}\0file\0{mtime}\0{st.st_size}")
                except OSError:
                    add(f"{name}\0gone")  # removed while we looked
    entries.sort()
    return (newest, _fold("\n".join(entries)))


def _link_line(path: str) -> str:
    """What a link inside a directory counts by: its target, and that
    target's mtime and size (not followed further)."""
    target = os.readlink(path)
    try:
        st = os.stat(path)
    except OSError:
        return f"{target}\0dangling"
    return f"{target}\0{st.st_mtime_ns}\0{st.st_size}"


def _fold(text: str) -> int:
    """A 63-bit digest of ``text``: what stands for the size of a link or a
    directory (never negative, as sizes are not)."""
    import hashlib  # here: only links and directories need it

    data = text.encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1


def stat_paths(paths: list[str], workdir: str) -> list[int]:
    """The stats of ``paths`` (relative ones under ``workdir``), flat."""
    prefix = os.path.join(workdir, "")
    flat: list[int] = []
    add = flat.append
    lstat = os.lstat
    kind, regular = _KIND, _REGULAR
    # ``stat_file``, inline: this is the loop over every file of a workflow.
    for p in paths:
        try:
            st = lstat(p if p[:1] == "/" else prefix + p)
            if st.st_mode & kind == regular:
                add(st.st_mtime_ns)
                add(st.st_size)
                continue
        except OSError:
            add(MISSING)
            add(MISSING)
            continue
        other = _other_stat(p if p[:1] == "/" else prefix + p, st)
        add(MISSING if other is None else other[0])
        add(MISSING if other is None else other[1])
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
    if not with_hash:
        return [st[0], st[1], None]
    # A size this small is a regular file's (a link's or a directory's
    # digest is below it once in 2**33): hashed without another stat.
    digest = file_digest(full_path) if st[1] <= HASH_LIMIT else content_digest(full_path)
    return [st[0], st[1], digest]


def content_digest(full_path: str) -> str | None:
    """The sha256 of what is at ``full_path``, hex, following a link: a
    file's content, or a directory's (``tree_digest``); None for what is
    larger than ``HASH_LIMIT`` or cannot be read."""
    try:
        st = os.stat(full_path)
    except OSError:
        return None
    if st.st_mode & _KIND == _DIRECTORY:
        return tree_digest(full_path)
    return file_digest(full_path) if st.st_size <= HASH_LIMIT else None


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


def tree_digest(full_path: str) -> str | None:
    """The sha256 of a directory's content: each entry's relative name and
    kind, each file's content hash, each link's target, in name order; None
    when its files hold more than ``HASH_LIMIT`` bytes or one cannot be read."""
    import hashlib

    entries: list[str] = []
    total = 0
    folders = [("", full_path)]
    while folders:
        rel, folder = folders.pop()
        try:
            with os.scandir(folder) as it:
                found = list(it)
        except OSError:
            return None
        for entry in found:
            name = rel + entry.name
            if entry.is_symlink():
                try:
                    entries.append(f"{name}\0link\0{os.readlink(entry.path)}")
                except OSError:
                    return None
            elif entry.is_dir(follow_symlinks=False):
                if entry.name != _OWN:
                    entries.append(f"{name}\0dir")
                    folders.append((name + "/", entry.path))
            else:
                try:
                    total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    return None
                digest = file_digest(entry.path) if total <= HASH_LIMIT else None
                if digest is None:
                    return None
                entries.append(f"{name}\0file\0{digest}")
    entries.sort()
    text = "\n".join(entries).encode("utf-8", "surrogateescape")
    return hashlib.sha256(text).hexdigest()


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

