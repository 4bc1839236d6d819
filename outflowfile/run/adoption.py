"""Jobs a dead run left on a cluster, taken over by the next run.

A cluster job goes on when the outflow that submitted it dies (``kill -9``,
a lost login session): the scheduler runs it, and the job writes its own
report into its row of the cache (executors/cluster/nodejob.py). Its row
still says "running", and ``scheduled`` holds its scheduler id. The next
run asks the scheduler, once, which of those ids are still queued or
running (``StillQueued``, the cluster side's to answer), and *adopts* them
and those whose report is in the cache: their outputs are not touched by
the recovery (recovery.py), and when the plan wants the job again, the
dispatcher follows the scheduler's job in place of submitting another
(its row becomes the new run's; ``scheduled.adopted_from`` keeps the run
that submitted it). A job whose id is gone and whose report is absent died
with nothing to show: it is recovered as interrupted and runs again.

A run without ``--cluster`` does not follow cluster jobs: it refuses to
start while some still run, rather than write their outputs beside them.
``--touch`` and ``--clean`` refuse too (``refuse_queued``), and record
those that ended first, as a run does (``Settle``, commands/leftjobs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from outflowfile.errors import UserError

if TYPE_CHECKING:
    from outflowfile.graph.expand import Job
    from outflowfile.run.dispatch import Dispatch, Dispatcher
    from outflowfile.run.loop import Loop
    from outflowfile.store.door import Store
    from outflowfile.store.records import Record, Scheduled

#: The ids, among those a run recorded, still queued or running (OSError:
#: the scheduler could not be asked).
StillQueued = Callable[[list["Scheduled"]], set[str]]


@dataclass
class Adopted:
    record: Record  # its row, still "running"
    scheduled: Scheduled
    queued: bool  # still queued or running; else it ended, and its report is in the cache

    @property
    def key(self) -> str:
        return self.record.key


def find(store: Store, running: list[Record], still_queued: StillQueued) -> list[Adopted]:
    """The rows left running whose jobs a cluster still runs, or which
    ended with their report in the cache."""
    if not running:
        return []
    scheduled = store.scheduled([r.id for r in running])
    if not scheduled:
        return []
    try:
        queued = still_queued(list(scheduled.values()))
    except OSError as exc:
        raise UserError(
            f"jobs of an earlier run were sent to a cluster, and its scheduler cannot "
            f"be asked whether they still run: {exc}",
            hint="run outflow where the scheduler's commands (squeue, qstat) work",
        ) from None
    found = []
    for record in running:
        s = scheduled.get(record.id)
        if s is not None and (s.scheduler_id in queued or s.reported):
            found.append(Adopted(record, s, s.scheduler_id in queued))
    return found


def left_running(found: list[Adopted], running: list[Record]) -> list[Record]:
    """``running`` less the rows adopted (what the recovery is to put right)."""
    rows = {a.record.id for a in found}
    return [r for r in running if r.id not in rows]


def message(found: list[Adopted], foreseen: bool) -> str:
    """What to tell the user of the jobs adopted (or, ``foreseen``, to be)."""
    if foreseen:
        return f"outflow: the next run adopts {_what(found)}, rather than run them again"
    return f"outflow: adopting {_what(found)}"


def recorded_first(found: list[Adopted], command: str) -> str:
    """What ``command -n`` says of the jobs that ended (run/leftjobs.py)."""
    return f"outflow: {command} first records {_what(found)}, as a run would"


def _what(found: list[Adopted]) -> str:
    queued = [a for a in found if a.queued]
    ended = len(found) - len(queued)
    runs = sorted({a.scheduled.run_id or 0 for a in found})
    of = f"run {runs[0]}" if len(runs) == 1 else "runs " + ", ".join(map(str, runs))
    parts = []
    if queued:
        ids = ", ".join(a.scheduled.scheduler_id for a in queued[:8])
        more = f" and {len(queued) - 8} more" if len(queued) > 8 else ""
        parts.append(f"{len(queued)} {_jobs(len(queued))} of {of} still queued or running "
                     f"on the cluster ({queued[0].scheduled.scheduler} ids {ids}{more})")
    if ended:
        parts.append(f"{ended} {_jobs(ended)} of {of} that ended on the cluster meanwhile")
    return "; ".join(parts)


def refuse_local(found: list[Adopted]) -> None:
    """A run without a cluster must not run jobs a cluster still runs."""
    queued = [a for a in found if a.queued]
    if not queued:
        return
    s = queued[0].scheduled
    runs = "still runs" if len(queued) == 1 else "still run"
    raise UserError(
        f"{len(queued)} {_jobs(len(queued))} of an earlier run {runs} on the cluster "
        f"({s.scheduler} ids {_ids(queued)})",
        hint=f"run with --cluster to adopt them, or cancel them first ({_cancel(queued)})",
    )


def refuse_queued(found: list[Adopted], command: str) -> None:
    """``--touch`` and ``--clean`` judge outputs as they are: not while jobs
    of a dead run may still write them."""
    queued = [a for a in found if a.queued]
    if not queued:
        return
    s = queued[0].scheduled
    runs = sorted({a.scheduled.run_id or 0 for a in queued})
    of = f"run {runs[0]}" if len(runs) == 1 else "runs " + ", ".join(map(str, runs))
    are = "is" if len(queued) == 1 else "are"
    raise UserError(
        f"{command}: {len(queued)} {_jobs(len(queued))} of {of} {are} still queued or running "
        f"on the cluster ({s.scheduler} ids {_ids(queued)}), and may still write the outputs",
        hint=f"wait for them to end, or run outflow with --cluster to adopt them, "
             f"or cancel them ({_cancel(queued)}); then {command} again",
    )


def _ids(queued: list[Adopted]) -> str:
    return " ".join(a.scheduled.scheduler_id for a in queued)


def _cancel(queued: list[Adopted]) -> str:
    cancel = "scancel" if queued[0].scheduled.scheduler.startswith("slurm") else "qdel"
    return f"{cancel} {_ids(queued)}"


class Settle:
    """The dispatch of a plan that records the jobs of a dead run that
    ended on a cluster, as a run does (``Dispatcher``, over an executor
    that follows them), before ``--touch`` or ``--clean``; every other job
    that must run goes to ``rest`` (a dry run's, which runs nothing)."""

    def __init__(self, adopted: Dispatcher, rest: Dispatch, keys: set[str]) -> None:
        self.adopted = adopted
        self.rest = rest
        self.keys = keys

    def attach(self, loop: Loop) -> None:
        self.adopted.attach(loop)
        self.rest.attach(loop)

    def detach(self) -> None:
        self.adopted.detach()
        self.rest.detach()

    def submit(self, job: Job, key: str, reason: str) -> None:
        (self.adopted if key in self.keys else self.rest).submit(job, key, reason)

    def step(self) -> bool:
        return self.adopted.step()

    def running(self) -> int:
        return self.adopted.running()

    def queued(self) -> int:
        return self.adopted.queued()

    def stop(self) -> None:
        self.adopted.stop()

    def end(self) -> None:
        self.adopted.end()
        self.rest.end()

    def cancel(self, tell_recorder: bool) -> list[str]:
        return self.adopted.cancel(tell_recorder)


def _jobs(n: int) -> str:
    return "job" if n == 1 else "jobs"
