"""The user's files around a project, planted before a test and compared
after it: what every "nothing else was touched" check is made of."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def plant(top: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path: text) under ``top``; ``top``."""
    for name, text in files.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_text(text)
    return top


def checksums(top: Path, *, skip_state: bool = False, with_dirs: bool = False) -> dict[str, str]:
    """Every file under ``top`` by its sha256; a symlink by where it points
    (never followed). ``skip_state`` leaves out outflow's own ``.outflow``
    folders; ``with_dirs`` lists every directory too (by an empty mark), so
    that a removed empty directory shows."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not (skip_state and d == ".outflow"))
        if with_dirs:
            found[os.path.relpath(folder, top) + "/"] = ""
        for name in [*files, *(d for d in dirs if os.path.islink(os.path.join(folder, d)))]:
            path = Path(folder) / name
            key = str(path.relative_to(top))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
