"""The run's bookkeeping of output files: previous outputs set aside before a
job starts and put back if it does not succeed (aside.py), the directories
it writes into made, and partial outputs removed between its attempts."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from outflowfile.language.ownership import OUTFLOW_DIR
from outflowfile.plan.files import FileState
from outflowfile.run.aside import Aside, PutBack, Stash, remove
from outflowfile.run.madedirs import make_parents


def special_kind(full: str) -> str:
    """What is at ``full`` when it is none of what a job makes and outflow
    may replace (a file, a directory, a symbolic link): "a character
    device" (``/dev/null``), "a named pipe"...; "" otherwise."""
    try:
        mode = os.lstat(full).st_mode
    except OSError:
        return ""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
        return ""
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


class Outputs:
    def __init__(self, workdir: Path, files: FileState) -> None:
        self.workdir = workdir
        self.files = files  # forgets what it moves or removes: stat-ed again when asked
        self.made_dirs: set[str] = set()  # parents of outputs and logs, made this run
        self.created: set[str] = set()  # of those, the ones that did not exist (madedirs.py)
        self.aside = Aside(workdir, workdir / OUTFLOW_DIR)

    def set_aside(
        self, outputs: list[str], key: str, previous: int | None
    ) -> tuple[Stash | None, str | None]:
        """Move the job's outputs that exist into a stash (none when none
        exists: a first run costs one lstat per output, or none when the plan
        saw it); ``previous``: the id of the key's done record. The stash, or
        why it could not be made (then every output is as it was)."""
        present = [self._exists(p) for p in outputs]
        if not any(present):
            return None, None
        odd = [(p, what) for p, there in zip(outputs, present, strict=True)
               if there and (what := special_kind(self.full(p)))]
        if odd:  # nothing is moved
            return None, "; ".join(
                f"its output {p} is {what}, which outflow never moves, replaces or removes "
                "(it replaces only files, directories and symbolic links)" for p, what in odd)
        for path in outputs:
            self.files.forget(path)
        try:
            stash, problems = self.aside.set_aside(key, previous, outputs, present)
        except OSError as exc:
            return None, f"cannot set the old outputs aside: {exc.strerror or exc}"
        if problems:
            back = self.aside.put_back(stash)
            if not back.problems:
                self.aside.settle(stash)
            return None, "; ".join(f"{p} (an old output)" for p in problems + back.problems)
        return stash, None

    def _exists(self, path: str) -> bool:
        seen = self.files.seen().get(path)
        if seen is not None:  # the plan saw it; a link to nothing it calls missing
            return True
        return os.path.lexists(os.path.join(self.workdir, path))

    def exists(self, path: str) -> bool:
        """Whether something (a file, a directory, a link) is at ``path`` now."""
        return os.path.lexists(self.full(path))

    def full(self, path: str) -> str:
        return os.path.join(self.workdir, path)

    def put_back(self, stash: Stash) -> PutBack:
        """Remove what the job wrote and put its previous outputs back."""
        for entry in stash.entries:
            self.files.forget(entry.path)
        return self.aside.put_back(stash)

    def prepare(self, outputs: list[str], log: str) -> str | None:
        """Make the outputs' and the log's directories; why that cannot be
        done (a read-only or full filesystem), or None."""
        problems = []
        for path in outputs + [log]:
            try:
                self._make_parent(path)
            except OSError as exc:
                problems.append(f"cannot make the directory {os.path.dirname(path)} "
                                f"for {path}: {exc.strerror or exc}")
        return "; ".join(problems) if problems else None

    def _make_parent(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent not in self.made_dirs:
            self.created.update(make_parents(str(self.workdir), parent))
            self.made_dirs.add(parent)

    def remove(self, paths: Iterable[str]) -> list[str]:
        """Remove these files (or directories) where they exist; says why for
        each one that is there and cannot be removed."""
        problems = []
        for path in paths:
            self.files.forget(path)
            full = os.path.join(self.workdir, path)
            why = remove(full)
            # A read-only filesystem refuses even to remove what is not there.
            if why and os.path.lexists(full):
                problems.append(f"cannot remove {path}: {why}")
        return problems

    def touch(self, paths: Iterable[str]) -> list[str]:
        """Set these files' mtimes to now (early cutoff kept them: they must
        not look older than the inputs just remade); says why for each one
        that cannot be touched."""
        problems = []
        for path in paths:
            self.files.forget(path)
            try:
                os.utime(os.path.join(self.workdir, path))
            except OSError as exc:
                problems.append(f"cannot touch {path}: {exc.strerror or exc}")
        return problems

