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
from dataclasses import dataclass
from enum import Enum

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
    if rel == ".":
        return Refusal.PROJECT
    if rel.startswith("/"):
        if project.root is not None and is_inside(project.root, rel):
            return Refusal.ABOVE_PROJECT
        return None  # written as an absolute path outside: on purpose
    parts = segments(rel)
    if parts[0] == "..":
        return Refusal.ABOVE_PROJECT if set(parts) == {".."} else Refusal.OUTSIDE
    if parts[0].casefold() == OUTFLOW_DIR:
        return Refusal.OUTFLOW_DIR if len(parts) == 1 else Refusal.IN_OUTFLOW_DIR
    folded = _casefolded(parts)
    if any(_casefolded(segments(name)) == folded for name in project.outflowfiles):
        return Refusal.OUTFLOWFILE
    return None


def _casefolded(parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.casefold() for part in parts)
