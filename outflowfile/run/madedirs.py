"""The directories outflow made to hold a job's outputs, so that ``--clean``
can remove those (when it leaves them empty) and never one a user made.

The run makes the parents of outputs as it prepares a job (outputs.py);
``make_parents`` says which of them did not exist before. A job's record
keeps, under ``schema.MADE_DIRS``, those above its outputs: made in this
run, or listed by the job's previous record and still there (a job that
runs again finds its directories made already).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from outflowfile.store.schema import MADE_DIRS

if TYPE_CHECKING:
    from outflowfile.graph.expand import Job
    from outflowfile.plan.decide import Decider


def make_parents(workdir: str, directory: str) -> list[str]:
    """Make ``directory`` (relative to ``workdir``, or absolute) and the
    directories above it that are missing; those this call made, outermost
    first (one that appears meanwhile is not counted). Raises OSError as
    ``os.makedirs`` does."""
    missing = []
    path = directory
    while path and not os.path.isdir(os.path.join(workdir, path)):
        missing.append(path)
        above = os.path.dirname(path)
        if above == path:
            break
        path = above
    made = []
    for path in reversed(missing):
        try:
            os.mkdir(os.path.join(workdir, path))
        except FileExistsError:
            if not os.path.isdir(os.path.join(workdir, path)):  # a file in the way
                os.makedirs(os.path.join(workdir, directory))  # raises what it always did
            continue
        made.append(path)
    return made


def dirs_above(outputs: Iterable[str], made: Collection[str], before: Iterable[str],
               workdir: str) -> list[str]:
    """The directories above the (relative) ``outputs`` that outflow made:
    in ``made`` (this run), or in ``before`` (an earlier record) and still
    a directory; sorted."""
    earlier = set(before)
    found = set()
    for path in outputs:
        if os.path.isabs(path):
            continue  # written outside the project on purpose: not --clean's
        folder = os.path.dirname(path)
        while folder and folder not in found:
            if folder in made or (
                folder in earlier and os.path.isdir(os.path.join(workdir, folder))
            ):
                found.add(folder)
            folder = os.path.dirname(folder)
    return sorted(found)


def recorded_dirs(decider: Decider, job: Job, key: str) -> list[str]:
    """The directories the job's latest result says outflow made for it:
    that of its key, else the latest record of its slot."""
    snapshot = decider.snapshot
    previous = decider.fresh.get(key) or snapshot.by_key.get(key)
    if previous is None:
        previous = snapshot.by_slot.get(job.slot)
    if previous is None:
        return []
    return list(previous.files.get(MADE_DIRS, ()))


def made_dirs(decider: Decider, job: Job, key: str, made: Collection[str]) -> list[str]:
    """What a job's record keeps under ``MADE_DIRS`` as it is recorded done."""
    outputs = (job.output_files or {}).values()
    if not outputs:
        return []
    return dirs_above(outputs, made, recorded_dirs(decider, job, key), decider.files.workdir)
