"""Comparing an incremental run with a clean one: the tests of paths as
values, directory outputs and symbolic links (issue 17) share these."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from outflowtest import outflow


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` but ``.outflow/``: a file's content, a
    link's target, a directory's mark."""
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".outflow"]
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(full):
                found[rel] = "-> " + os.readlink(full)
            elif os.path.isdir(full):
                found[rel] = "<dir>"
            else:
                found[rel] = Path(full).read_text(errors="replace")
    return found


def clean_copy(project: Path, where: Path, sources: list[str], *args: str) -> dict[str, str]:
    """What a clean run makes: the ``sources`` of ``project`` (its
    Outflowfile, its input files and links, as they are now) copied to a
    fresh ``where``, and ``outflow ARGS`` run there once."""
    where.mkdir(parents=True)
    for rel in ["Outflowfile", *sources]:
        src, dst = project / rel, where / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    outflow(where, *args)
    return tree(where)


def ran(stdout: str) -> list[str]:
    """The labels of the jobs a run reports as done (``[k/n] LABEL  0.0s``),
    sorted."""
    return sorted(re.findall(r"^\[\d+/\d+\] (.+?)  \d", stdout, flags=re.M))


def same_mtime(path: Path, like: Path) -> None:
    """Give ``path`` the mtime of ``like`` (what ``cp -p`` or ``rsync -t``
    leave), without following links."""
    st = os.stat(like)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def reasons(stdout: str) -> dict[str, str]:
    """What ``outflow -n`` says would run: each job's label and reason."""
    found: dict[str, str] = {}
    listing = False
    for line in stdout.splitlines():
        if line.startswith("Would run"):
            listing = True
        elif not line.strip():
            listing = False
        elif listing:
            match = re.match(r"^  (\S.*?)\s{2,}(\S.*)$", line)
            if match:
                found[match[1]] = match[2]
    return found
