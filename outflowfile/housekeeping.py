"""Housekeeping commands: ``--touch``, ``--forget``, ``--clean``, ``--show``.

Each finds its jobs with the normal planning (``project.prepare``) or reads
the cache, and takes the project lock before it writes anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outflowfile.lock import ProjectLock
from outflowfile.project import (
    STATE_DIR,
    RunRequest,
    _load_snapshot,
    _open_cache,
    check_task_name,
    prepare,
)

if TYPE_CHECKING:
    from outflowfile.console import Console
    from outflowfile.model import Outflowfile
    from outflowfile.scheduler import Outcome


def touch(request: RunRequest, model: Outflowfile, console: Console) -> Outcome:
    """Record every job of the targets that would run, and whose output
    files all exist, as done with those files as they are now (``-n``: only
    say which). Jobs that produce values, or whose outputs are missing, are
    left alone, and so is everything downstream of them."""
    from outflowfile.recorder import RunRecorder

    prep = prepare(request, model, console)
    prep.options.touch = True
    if request.dry_run:
        outcome = prep.engine(_load_snapshot(request), None, None).run()
    else:
        with ProjectLock(request.workdir / STATE_DIR):
            recorder = RunRecorder(lambda: _open_cache(request), request.argv)
            status = "failed"
            try:
                outcome = prep.engine(_load_snapshot(request), recorder, None).run()
                status = "done"
            finally:
                recorder.close(status)
    console.say(touch_report(outcome, request.dry_run))
    return outcome


def touch_report(outcome: Outcome, dry_run: bool) -> str:
    verb = "would touch" if dry_run else "touched"
    lines = [f"outflow: {verb} {len(outcome.touched)} jobs, {outcome.up_to_date} up to date"]
    lines += [f"  {verb} {job.label}" for job in outcome.touched]
    if outcome.not_touched:
        lines.append(f"{len(outcome.not_touched)} jobs not touched (they will run):")
        lines += [f"  not touched {job.label}: {why}" for job, why in outcome.not_touched]
    if outcome.blocked:
        lines.append(
            f"{outcome.blocked} jobs downstream of those not touched either "
            "(their inputs come from jobs that must run first)"
        )
    return "\n".join(lines)


def forget(request: RunRequest, model: Outflowfile, tasks: list[str], console: Console) -> int:
    """Delete the cached records of every job of these tasks: they run next
    time. Returns how many records were deleted."""
    for name in tasks:
        check_task_name(name, model, "--forget")
    total = 0
    with ProjectLock(request.workdir / STATE_DIR):
        cache = _open_cache(request)
        try:
            for name in dict.fromkeys(tasks):
                count = cache.forget(name)
                total += count
                console.say(f"outflow: forgot {count} cached jobs of task {name}")
        finally:
            cache.close()
    return total
