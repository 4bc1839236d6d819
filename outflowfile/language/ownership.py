"""What a job may own: the rule over paths, in one place.

A job creates, replaces and removes only the paths it declares as outputs.
Whether two paths are the same, or one lies inside the other, is decided on
normalised paths (``./``, ``//``, ``..`` and a trailing ``/`` taken out),
relative to the project directory; an absolute path inside the project is
made relative first, after resolving the symlinks of its parent directories.

Some paths no job may own whatever it declares (``never_owned``): the project
directory and anything containing it, outflow's own ``.outflow/`` and
anything in it, the system's ``/dev``, ``/proc`` and ``/sys``, the files
outflow reads to know the workflow (the
Outflowfile, the files it includes, the files its config and options are
read from: sample sheets, ``--configfile``, ``outflow.toml``) and the cache
database, and a directory holding any of those. A relative path that climbs out of the
project with ``..`` is refused too: writing elsewhere is said with an
absolute path. The names ``.outflow`` and the Outflowfile's are compared
casefolded: on a case-insensitive filesystem (macOS, Windows) ``OUTFLOWFILE``
is the Outflowfile.

These functions take paths, not patterns: the checker gives them what a
pattern proves (its literal part), and a later stage can give them the paths
a job's bound values make.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

OUTFLOW_DIR = ".outflow"
OUTFLOWFILE_NAMES = ("Outflowfile", "outflowfile")
OPTIONS_FILE = "outflow.toml"  # the project's option defaults (commands/profiles.py)
SYSTEM_DIRS = ("/dev/", "/proc/", "/sys/")  # what is there is the system's, not a job's
_SYSTEM_TOPS = frozenset(d.rstrip("/") for d in SYSTEM_DIRS)
SHARED_MEMORY = "/dev/shm/"  # a filesystem like any other, for files of one's own


def is_normal(path: str) -> bool:
    """Whether ``normalize`` leaves ``path`` as it is, told by a few substring
    tests that cost far less than ``normalize`` (most paths are normal): only a
    ``.`` or ``..`` segment, an empty one (``//``, a trailing ``/``) or an empty
    path changes. (Conservative: a name starting with a dot goes the long way.)"""
    return (
        bool(path)
        and path[0] != "."
        and path[-1] != "/"
        and "//" not in path
        and "/." not in path
    )


def normalize(path: str) -> str:
    """``./a//b/../c/`` -> ``a/c``; ``""`` and ``./`` -> ``.``; ``//x`` -> ``/x``."""
    if is_normal(path):
        return path
    if not path:
        return "."
    norm = posixpath.normpath(path)
    if norm.startswith("//"):  # POSIX keeps two leading slashes; they name the root here
        norm = "/" + norm.lstrip("/")
    return norm


def segments(path: str) -> tuple[str, ...]:
    """The parts of a normalised path: ``a/b`` -> ``("a", "b")``; ``.`` -> ``()``;
    an absolute path starts with ``"/"``."""
    norm = normalize(path)
    if norm == ".":
        return ()
    if norm.startswith("/"):
        return ("/", *[p for p in norm[1:].split("/") if p])
    return tuple(norm.split("/"))


def same(a: str, b: str) -> bool:
    """Whether two paths name the same place (lexically)."""
    return segments(a) == segments(b)


def is_inside(path: str, other: str) -> bool:
    """Whether ``path`` lies strictly inside ``other``."""
    inner, outer = segments(path), segments(other)
    if len(inner) <= len(outer) or inner[: len(outer)] != outer:
        return False
    # ``..`` does not go down: "../x" is not inside ".".
    return ".." not in inner[len(outer) :]


def contains(path: str, other: str) -> bool:
    """Whether ``other`` lies strictly inside ``path``."""
    return is_inside(other, path)


def overlap(a: str, b: str) -> bool:
    """Whether removing one path could remove the other: equal or nested."""
    return same(a, b) or is_inside(a, b) or is_inside(b, a)


def climbs_out(path: str) -> bool:
    """A relative path that starts above the directory it is relative to."""
    parts = segments(path)
    return bool(parts) and parts[0] == ".."


def relative_to(path: str, root: str) -> str:
    """An absolute ``path`` inside (or equal to) the absolute ``root`` made
    relative to it (``"."`` for the root itself); any other path normalised."""
    norm = normalize(path)
    if not norm.startswith("/"):
        return norm
    top = normalize(root)
    if same(norm, top):
        return "."
    if is_inside(norm, top):
        return posixpath.relpath(norm, top)
    return norm


def resolve_parents(path: str, root: str, *, whole: bool = False) -> str:
    """``path`` (relative to the directory ``root``, or absolute) with the
    symlinks of its parent directories resolved (of the path itself too when
    ``whole``), relative to ``root`` when it lies inside. The one function
    here that reads the disk."""
    norm = normalize(path)
    full = normalize(norm if norm.startswith("/") else posixpath.join(root, norm))
    head, name = posixpath.split(full)
    try:
        if whole or not name:
            real = os.path.realpath(full)
        else:
            real = posixpath.join(os.path.realpath(head), name)
    except ValueError:  # a NUL in it: no such file can exist; taken as written
        real = full
    return relative_to(normalize(real), os.path.realpath(root))


def reason(refusal: Refusal, place: str, project: Project) -> str:
    """``refusal.value``, naming the file it keeps when that is not the path
    itself: "a directory that holds ... (rules/x.of)"."""
    if refusal.held is None and refusal not in (Refusal.INCLUDED, Refusal.CONFIG):
        return refusal.value
    kept = project.files.get(place if place[:1] == "/" else place.casefold())
    if kept is None or kept == place:
        return refusal.value
    return f"{refusal.value} ({kept})"


class Refusal(Enum):
    """Why no job may own a path; the value completes "... names ..." ."""

    PROJECT = "the project directory"
    ABOVE_PROJECT = "a directory that contains the project"
    OUTSIDE = "a path outside the project directory"
    OUTFLOW_DIR = "outflow's own directory .outflow/"
    IN_OUTFLOW_DIR = "a path inside outflow's own directory .outflow/"
    OUTFLOWFILE = "the Outflowfile"
    INCLUDED = "a file the Outflowfile includes"
    CONFIG = "a file outflow reads config or options from"
    CACHE = "outflow's cache database"
    SYSTEM = "a system path (in /dev, /proc or /sys; /dev/shm/ excepted)"
    HOLDS_OUTFLOWFILE = "a directory that holds the Outflowfile"
    HOLDS_INCLUDED = "a directory that holds a file the Outflowfile includes"
    HOLDS_CONFIG = "a directory that holds a file outflow reads config or options from"
    HOLDS_CACHE = "a directory that holds outflow's cache database"
    NUL = "a path holding a NUL character, which no file can have"

    @property
    def held(self) -> Refusal | None:
        """For a directory holding one of outflow's files, what that file is."""
        return _HELD.get(self)


_HELD = {
    Refusal.HOLDS_OUTFLOWFILE: Refusal.OUTFLOWFILE,
    Refusal.HOLDS_INCLUDED: Refusal.INCLUDED,
    Refusal.HOLDS_CONFIG: Refusal.CONFIG,
    Refusal.HOLDS_CACHE: Refusal.CACHE,
}
_HOLDS = {kind: holds for holds, kind in _HELD.items()}


@dataclass(frozen=True)
class Project:
    """What the rule needs to know of a project: its directory (absolute,
    symlinks resolved; None when unknown, then absolute paths are taken as
    outside), the names its Outflowfile may have, the files it includes, the
    files its config and options are read from (``config``: sample sheets,
    ``--configfile``, ``outflow.toml``) and the cache database's files
    (``cache``), as relative paths: no job may own any of them, nor a
    directory holding one."""

    root: str | None = None
    outflowfiles: tuple[str, ...] = OUTFLOWFILE_NAMES
    included: tuple[str, ...] = ()
    config: tuple[str, ...] = (OPTIONS_FILE,)
    cache: tuple[str, ...] = ()
    # Each name folded, and each directory above one, with its refusal;
    # whether one is in a subdirectory (made once).
    folded: dict[str, Refusal] = field(init=False, repr=False, compare=False)
    # Each of them folded -> the file it is or holds, as given (for messages).
    files: dict[str, str] = field(init=False, repr=False, compare=False)
    deep: bool = field(init=False, repr=False, compare=False)
    # The same for those outside the project (absolute paths, not folded).
    elsewhere: dict[str, Refusal] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded: dict[str, Refusal] = {}
        elsewhere: dict[str, Refusal] = {}
        files: dict[str, str] = {}
        kinds = ((Refusal.CACHE, self.cache), (Refusal.CONFIG, self.config),
                 (Refusal.INCLUDED, self.included), (Refusal.OUTFLOWFILE, self.outflowfiles))
        for holds in (True, False):  # a file itself wins over a directory of its name
            for kind, names in kinds:  # the last kind wins: the Outflowfile is named so
                for name in names:
                    _enter(normalize(name), kind, holds, folded, elsewhere, files)
        object.__setattr__(self, "folded", folded)
        object.__setattr__(self, "elsewhere", elsewhere)
        object.__setattr__(self, "files", files)
        object.__setattr__(self, "deep", any("/" in name for name in folded))


def _enter(name: str, kind: Refusal, holds: bool, folded: dict[str, Refusal],
           elsewhere: dict[str, Refusal], files: dict[str, str]) -> None:
    """Enter one of outflow's files (``holds``: the directories above it)."""
    parts = segments(name)
    if not parts or parts[0] == ".." or parts[0].casefold() == OUTFLOW_DIR:
        return  # no place, or in .outflow/: kept already
    absolute = parts[0] == "/"
    if not holds:
        key = name if absolute else name.casefold()
        (elsewhere if absolute else folded)[key] = kind
        files[key] = name
        return
    for depth in range(2 if absolute else 1, len(parts)):
        above = ("/" + "/".join(parts[1:depth])) if absolute else "/".join(parts[:depth])
        key = above if absolute else above.casefold()
        (elsewhere if absolute else folded)[key] = _HOLDS[kind]
        files[key] = name


def never_owned(path: str, project: Project) -> Refusal | None:
    """Why no job may own ``path`` (relative to the project, or absolute), or
    None when a job may declare it."""
    rel = relative_to(path, project.root) if project.root else normalize(path)
    return refusal_at(rel, project)


def refusal_at(place: str, project: Project) -> Refusal | None:
    """``never_owned`` of a path already normalised and made relative to the
    project where it lies inside (what ``Places.place`` gives). Outflow's
    own names are compared regardless of case: on a filesystem that ignores
    case (macOS, Windows) ``.OUTFLOW`` is ``.outflow``."""
    if place == ".":
        return Refusal.PROJECT
    if "\0" in place:
        return Refusal.NUL
    first = place[0]
    if first == "/":
        if project.root is not None and is_inside(project.root, place):
            return Refusal.ABOVE_PROJECT
        if (place.startswith(SYSTEM_DIRS) and not place.startswith(SHARED_MEMORY)
                or place in _SYSTEM_TOPS):
            return Refusal.SYSTEM  # /dev/null, /dev/stdout: never moved aside or replaced
        # Written as an absolute path outside: on purpose, unless outflow reads it.
        return project.elsewhere.get(place) if project.elsewhere else None
    if first == ".":
        head, _, rest = place.partition("/")
        if head == "..":
            parts = segments(place)
            return Refusal.ABOVE_PROJECT if set(parts) == {".."} else Refusal.OUTSIDE
        if head.casefold() == OUTFLOW_DIR:
            return Refusal.IN_OUTFLOW_DIR if rest else Refusal.OUTFLOW_DIR
    if project.deep or "/" not in place:
        return project.folded.get(place.casefold())
    return None


_ITSELF = "\0itself"  # a parent directory that is its own place: so are the paths in it
_LONG = "\0long"  # a parent whose paths are each placed the long way


class Places:
    """Where paths lead, for one run: normalised, the symlinks of their
    parent directories resolved, relative to the project directory ``root``
    when inside it, absolute outside it. Each distinct parent directory is
    resolved once (the disk is read then, and only then)."""

    def __init__(self, root: str) -> None:
        self.root = normalize(root)
        self.real_root = os.path.realpath(root)
        # Parent directory as written -> what its paths' places start with
        # ("" in the project directory itself, "out/" ...), or a mark.
        self._prefix: dict[str, str] = {}

    def place(self, path: str) -> str:
        if is_normal(path):
            cut = path.rfind("/")
            head = "." if cut < 0 else (path[:cut] or "/")
            prefix = self._prefix.get(head)
            if prefix is None:
                prefix = self._prefix[head] = self._prefix_of(head)
            if prefix is _ITSELF:
                return path
            if prefix is not _LONG:
                return prefix + path[cut + 1 :]
        return self._long(normalize(path))

    def _prefix_of(self, head: str) -> str:
        parent = resolve_parents(head, self.root, whole=True)
        if parent == head and parent[0] != "/":
            return _ITSELF if parent != "." else ""
        if parent == ".":
            return ""
        if parent[0] != "/":
            return parent + "/"
        return _LONG  # outside the project: one of its paths may be the project itself

    def _long(self, norm: str) -> str:
        head, slash, name = norm.rpartition("/")
        if not name or name in (".", ".."):  # ".", "/", "..", "../..": no parent to resolve
            return resolve_parents(norm, self.root, whole=True)
        parent = resolve_parents(head if slash and head else ("/" if slash else "."),
                                 self.root, whole=True)
        if parent == ".":
            return name
        if parent[0] != "/":
            return parent + "/" + name
        full = parent + name if parent == "/" else parent + "/" + name
        # Its parent is outside the project: it is the project itself, or outside too.
        return "." if full == self.real_root else full


class Overlap(Enum):
    """How a path claimed meets one claimed by another owner."""

    SAME = "the same path"
    INSIDE = "inside"  # the path lies inside the other
    HOLDS = "holds"  # the path is a directory holding the other


#: A claim: the place, its owner (compared by identity), what it gave along.
Claim = tuple[str, object, Any]
#: A claim meeting another: how, the claim, and the other one.
Clash = tuple[Overlap, Claim, Claim]


class Claims:
    """Paths (as ``Places`` gives them) claimed by owners, batch by batch:
    each new claim is told when it is the same as, inside, or holding a
    path another owner claimed, in this batch or before. A dict lookup per
    claim, and a walk up the directories per distinct parent directory."""

    def __init__(self) -> None:
        self._exact: dict[str, Claim] = {}
        # Directory -> claims beneath it: the first, and the first by another owner.
        self._below: dict[str, list[Claim | None]] = {}

    def add(self, claims: list[Claim]) -> list[Clash]:
        clashes: list[Clash] = []
        exact, below = self._exact, self._below
        parents: dict[str, list[Claim | None]] = {}  # of the new claims, as in _below
        for claim in claims:
            place, owner, _ = claim
            before = exact.setdefault(place, claim)
            if before is not claim:
                if before[1] is not owner:
                    clashes.append((Overlap.SAME, claim, before))
                continue
            beneath = below.get(place)  # a directory holding earlier claims
            if beneath is not None:
                other = _other(beneath, owner)
                if other is not None:
                    clashes.append((Overlap.HOLDS, claim, other))
            cut = place.rfind("/")
            if cut > 0:
                seen = parents.get(place[:cut])
                if seen is None:
                    parents[place[:cut]] = [claim, None]
                elif seen[1] is None and seen[0][1] is not owner:  # type: ignore[index]
                    seen[1] = claim
        for parent, beneath in parents.items():
            folder = parent
            while True:
                outer = exact.get(folder)
                if outer is not None:
                    inner = _other(beneath, outer[1])
                    if inner is not None:
                        clashes.append((Overlap.INSIDE, inner, outer))
                kept = below.get(folder)
                if kept is None:
                    below[folder] = list(beneath)
                elif kept[1] is None:
                    kept[1] = _other(beneath, kept[0][1])  # type: ignore[index]
                cut = folder.rfind("/")
                if cut <= 0:
                    break
                folder = folder[:cut]
        return clashes


def _other(beneath: list[Claim | None], owner: object) -> Claim | None:
    """Of the (up to two) claims beneath a directory, one not by ``owner``."""
    for claim in beneath:
        if claim is not None and claim[1] is not owner:
            return claim
    return None


def refusal_of_made(place: str, project: Project, *, absolute: bool) -> Refusal | None:
    """``refusal_at`` of a path a pattern made (a place): outside the
    project, it is refused unless the pattern was written as an absolute
    path (``absolute``)."""
    refusal = refusal_at(place, project)
    if refusal is None and not absolute and place[0] == "/":
        return Refusal.OUTSIDE
    return refusal
