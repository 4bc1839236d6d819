"""Before ``--touch`` or ``--clean``: the jobs a dead run left on a cluster
(run/adoption.py), found as the next run finds them.

While some are still queued or running, the command refuses: their outputs
are not final, and recovering them as interrupted would remove what they
are writing. Those that ended meanwhile with their report in the cache are
recorded first, exactly as a run records the jobs it adopts (the run's
``Dispatcher`` over a ``ClusterExecutor`` that follows them and submits
nothing); then the command goes on as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from outflowfile.executors.cluster.scheduler import Ended
from outflowfile.run.session import STATE_DIR, prepare, recover_first, store_of

NOT_SUBMITTED = "not submitted again: --touch and --clean run no job; the next run runs it"

if TYPE_CHECKING:
    from outflowfile.language.model import Outflowfile
    from outflowfile.run.adoption import Adopted
    from outflowfile.run.session import RunRequest
    from outflowfile.store.door import Store
    from outflowfile.views.console import Console


def settle_left(
    request: RunRequest, model: Outflowfile, console: Console, command: str
) -> frozenset[str]:
    """Refuse while jobs of a dead run still run on a cluster; record those
    that ended (``-n``: only say so). Returns their keys."""
    store = store_of(request)
    if not store.exists():
        return frozenset()
    if request.dry_run:
        from outflowfile.run.adoption import recorded_first

        found = _found(store, command)
        if found:
            console.say(recorded_first(found, command))
        return frozenset(a.key for a in found)
    from outflowfile.run.lock import ProjectLock

    with ProjectLock(request.workdir / STATE_DIR):
        found = _found(store, command)
        if found:
            _record(request, model, console, store, found)
        return frozenset(a.key for a in found)


def _found(store: Store, command: str) -> list[Adopted]:
    from outflowfile.commands.build import still_queued
    from outflowfile.run.adoption import find, refuse_queued

    running = store.snapshot().running
    found = find(store, running, still_queued) if running else []
    refuse_queued(found, command)
    return found


def _record(
    request: RunRequest, model: Outflowfile, console: Console, store: Store, found: list[Adopted]
) -> None:
    """Record the jobs of ``found`` (all ended) through a plan of the targets."""
    from outflowfile.executors.cluster.executor import ClusterExecutor
    from outflowfile.executors.cluster.limits import Limits
    from outflowfile.run.adoption import Settle, left_running, message
    from outflowfile.run.dispatch import Dispatcher
    from outflowfile.run.dryrun import DryRun
    from outflowfile.store.recorder import RunRecorder

    console.say(message(found, foreseen=False))
    prep = prepare(request, model, console)
    recorder = RunRecorder(store.open_cache, request.argv)
    executor = ClusterExecutor(_NoSubmitter(found[0].scheduled.scheduler), recorder.cache,
                               cores=len(found), limits=Limits())
    executor.adopt(found)
    keys = frozenset(a.key for a in found)
    status = "failed"
    try:
        snapshot = store.snapshot()
        snapshot.running = left_running(found, snapshot.running)
        kept = recover_first(prep, snapshot, recorder, console, keys)
        dispatcher = Dispatcher(executor, request.force_protected)
        dispatcher.adopted_stashes = {stash.key: stash for stash in kept}
        prep.loop(snapshot, recorder, Settle(dispatcher, DryRun(), set(keys))).run()
        status = "done"
    except BaseException:
        status = "interrupted"
        raise
    finally:
        prep.drop_prestat()
        executor.close()
        recorder.close(status)


@dataclass
class _NoSubmitter:
    """The scheduler side of an executor that only follows jobs a dead run
    submitted (queues.py asks about those): it submits nothing, so a retry
    of a job that failed there fails as not submitted, and the next run
    runs it again."""

    flavour: str

    def describe(self) -> str:
        return f"{self.flavour} (following the jobs of a dead run only)"

    def submit(self, name: str, command: list[str], native: list[str], log: str,
               workdir: str) -> str:
        raise OSError(NOT_SUBMITTED)

    def submit_array(self, name: str, command: list[str], native: list[str], size: int,
                     log_dir: str, workdir: str) -> list[str]:
        raise OSError(NOT_SUBMITTED)

    def finished(self, ids: list[str]) -> dict[str, Ended]:
        return {job_id: Ended("UNKNOWN") for job_id in ids}

    def cancel(self, ids: list[str]) -> None:
        pass

    def close(self) -> None:
        pass
