"""What a run that died (``kill -9``, a crash, a lost machine) left behind,
set right before anything else looks at the outputs.

It left stashes of previous outputs (aside.py) and rows saying "running".
For each stash, the cache tells how its job ended: if its key has a done
record made since the stash was, the job succeeded and the stash is
dropped; otherwise what the job wrote is removed and the previous outputs
are put back, so the record that made them matches them again. An output
of a running row that no stash names had nothing before it: what is there
is partial, and removed. The rows are then marked interrupted, and only
then are the stashes forgotten.

A real run and ``--touch`` recover (``recover``); a dry run changes nothing
and plans over the files as the recovery would leave them (``foresee``).

Jobs a cluster still runs for the dead run, which the next adopts
(adoption.py), are not in ``snapshot.running`` by then; their stashes, by
the jobs' keys in ``keep``, are left as they are, for the run that adopts
them (``Recovered.kept``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from outflowfile.language.ownership import OUTFLOW_DIR
from outflowfile.plan import stamps
from outflowfile.run.aside import Aside, Stash, read_manifest, remove
from outflowfile.run.record import Recorder

if TYPE_CHECKING:
    from outflowfile.plan.stamps import Stats
    from outflowfile.store.snapshot import Snapshot


@dataclass
class Recovered:
    """What the recovery did (or, foreseen, would do)."""

    jobs: int = 0  # rows left running
    restored: list[str] = field(default_factory=list)  # previous outputs put back
    removed: list[str] = field(default_factory=list)  # partial outputs removed
    problems: list[str] = field(default_factory=list)
    kept: list[Stash] = field(default_factory=list)  # the stashes of adopted jobs

    @property
    def changed(self) -> bool:
        return bool(self.jobs or self.restored or self.removed)

    def message(self, foreseen: bool = False) -> str | None:
        """What to tell the user; None when there is nothing to say (a dry
        run's reasons already name the jobs left incomplete)."""
        removed = _count(len(self.removed), "partial output file")
        restored = _count(len(self.restored), "previous output")
        if foreseen:
            if not (self.restored or self.removed):
                return None
            will = [f"removes {removed}"] if self.removed else []
            will += [f"restores {restored}"] if self.restored else []
            both = " and ".join(will)
            return f"outflow: an interrupted run left outputs behind: the next run {both}"
        if self.jobs:
            did = f"removed {removed}" + (f" and restored {restored}" if self.restored else "")
            return f"outflow: {self.jobs} jobs were left incomplete by an interrupted run; {did}"
        if self.restored or self.removed:
            did = f"restored {restored}" + (f", removed {removed}" if self.removed else "")
            return f"outflow: an interrupted run left previous outputs aside; {did}"
        return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def recover(
    workdir: Path, snapshot: Snapshot, recorder: Recorder, stashes: list[Path],
    keep: frozenset[str] = frozenset(),
) -> Recovered:
    """Put right what a dead run left (``stashes``: the manifests found),
    but for the stashes of the keys in ``keep`` (jobs adopted)."""
    aside = Aside(workdir, workdir / OUTFLOW_DIR)
    done = Recovered(jobs=len(snapshot.running))
    covered: set[str] = set()
    put_back: list[Stash] = []
    for stash in _stashes(aside, stashes):
        if stash.key in keep:
            done.kept.append(stash)
            continue
        if stash.done_since(_done_row(snapshot, stash.key)):
            aside.drop(stash)
            continue
        covered.update(e.path for e in stash.entries)
        back = aside.put_back(stash)
        done.restored += back.restored
        done.removed += back.removed
        done.problems += back.problems
        if not back.problems:
            put_back.append(stash)
    for path in _left_over(snapshot, covered):
        problem = remove(os.path.join(workdir, path))
        if problem == "":
            done.removed.append(path)
        elif problem is not None:
            done.problems.append(f"cannot remove {path}: {problem}")
    if snapshot.running:
        recorder.mark_interrupted([r.id for r in snapshot.running])
    for stash in put_back:  # the rows say how the jobs ended: nothing more to tell
        aside.settle(stash)
    aside.tidy()
    return done


def foresee(
    workdir: Path, snapshot: Snapshot, stashes: list[Path], keep: frozenset[str] = frozenset()
) -> tuple[Stats, Recovered]:
    """What ``recover`` would do, doing nothing: the stats the files would
    have after it (path -> stat, None for removed), and the counts."""
    aside = Aside(workdir, workdir / OUTFLOW_DIR)
    will = Recovered(jobs=len(snapshot.running))
    stats: Stats = {}
    covered: set[str] = set()
    for stash in _stashes(aside, stashes, discard=False):
        if stash.key in keep or stash.done_since(_done_row(snapshot, stash.key)):
            continue
        covered.update(e.path for e in stash.entries)
        for entry in stash.entries:
            where = aside.found(entry)
            if entry.places is not None and where is None:
                continue  # left as it is
            if os.path.lexists(aside.full(entry.path)):
                will.removed.append(entry.path)
                stats.update(dict.fromkeys(_inside(aside.full(entry.path), entry.path)))
            stats[entry.path] = None
            if where is not None:
                will.restored.append(entry.path)
                stats[entry.path] = _stat_as(where, aside.full(entry.path))
                # What a directory put back holds: jobs read its files too.
                for inner, there in _inside_with(where, entry.path):
                    stats[inner] = stamps.stat_file(there)
    for path in _left_over(snapshot, covered):
        if os.path.lexists(os.path.join(workdir, path)):
            will.removed.append(path)
        stats[path] = None
    return stats, will


def _stashes(aside: Aside, manifests: list[Path], discard: bool = True) -> list[Stash]:
    found = []
    for manifest in manifests:
        stash = read_manifest(manifest)
        if stash is not None:
            found.append(stash)
        elif discard:
            aside.discard(manifest)
    return found


def _done_row(snapshot: Snapshot, key: str) -> int | None:
    return getattr(snapshot.by_key.get(key), "id", None)


def _left_over(snapshot: Snapshot, covered: set[str]) -> list[str]:
    """The outputs of the rows left running that no stash names."""
    paths: dict[str, None] = {}
    for record in snapshot.running:
        paths.update((p, None) for p in record.files.get("out", {}) if p not in covered)
    return list(paths)


def _inside(full: str, path: str) -> list[str]:
    """The paths in the directory ``full`` (spelled under ``path``); none
    for what is not a directory."""
    return [inner for inner, _ in _inside_with(full, path)]


def _inside_with(full: str, path: str) -> list[tuple[str, str]]:
    """Each path in the directory ``full``, spelled under ``path``, with
    its full path; links are not followed."""
    if os.path.islink(full) or not os.path.isdir(full):
        return []
    found = []
    for folder, dirs, files in os.walk(full):
        rel = os.path.relpath(folder, full)
        for name in dirs + files:
            inner = name if rel == "." else f"{rel}/{name}"
            found.append((f"{path}/{inner}", os.path.join(folder, name)))
    return found


def _stat_as(where: str, original: str) -> stamps.Stat | None:
    """The stat ``original`` will have once ``where`` is renamed to it: a
    relative link resolves from the original's directory."""
    if os.path.islink(where):
        target = os.readlink(where)
        where = os.path.join(os.path.dirname(original), target)
    return stamps.stat_file(where)
