"""The runs in which no job runs (ninja's DryRunCommandRunner): a dry run,
where a job that must run completes at once as "would run", and ``--touch``,
where it is recorded as done with its files as they are."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from outflowfile.graph.expand import Job, NodeState
from outflowfile.graph.fileflags import protected_paths
from outflowfile.run.madedirs import made_dirs
from outflowfile.run.protect import refusal
from outflowfile.store.schema import MADE_DIRS

if TYPE_CHECKING:
    from outflowfile.run.loop import Loop


class _NothingRuns:
    """What both have in common: nothing is ever queued or running."""

    def attach(self, loop: Loop) -> None:
        self.loop = loop

    def detach(self) -> None:
        del self.loop

    def step(self) -> bool:
        return False

    def running(self) -> int:
        return 0

    def queued(self) -> int:
        return 0

    def stop(self) -> None:
        pass

    def end(self) -> None:
        pass

    def cancel(self, tell_recorder: bool) -> list[str]:
        return []


class DryRun(_NothingRuns):
    """A job that must run completes with unknown values: what depends on
    it would run too, and a map fed by it cannot be sized yet. One the run
    would refuse to start, as it would replace protected files, fails as it
    would in the run (unless ``force_protected``)."""

    def __init__(self, force_protected: bool = False) -> None:
        self.force_protected = force_protected

    def submit(self, job: Job, key: str, reason: str) -> None:
        loop = self.loop
        loop.decider.missing_input(job)
        if not self.force_protected:
            files = loop.decider.files
            present = [p for p in protected_paths(job) if files.stat(p) is not None]
            if present:
                loop.fail_before_start(job, refusal(job.label, present))
                return
        loop.would_run(job, reason)


class Touch(_NothingRuns):
    """A job that must run is recorded as done with its files as they are
    now, exactly as if it had just made them; or, when its result would not
    be what running it gives, left alone (and so everything downstream)."""

    def __init__(self) -> None:
        self.touched: list[tuple[Any, ...]] = []  # written together at the end

    def submit(self, job: Job, key: str, reason: str) -> None:
        loop = self.loop
        decider = loop.decider
        why = decider.untouchable(job, reason)
        if why is not None:
            job.state = NodeState.FAILED  # not failed, but what depends on it is blocked
            loop.outcome.not_touched.append((job, why))
            for dependent in job.dependents:
                loop.block(dependent)
            return
        files: dict[str, Any] = {"in": decider.input_stamps(job), "out": decider.output_stamps(job)}
        dirs = made_dirs(decider, job, key, ())  # what outflow made for it before
        if dirs:
            files[MADE_DIRS] = dirs
        fresh = decider.made(job, key, {}, files)
        self.touched.append((key, job.task.name, job.slot, fresh.def_hash, fresh.params, files))
        job.values = {}
        loop.outcome.touched.append(job)
        loop.complete(job, NodeState.DONE)

    def end(self) -> None:
        """Record the touched jobs, in one transaction."""
        if not self.touched:
            return
        from outflowfile.store.records import Touched

        self.loop.recorder.jobs_touched([Touched(*t) for t in self.touched])
