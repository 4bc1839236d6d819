"""Where the run loop sends a job that must run (ninja's CommandRunner, one
level up): to an executor (``Dispatcher``), or, in a dry run, nowhere
(``dryrun.DryRun``), or, with ``--touch``, into the cache as done
(``dryrun.Touch``).

The dispatcher keeps the queue of jobs waiting for room, starts what fits,
and finishes what ends: records it, checks it made what it promised, retries
it, or fails it.

A job's previous outputs are set aside before it starts (aside.py) and kept
across its retries; they are dropped when it succeeds and put back when it
fails for good or is cancelled. A stash is forgotten only once the cache
holds how its job ended (the recorder writes ends in batches): until then,
a run that dies leaves it for the next run to settle from the cache.
"""

from __future__ import annotations

import pickle
import socket
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from outflowfile import valuecodec
from outflowfile.errors import UserError
from outflowfile.graph.expand import ExpansionError, Job, NodeState
from outflowfile.graph.fileflags import protected_paths
from outflowfile.language import typerules
from outflowfile.plan.envdigests import MISSING
from outflowfile.run.aside import Stash
from outflowfile.run.executor import Executor
from outflowfile.run.jobspec import JobResult, JobSpec
from outflowfile.run.madedirs import made_dirs
from outflowfile.run.protect import protect, refusal, unprotect
from outflowfile.run.specs import job_spec
from outflowfile.store.schema import MADE_DIRS

if TYPE_CHECKING:
    from outflowfile.run.adoption import Adopted
    from outflowfile.run.loop import Loop


class Dispatch(Protocol):
    def attach(self, loop: Loop) -> None:
        """The loop whose jobs these are (called once, by the loop)."""
        ...

    def detach(self) -> None:
        """Let go of the loop: the run is over, and no reference cycle is to
        keep the loop and all it decided from alive after it."""
        ...

    def submit(self, job: Job, key: str, reason: str) -> None:
        """``job`` (decided, of key ``key``) must run, for ``reason``."""
        ...

    def step(self) -> bool:
        """Start what fits, wait a moment for jobs to end and finish them;
        False, doing nothing, when no job is left to wait for."""
        ...

    def running(self) -> int: ...

    def queued(self) -> int:
        """Jobs submitted that are not running yet."""
        ...

    def stop(self) -> None:
        """Start nothing more."""
        ...

    def end(self) -> None:
        """The loop is over (not interrupted)."""
        ...

    def cancel(self, tell_recorder: bool) -> list[str]:
        """Kill the running jobs, remove their outputs, put their previous
        outputs back and, with ``tell_recorder``, mark them interrupted; the
        labels of those that had started."""
        ...


@dataclass
class Running:
    job: Job
    row: int | None
    spec: JobSpec
    in_stamps: dict[str, Any]
    attempt: int
    reason: str = ""


class Dispatcher:
    """Jobs that must run go to ``executor``."""

    def __init__(self, executor: Executor, force_protected: bool = False) -> None:
        self.executor = executor
        self.force_protected = force_protected  # jobs may replace protected() outputs
        self.queue: deque[tuple[Job, str, int]] = deque()  # job, reason, attempt
        self.started: dict[int, Running] = {}
        self.specs: dict[int, JobSpec] = {}  # built for queued jobs that did not fit yet
        self.to_run = 0
        self.host = socket.gethostname()
        self.stashes: dict[int, Stash] = {}  # by job id: previous outputs set aside
        # Stashes to drop (the job succeeded) or forget (put back) once the
        # cache holds how their jobs ended.
        self.settling: list[tuple[Stash, bool]] = []
        # By key: the stashes of jobs a dead run left on a cluster, which
        # this run adopts (adoption.py).
        self.adopted_stashes: dict[str, Stash] = {}

    def attach(self, loop: Loop) -> None:
        self.loop = loop
        self.decider = loop.decider
        self.recorder = loop.recorder
        self.reporter = loop.reporter
        self.outputs = loop.outputs

    def detach(self) -> None:
        del self.loop

    def submit(self, job: Job, key: str, reason: str) -> None:
        self.decider.missing_input(job)
        self.to_run += 1
        self.queue.append((job, reason, 0))
        self.reporter.job_queued(job)

    def running(self) -> int:
        return self.executor.running()

    def queued(self) -> int:
        # Jobs queued in the executor (see executors/local.py) are not running yet.
        return len(self.queue) + len(self.started) - self.executor.running()

    def step(self) -> bool:
        self._dispatch()
        due = self.recorder.flush_due()
        if due is None:  # nothing waits to be written: every end so far is recorded
            self._settle()
        if not self.started and not (self.queue and not self.loop.stopping):
            return False
        for result in self.executor.wait(1.0 if due is None else min(due, 1.0)):
            self._finish(result)
        return True

    def stop(self) -> None:
        withdraw = getattr(self.executor, "withdraw_queued", None)
        if withdraw is not None:
            withdraw()

    def end(self) -> None:
        # Jobs left queued with a stash (a retry when the run stopped).
        for job_id in list(self.stashes):
            self._put_back(job_id)
        self.recorder.flush()
        self._settle()
        self.outputs.aside.tidy()

    # --- starting -------------------------------------------------------------

    def _dispatch(self) -> None:
        if self.loop.stopping:
            return
        # Jobs that do not fit now keep their place; a few behind them may be
        # smaller and fit. Looking further would rescan the queue every round.
        skipped: list[tuple[Job, str, int]] = []
        # Jobs asking for what one that did not fit asked for do not fit either.
        too_big: set[tuple[Any, ...]] = set()
        while self.queue and len(skipped) < 8:
            job, reason, attempt = self.queue.popleft()
            spec = self.specs.get(job.id)
            if spec is None:
                try:
                    spec = self.specs[job.id] = self._spec(job)
                except ExpansionError as exc:
                    self.loop.fail_before_start(job, str(exc))
                    continue
            size = (spec.cpus, spec.mem, spec.resources.get("local"))
            if size in too_big and spec.cpus == 1 and not spec.mem:
                # A second job asking for the least there is, after one like
                # it did not fit: stop looking. What follows is most often
                # more of the same (a map's jobs), and scanning 8 of them
                # after every start cost more than the start itself.
                skipped.append((job, reason, attempt))
                break
            # With nothing of ours running, waiting cannot free anything: start
            # it, and the executor refuses it if it can never fit. A job may
            # also be queued behind a running one, when none before it waits.
            if (size in too_big or not self.executor.can_start(spec)) and (
                self.started or skipped
            ) and (skipped or not self._can_queue(spec)):
                too_big.add(size)
                skipped.append((job, reason, attempt))
                continue
            del self.specs[job.id]
            self._start(job, spec, reason, attempt)
        self.queue.extendleft(reversed(skipped))

    def _done_row(self, key: str) -> int | None:
        """The id of the cache's done record of ``key``: the one the previous
        outputs match, if any (a record of this run has none)."""
        record = self.decider.snapshot.by_key.get(key)
        return getattr(record, "id", None)

    def _can_queue(self, spec: JobSpec) -> bool:
        can_queue = getattr(self.executor, "can_queue", None)
        return can_queue is not None and bool(can_queue(spec))

    def _spec(self, job: Job) -> JobSpec:
        loop = self.loop
        cpus = self.executor.grant(job.resources.cpus)
        envs, env = self.decider.envs, job.resources.environment
        environment = envs.describe(env) if env and envs is not None else None
        return job_spec(job, self.decider.keys[job.id], cpus, loop.workdir, loop.outflowfile,
                        environment)

    def _start(self, job: Job, spec: JobSpec, reason: str, attempt: int) -> None:
        adoptable = getattr(self.executor, "adoptable", None)
        found = adoptable(spec.key) if adoptable is not None else None
        if found is not None:
            self._adopt(job, spec, found, attempt)
            return
        outputs = list(spec.output_files.values())
        refused = self._protected_in_place(job)
        if refused is not None:
            self.loop.fail_before_start(job, refused)
            return
        in_stamps = self.decider.input_stamps(job)
        # Before the cache says it runs: a run that dies from here on leaves
        # the stash's manifest to tell the next run what to put back.
        if outputs and job.id not in self.stashes:  # a retry keeps its first stash
            stash, problem = self.outputs.set_aside(outputs, spec.key, self._done_row(spec.key))
            if problem is not None:
                self.loop.fail_before_start(job, problem)
                return
            if stash is not None:
                self.stashes[job.id] = stash
        try:
            row = self.recorder.job_started(
                spec.key,
                job.task.name,
                job.slot,
                self.decider.def_hashes[job.task.name],
                spec.params,
                outputs,
                spec.log,
                self.host,
                time.time(),
                image=ran_in(spec),
            )
        except UserError:  # the cache cannot be written: nothing ran, all is as it was
            self._put_back(job.id)
            raise
        spec.row = row if row is None or row > 0 else None  # a ticket is the recorder's own
        # Running from here on, so that a Ctrl-C at any moment finds it and
        # cleans up after it, whether or not its process has started.
        job.state = NodeState.RUNNING
        self.started[job.id] = Running(job, row, spec, in_stamps, attempt, reason)
        problem = self.outputs.prepare(outputs, spec.log)
        if problem is None:
            self.reporter.job_started(job, reason, spec)
            try:
                self.executor.start(spec)
            except (ValueError, OSError, pickle.PicklingError) as exc:
                problem = str(exc)
        if problem is not None:
            del self.started[job.id]
            self._put_back(job.id)
            if row is not None:
                self.recorder.job_failed(row, problem, time.time(), None, None, None)
            self.loop.fail_before_start(job, problem)

    def _adopt(self, job: Job, spec: JobSpec, found: Adopted, attempt: int) -> None:
        """Follow the job a dead run left on a cluster rather than start
        another (adoption.py): its row, stash and outputs are its own."""
        row = found.record.id
        stash = self.adopted_stashes.pop(spec.key, None)
        if stash is not None:
            self.stashes[job.id] = stash
        in_stamps = self.decider.input_stamps(job)
        self.recorder.adopt(row)
        spec.row = row
        job.state = NodeState.RUNNING
        reason = f"adopted from run {found.scheduled.run_id}"
        self.started[job.id] = Running(job, row, spec, in_stamps, attempt, reason)
        self.reporter.job_started(job, reason, spec)
        self.executor.start(spec)

    def _protected_in_place(self, job: Job) -> str | None:
        """Why ``job`` may not start: it would replace protected files. With
        --force-protected they are made writable again (to be set aside)."""
        present = [p for p in protected_paths(job) if self.outputs.exists(p)]
        if not present:
            return None
        if not self.force_protected:
            return refusal(job.label, present)
        for path in present:
            problem = unprotect(self.outputs.full(path))
            if problem is not None:
                return f"cannot make the protected file {path} writable: {problem}"
        return None

    def _protect(self, job: Job, paths: Iterable[str]) -> None:
        for path in paths:
            problem = protect(self.outputs.full(path))
            if problem is not None:
                self.reporter.warn(f"outflow: {job.label}: cannot make {path} read-only: {problem}")

    # --- finishing ------------------------------------------------------------

    def _finish(self, result: JobResult) -> None:
        run = self.started.pop(result.id)
        job = run.job
        if not result.ran:
            self._not_started(run)
            return
        error = result.error if not result.ok else self._check_result(job, run.spec, result)
        if error is None:
            self._protect(job, protected_paths(job))
            self._record_success(run, result)
            stash = self.stashes.pop(job.id, None)
            if stash is not None:
                self.settling.append((stash, True))
            return
        retry = run.attempt < job.resources.retries and not self.loop.stopping
        if retry:  # its previous outputs stay aside for the next attempt
            for problem in self.outputs.remove(run.spec.output_files.values()):
                error += f"\n{problem} (a partial output)"
        else:
            for problem in self._put_back(job.id, run.spec.output_files.values()):
                error += f"\n{problem}"
            # The previous versions are back: protected again.
            self._protect(job, [p for p in protected_paths(job) if self.outputs.exists(p)])
        if run.row is not None:
            self.recorder.job_failed(
                run.row,
                error,
                result.ended or time.time(),
                result.exit_status,
                result.cpu_seconds,
                result.peak_mem,
                result.started or None,  # later than the row says, if it was queued
            )
        if retry:
            self.reporter.job_retry(job, run.attempt + 1, job.resources.retries, error)
            self.queue.appendleft((job, "retry", run.attempt + 1))
            return
        self.loop.fail(job)
        self.reporter.job_failed(job, run.spec, result, error)
        self.loop.fail_downstream(job)

    def _not_started(self, run: Running) -> None:
        """A job the executor had queued and never started: as if it had
        never left the queue (what it may have begun to write is removed;
        its previous outputs stay aside until it starts or the run ends)."""
        self.outputs.remove(run.spec.output_files.values())
        if run.row is not None:
            self.recorder.withdraw(run.row)
        self.reporter.job_not_started(run.job)
        run.job.state = NodeState.READY
        if not self.loop.stopping:
            self.queue.appendleft((run.job, run.reason, run.attempt))

    def _check_result(self, job: Job, spec: JobSpec, result: JobResult) -> str | None:
        """Why a job that exited well still failed, or None."""
        for out in job.task.outputs:
            value = result.values.get(out.name)
            if out.type is not None and not typerules.matches(value, out.type):
                return (
                    f"task {job.task.name!r} returned {typerules.describe(value)} "
                    f"for output {out.name!r}, declared {out.type}"
                )
        unstorable = valuecodec.unstorable_output(job.task.name, result.values)
        if unstorable:
            return unstorable
        files = self.decider.files
        for path in spec.output_files.values():
            files.forget(path)
            if files.stat(path) is None:
                return f"the job finished but did not make its output file {path}"
        return None

    def _record_success(self, run: Running, result: JobResult) -> None:
        job = run.job
        files: dict[str, Any] = {"in": run.in_stamps, "out": self.decider.output_stamps(job)}
        dirs = made_dirs(self.decider, job, run.spec.key, self.outputs.created)
        if dirs:
            files[MADE_DIRS] = dirs
        if run.row is not None:
            self.recorder.job_done(
                run.row,
                result.values,
                files,
                result.ended,
                result.exit_status,
                result.cpu_seconds,
                result.peak_mem,
                result.started or None,
            )
        self.decider.made(job, run.spec.key, result.values, files)
        job.values = result.values
        ran = self.loop.outcome.ran
        ran.append(job)
        self.reporter.job_done(job, result, len(ran), self.to_run)
        self.loop.complete(job, NodeState.DONE)

    # --- stopping -------------------------------------------------------------

    def cancel(self, tell_recorder: bool) -> list[str]:
        never_ran = {r.id for r in self.executor.cancel_all() if not r.ran}
        rows, names = [], []
        for run in self.started.values():
            self._put_back(run.job.id, run.spec.output_files.values())
            if run.job.id in never_ran:
                if tell_recorder and run.row is not None:
                    self.recorder.withdraw(run.row)
                continue
            names.append(run.job.label)
            if run.row is not None:
                rows.append(run.row)
        self.started.clear()
        # Queued for another attempt, or caught starting (its row may say
        # running): put back, and left for the next run to settle.
        for job_id in list(self.stashes):
            self._put_back(job_id, settle=False)
        if tell_recorder:
            if rows:
                self.recorder.mark_interrupted(rows)
            self.recorder.flush()  # now the cache holds how every job ended
            self._settle()
        return names

    # --- previous outputs -----------------------------------------------------

    def _put_back(self, job_id: int, outputs: Iterable[str] = (), settle: bool = True) -> list[str]:
        """Remove a job's partial outputs and put its previous ones back;
        the problems. Its stash is forgotten once the cache says how the
        job ended (with ``settle``; else by the next run)."""
        stash = self.stashes.pop(job_id, None)
        if stash is None:
            return [f"{p} (a partial output)" for p in self.outputs.remove(outputs)]
        back = self.outputs.put_back(stash)
        if back.problems:  # the next run tries again
            return back.problems
        if settle:
            self.settling.append((stash, False))
        return []

    def _settle(self) -> None:
        """Drop or forget the stashes of jobs whose ends the cache now holds."""
        settling, self.settling = self.settling, []
        aside = self.outputs.aside
        for stash, succeeded in settling:
            if succeeded:
                aside.drop(stash)
            else:
                aside.settle(stash)


def ran_in(spec: JobSpec) -> tuple[str, str] | None:
    """The container image (name, digest) the job runs in, for the cache."""
    env = spec.environment
    if not env.get("container") or env.get("image_id") in (None, "", MISSING):
        return None
    return env["container"], env["image_id"]
