"""What ``--clean`` removes and what it keeps, and why: it removes only what
outflow made.

A path goes when the cache records it as an output of one of the targets'
jobs (the latest finished record of the job) and it is still as that record
says (the stamp comparison of ``plan/stamps.py``, over ``plan/files.py``'s
``FileState``: a directory output compares as planning compares it). A file
edited by hand since, a file at an output path that no record lists, and
whatever the ownership rule says no job owns (``language/ownership.py``:
the project, the Outflowfile, ``.outflow/``) are kept, each with its reason;
so is anything outside the project. A directory that outflow made to hold
outputs (the record's ``out_dirs``, run/madedirs.py) goes when nothing is
left in it; no other directory does.

``plan_clean`` reads the disk and changes nothing (what ``-n`` lists is
exactly what would go); ``carry_out`` removes, checking each file again.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from outflowfile.language import ownership
from outflowfile.language.ownership import Project
from outflowfile.plan import stamps
from outflowfile.plan.files import FileState
from outflowfile.run.protect import unprotect
from outflowfile.store.schema import MADE_DIRS

CHANGED = "changed since outflow made it"
NOT_MADE = "the cache has no record of outflow making it"
NOT_EMPTY = "a directory outflow made, not empty"
PROTECTED = "a protected() output: --clean removes it only with --force-protected"


@dataclass
class CleanPlan:
    """What ``--clean`` removes (``outputs``, then ``dirs``, deepest first)
    and keeps (path -> why)."""

    outputs: list[str] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, Any] = field(default_factory=dict)  # output -> its recorded stamp

    @property
    def count(self) -> int:
        return len(self.outputs) + len(self.dirs)


def plan_clean(
    workdir: str,
    project: Project,
    records: Iterable[Any],
    declared: Iterable[str],
    protected: Iterable[str] = (),
) -> CleanPlan:
    """What to remove of the outputs the ``records`` (finished records of
    the targets' jobs) list, and which of the ``declared`` outputs (those
    the jobs name now) to keep, and why; the ``protected`` ones are kept."""
    guarded = {ownership.normalize(p) for p in protected}
    plan = CleanPlan()
    files = FileState(workdir)
    recorded: dict[str, Any] = {}
    made: set[str] = set()
    for record in records:
        recorded.update(record.files.get("out", {}))
        made.update(record.files.get(MADE_DIRS, ()))
    for path, stamp in sorted(recorded.items()):
        if not os.path.lexists(files.full_path(path)):
            continue
        why = refusal(path, project) or ("" if stamps.same(stamp, files.stat(path)) else CHANGED)
        if not why and ownership.normalize(path) in guarded:
            why = PROTECTED
        if why:
            plan.kept[path] = why
        else:
            plan.outputs.append(path)
            plan.stamps[path] = stamp
    known = {ownership.normalize(p) for p in recorded}
    for path in sorted(set(declared)):
        if ownership.normalize(path) not in known and os.path.lexists(files.full_path(path)):
            plan.kept[path] = refusal(path, project) or NOT_MADE
    _empty_dirs(plan, workdir, project, made)
    return plan


def refusal(path: str, project: Project) -> str | None:
    """Why ``--clean`` never removes ``path`` whatever the cache says, or None."""
    assert project.root is not None
    rel = ownership.resolve_parents(path, project.root)
    refused = ownership.never_owned(rel, project)
    if refused is not None and refused.held is not None:
        return f"it holds {refused.held.value}, which --clean never removes"
    if refused is not None:
        return f"{refused.value}, which --clean never removes"
    if rel.startswith("/"):
        return "outside the project: --clean removes only inside it"
    return None


def _empty_dirs(plan: CleanPlan, workdir: str, project: Project, made: set[str]) -> None:
    """The directories outflow made that nothing is left in once the plan's
    outputs are gone (and those inside them), deepest first."""
    gone = {ownership.normalize(p) for p in plan.outputs}
    named = {ownership.normalize(p) for p in plan.kept}  # kept as an output already
    candidates = {ownership.normalize(d) for d in made} - named
    for folder in sorted(candidates, key=lambda d: (-len(ownership.segments(d)), d)):
        full = os.path.join(workdir, folder)
        if not os.path.isdir(full) or os.path.islink(full) or folder in gone:
            continue
        refused = refusal(folder, project)
        if refused is not None:
            plan.kept[folder + "/"] = refused
            continue
        try:
            left = [e for e in os.listdir(full) if ownership.normalize(f"{folder}/{e}") not in gone]
        except OSError as exc:
            plan.kept[folder + "/"] = f"cannot be listed: {exc.strerror or exc}"
            continue
        if left:
            plan.kept[folder + "/"] = NOT_EMPTY
        else:
            plan.dirs.append(folder)
            gone.add(folder)


def shown(workdir: str, path: str) -> str:
    """A path as --clean lists it: a directory with a trailing ``/``."""
    full = os.path.join(workdir, path)
    return path + "/" if os.path.isdir(full) and not os.path.islink(full) else path


def carry_out(workdir: str, plan: CleanPlan) -> tuple[int, dict[str, str]]:
    """Remove what the plan says, each output checked against its record
    once more (it may have changed since it was listed); how many paths were
    removed, and those kept after all (path -> why)."""
    removed, kept = 0, {}
    files = FileState(workdir)
    for path in plan.outputs:
        full = files.full_path(path)
        if not stamps.same(plan.stamps[path], files.stat(path)):
            if os.path.lexists(full):
                kept[path] = CHANGED
            continue
        try:
            if os.path.isdir(full) and not os.path.islink(full):
                unprotect(full)  # a protected directory is read-only all through
                shutil.rmtree(full)
            else:
                os.remove(full)
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            kept[path] = f"cannot be removed: {exc.strerror or exc}"
    for folder in plan.dirs:
        try:
            os.rmdir(os.path.join(workdir, folder))
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:  # something was put in it since it was listed
            empty = exc.errno not in (errno.ENOTEMPTY, errno.EEXIST)
            kept[folder + "/"] = f"cannot be removed: {exc.strerror or exc}" if empty else NOT_EMPTY
    return removed, kept
