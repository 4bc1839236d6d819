"""Protected output files (``protected("...")``): made read-only when their
job succeeds, and never replaced by a job unless the run is told it may
(``--force-protected``). A symbolic link is left as it is: changing its mode
would change its target's, which may be anyone's file. So is a file with
other hard links (``ln {input.x} {output.y}``): its mode is its other
names' too, and one of them may be the user's input."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

_WRITE = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def protect(full: str) -> str | None:
    """Make a file, or a directory and all it holds, read-only for all;
    why that could not be done, or None."""
    return _each(full, lambda mode: mode & ~_WRITE)


def unprotect(full: str) -> str | None:
    """Give its owner write permission back (before it is moved aside or
    removed: a directory must be writable to be moved or emptied)."""
    return _each(full, lambda mode: mode | stat.S_IWUSR)


def refusal(label: str, paths: list[str]) -> str:
    """Why a job that would replace protected files does not start."""
    which = paths[0] if len(paths) == 1 else ", ".join(paths)
    noun = "output file" if len(paths) == 1 else "output files"
    return (
        f"{label}: would replace the protected {noun} {which}; outflow does not replace "
        f"protected files. Move {'it' if len(paths) == 1 else 'them'} away yourself, or run "
        "again with --force-protected to let the job replace "
        f"{'it' if len(paths) == 1 else 'them'}"
    )


def _each(full: str, change: Callable[[int], int]) -> str | None:
    try:
        if os.path.islink(full):
            return None
        _chmod(full, change)
        if os.path.isdir(full):
            for root, dirs, files in os.walk(full):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    if not os.path.islink(path):
                        _chmod(path, change)
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


def _chmod(path: str, change: Callable[[int], int]) -> None:
    st = os.lstat(path)
    if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
        return  # shared with another name: not the job's alone to change
    mode = stat.S_IMODE(st.st_mode)
    new = change(mode)
    if new != mode:
        os.chmod(path, new)
