"""What a job may own: the rule over paths, in one place.

A job creates, replaces and removes only the paths it declares as outputs.
Whether two paths are the same, or one lies inside the other, is decided on
normalised paths (``./``, ``//``, ``..`` and a trailing ``/`` taken out),
relative to the project directory; an absolute path inside the project is
made relative first, after resolving the symlinks of its parent directories.

Some paths no job may own whatever it declares (``never_owned``): the project
directory and anything containing it, outflow's own ``.outflow/`` and
anything in it, the Outflowfile. A relative path that climbs out of the
project with ``..`` is refused too: writing elsewhere is said with an
absolute path.

These functions take paths, not patterns: the checker gives them what a
pattern proves (its literal part), and a later stage can give them the paths
a job's bound values make.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

OUTFLOW_DIR = ".outflow"
OUTFLOWFILE_NAMES = ("Outflowfile", "outflowfile")


def normalize(path: str) -> str:
    """``./a//b/../c/`` -> ``a/c``; ``""`` and ``./`` -> ``.``; ``//x`` -> ``/x``."""
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
    if whole or not name:
        real = os.path.realpath(full)
    else:
        real = posixpath.join(os.path.realpath(head), name)
    return relative_to(normalize(real), os.path.realpath(root))


class Refusal(Enum):
    """Why no job may own a path; the value completes "... names ..." ."""

    PROJECT = "the project directory"
    ABOVE_PROJECT = "a directory that contains the project"
    OUTSIDE = "a path outside the project directory"
    OUTFLOW_DIR = "outflow's own directory .outflow/"
    IN_OUTFLOW_DIR = "a path inside outflow's own directory .outflow/"
    OUTFLOWFILE = "the Outflowfile"


@dataclass(frozen=True)
class Project:
    """What the rule needs to know of a project: its directory (absolute,
    symlinks resolved; None when unknown, then absolute paths are taken as
    outside) and the names its Outflowfile may have (relative paths)."""

    root: str | None = None
    outflowfiles: tuple[str, ...] = OUTFLOWFILE_NAMES


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
    first = place[0]
    if first == "/":
        if project.root is not None and is_inside(project.root, place):
            return Refusal.ABOVE_PROJECT
        return None  # written as an absolute path outside: on purpose
    if first == ".":
        head, _, rest = place.partition("/")
        if head == "..":
            parts = segments(place)
            return Refusal.ABOVE_PROJECT if set(parts) == {".."} else Refusal.OUTSIDE
        if head.casefold() == OUTFLOW_DIR:
            return Refusal.IN_OUTFLOW_DIR if rest else Refusal.OUTFLOW_DIR
    if place.casefold() in _folded(project.outflowfiles):
        return Refusal.OUTFLOWFILE
    return None


@lru_cache(maxsize=16)
def _folded(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalize(name).casefold() for name in names)


def _plain(path: str) -> bool:
    """Whether ``path`` is already normalised: no ``.`` or ``..`` segment,
    no empty one, no trailing ``/``. (Conservative: a name starting with a
    dot is taken the long way.)"""
    return (
        bool(path)
        and path[0] != "."
        and path[-1] != "/"
        and "//" not in path
        and "/." not in path
    )


class Places:
    """Where paths lead, for one run: normalised, the symlinks of their
    parent directories resolved, relative to the project directory ``root``
    when inside it, absolute outside it. Each distinct parent directory is
    resolved once (the disk is read then, and only then)."""

    def __init__(self, root: str) -> None:
        self.root = normalize(root)
        self.real_root = os.path.realpath(root)
        self._parents: dict[str, str] = {}

    def place(self, path: str) -> str:
        norm = path if _plain(path) else normalize(path)
        head, slash, name = norm.rpartition("/")
        if not name or name in (".", ".."):  # ".", "/", "..", "../..": no parent to resolve
            return resolve_parents(norm, self.root, whole=True)
        if not slash:
            head = "."
        elif not head:
            head = "/"
        parent = self._parents.get(head)
        if parent is None:
            parent = self._parents[head] = resolve_parents(head, self.root, whole=True)
        if parent == ".":
            return name
        if parent[0] != "/":
            return parent + "/" + name
        full = parent + name if parent == "/" else parent + "/" + name
        # Its parent is outside the project: it is the project itself, or outside too.
        return "." if full == self.real_root else full


class Overlap(Enum):
    """How a path claimed meets one claimed before by another owner."""

    SAME = "the same path"
    INSIDE = "inside"  # the new path lies inside the earlier one
    HOLDS = "holds"  # the new path is a directory holding the earlier one


#: A claim meeting an earlier one: how, the earlier owner, and what it gave along.
Clash = tuple[Overlap, object, Any]


class Claims:
    """Paths (as ``Places`` gives them) claimed by owners, compared by
    identity: each claim is told whether it is the same as, inside, or
    holding a path another owner claimed before, and with what that owner
    gave along (``what``): a ``Clash``. One dict lookup per claim and per directory
    above it."""

    def __init__(self) -> None:
        self._exact: dict[str, tuple[object, Any]] = {}
        # Directory -> the first claim beneath it, and the first by another owner.
        self._below: dict[str, tuple[object, Any]] = {}
        self._below_other: dict[str, tuple[object, Any]] = {}

    def claim(self, place: str, owner: object, what: Any) -> Clash | None:
        entry = (owner, what)
        clash: Clash | None = None
        exact = self._exact
        before = exact.get(place)
        if before is None:
            exact[place] = entry
        elif before[0] is not owner:
            clash = (Overlap.SAME, *before)
        if clash is None and place in self._below:
            for beneath in (self._below[place], self._below_other.get(place)):
                if beneath is not None and beneath[0] is not owner:
                    clash = (Overlap.HOLDS, *beneath)
                    break
        below = self._below
        end = place.rfind("/")
        while end > 0:
            above = place[:end]
            if clash is None:
                outer = exact.get(above)
                if outer is not None and outer[0] is not owner:
                    clash = (Overlap.INSIDE, *outer)
            first = below.setdefault(above, entry)
            if first[0] is not owner and above not in self._below_other:
                self._below_other[above] = entry
            end = above.rfind("/")
        return clash


def refusal_of_made(place: str, project: Project, *, absolute: bool) -> Refusal | None:
    """``refusal_at`` of a path a pattern made (a place): outside the
    project, it is refused unless the pattern was written as an absolute
    path (``absolute``)."""
    refusal = refusal_at(place, project)
    if refusal is None and not absolute and place[0] == "/":
        return Refusal.OUTSIDE
    return refusal
