"""The run's bookkeeping of output files: old outputs removed before a job
starts, the directories it writes into made, partial outputs removed when it
fails or is cancelled, and what a dead run left half made."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from outflowfile.plan.files import FileState


class Outputs:
    def __init__(self, workdir: Path, files: FileState) -> None:
        self.workdir = workdir
        self.files = files  # forgets what it removes: stat-ed again when asked
        self.made_dirs: set[str] = set()  # parents of outputs and logs, made this run

    def prepare(self, outputs: list[str], log: str) -> str | None:
        """Remove old outputs and make the outputs' and the log's directories;
        why that cannot be done (a read-only or full filesystem), or None."""
        problems = [f"{p} (an old output)" for p in self.remove(outputs)]
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
            os.makedirs(os.path.join(self.workdir, parent), exist_ok=True)
            self.made_dirs.add(parent)

    def remove(self, paths: Iterable[str]) -> list[str]:
        """Remove these files (or directories) where they exist; says why for
        each one that is there and cannot be removed."""
        problems = []
        for path in paths:
            self.files.forget(path)
            full = os.path.join(self.workdir, path)
            try:
                os.remove(full)
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                shutil.rmtree(full, ignore_errors=True)
            except OSError as exc:
                # A read-only filesystem refuses even to remove what is not there.
                if os.path.lexists(full):
                    problems.append(f"cannot remove {path}: {exc.strerror or exc}")
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


def remove_left_over(workdir: Path, paths: Iterable[str]) -> list[str]:
    """Remove the outputs that jobs of a dead run left (files only); those
    removed."""
    removed = []
    for path in paths:
        try:
            os.remove(workdir / path)
            removed.append(path)
        except OSError:
            pass
    return removed
