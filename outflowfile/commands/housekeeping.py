"""Housekeeping commands: ``--touch``, ``--forget``, ``--clean``, ``--show``.

Each finds its jobs with the normal planning (``project.prepare``) or reads
the cache, and takes the project lock before it writes anything.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from outflowfile.errors import UserError
from outflowfile.run.lock import ProjectLock
from outflowfile.run.session import (
    STATE_DIR,
    RunRequest,
    check_task_name,
    foresee_recovery,
    prepare,
    recover_first,
    recover_now,
    store_of,
)

if TYPE_CHECKING:
    from outflowfile.language.model import Outflowfile
    from outflowfile.language.ownership import Project
    from outflowfile.run.outcome import Outcome
    from outflowfile.store.records import Record
    from outflowfile.views.console import Console


def touch(request: RunRequest, model: Outflowfile, console: Console) -> Outcome:
    """Record every job of the targets that would run, and whose output
    files all exist, as done with those files as they are now (``-n``: only
    say which). Jobs that produce values, or whose outputs are missing, are
    left alone, and so is everything downstream of them.

    What a dead run left is put right first (run/recovery.py): its partial
    outputs are never recorded as done. Jobs it left on a cluster are
    waited for, or recorded as a run would (commands/leftjobs.py)."""
    from outflowfile.commands.leftjobs import settle_left
    from outflowfile.run.dryrun import Touch
    from outflowfile.run.record import NullRecorder
    from outflowfile.store.recorder import RunRecorder
    from outflowfile.store.schema import TOUCHED

    # What a dead run left on a cluster: recorded first (-n: to be).
    adopted = settle_left(request, model, console, "--touch")
    prep = prepare(request, model, console)
    store = store_of(request)
    if request.dry_run:
        snapshot = store.snapshot()
        snapshot.running = [r for r in snapshot.running if r.key not in adopted]
        will = foresee_recovery(prep, snapshot, adopted)  # as the recovery will leave them
        text = will.message(foreseen=True) if will is not None else None
        if text:
            console.say(text)
        outcome = prep.loop(snapshot, NullRecorder(), Touch()).run()
    else:
        with ProjectLock(request.workdir / STATE_DIR):
            recorder = RunRecorder(store.open_cache, request.argv)
            status = "failed"
            try:
                snapshot = store.snapshot()
                recover_first(prep, snapshot, recorder, console)
                outcome = prep.loop(snapshot, recorder, Touch()).run()
                status = TOUCHED
            finally:
                recorder.close(status)
    outcome.raise_refused()
    console.say(touch_report(outcome, request.dry_run, console.verbose))
    return outcome


def touch_report(outcome: Outcome, dry_run: bool, verbose: bool) -> str:
    """What --touch did: counts per task (each job with -v), then every job
    not touched and why."""
    verb = "would touch" if dry_run else "touched"
    lines = [f"outflow: {verb} {len(outcome.touched)} jobs, {outcome.up_to_date} up to date"]
    if verbose:
        lines += [f"  {verb} {job.label}" for job in outcome.touched]
    else:
        per_task = Counter(job.task.name for job in outcome.touched)
        lines += [f"  {task}: {n} jobs" for task, n in per_task.items()]
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
        cache = store_of(request).open_cache()
        try:
            for name in dict.fromkeys(tasks):
                count = cache.forget(name)
                total += count
                console.say(f"outflow: forgot {count} cached jobs of task {name}")
        finally:
            cache.close()
    return total


def clean(request: RunRequest, model: Outflowfile, console: Console, yes: bool) -> int:
    """Remove what outflow made for the targets' jobs and is still as it
    made it (after asking, on a terminal, unless ``yes``; ``-n``: only list
    it), and say what is kept and why (commands/cleanplan.py). Returns how
    many paths were removed."""
    from outflowfile.commands.cleanplan import carry_out, plan_clean, shown
    from outflowfile.commands.leftjobs import settle_left

    settle_left(request, model, console, "--clean")  # what a dead run left on a cluster
    if not request.dry_run:  # outputs a dead run left aside are put back first
        recover_now(request, console)
    found = clean_list(request, model)
    if found.unsized:
        console.warn(
            f"{found.unsized} maps cannot be sized before their source is computed: "
            "the outputs of their jobs are not listed"
        )
    workdir = str(request.workdir)
    protected = () if request.force_protected else found.protected
    project = project_of(request, model)
    plan = plan_clean(workdir, project, found.records, found.declared, protected)
    if not plan.count and not plan.kept:
        console.say("outflow: no output file of the targets exists: nothing to remove")
        return 0
    if plan.count:
        listing = [f"  {shown(workdir, p)}" for p in plan.outputs] + [f"  {d}/" for d in plan.dirs]
        verb = "would remove" if request.dry_run else "to remove"
        click.echo(f"outflow: {verb} {_paths(plan.count)}:\n" + "\n".join(listing))
    for path, why in sorted(plan.kept.items()):
        click.echo(f"outflow: kept {path}: {why}")
    if not plan.count:
        console.say("outflow: nothing to remove")
        return 0
    if request.dry_run:
        return 0
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"--clean: not removing {_paths(plan.count)} without a confirmation, "
                "and the input is not a terminal to ask on",
                hint="add --yes to remove them (or -n to only list them)",
            )
        if not click.confirm(f"Remove {_paths(plan.count)}?", default=False):
            console.say("outflow: nothing removed")
            return 0
    with ProjectLock(request.workdir / STATE_DIR):
        removed, late = carry_out(workdir, plan)
    for path, why in sorted(late.items()):
        console.warn(f"kept {path}: {why}")
    kept = len(plan.kept) + len(late)
    said = f", kept {kept}" if kept else ""
    console.say(f"outflow: removed {_paths(removed)}{said} (the cache keeps the jobs' records)")
    return removed


def _paths(n: int) -> str:
    return f"{n} path" if n == 1 else f"{n} paths"


def project_of(request: RunRequest, model: Outflowfile) -> Project:
    """The project as the ownership rule knows it (``plan.owned.project_of``):
    the directory outputs are relative to, its Outflowfile, the files it
    includes, those its config and options are read from, and the cache."""
    from outflowfile.plan.owned import project_of as project_at
    from outflowfile.run.session import files_read_by

    read, cache = files_read_by(request, model)
    return project_at(os.path.realpath(request.workdir), str(request.outflowfile),
                      model.included, read, cache)


def clean_list(request: RunRequest, model: Outflowfile) -> CleanList:
    """The targets' jobs as --clean sees them: the latest finished record
    of each, the output paths each names now (where they can be known), and
    how many maps could not be sized (their jobs are unknown)."""
    from outflowfile.graph.expand import ExpansionError, Job
    from outflowfile.graph.fileflags import protected_paths
    from outflowfile.run.session import is_seed, plan_only, select
    from outflowfile.views.console import Console

    quiet = Console(quiet=True, err=io.StringIO())  # a missing input is no matter here
    planned = plan_only(request, model, quiet)
    sel = select(model, request.targets, request.until, request.workdir)
    nodes = planned.graph.nodes
    if sel.limited:  # the named tasks' and files' own jobs, not what is upstream
        index = planned.graph.index
        nodes = [n for n in nodes if isinstance(n, Job) and is_seed(n, sel, index)]
    declared: dict[str, None] = {}
    protected: dict[str, None] = {}
    slots: dict[str, str] = {}  # slot -> task
    for job in nodes:
        if not isinstance(job, Job):
            continue
        slots[job.slot] = job.task.name
        if job.output_files is None:  # its parameters may wait for upstream jobs
            with contextlib.suppress(ExpansionError, ValueError, KeyError):
                planned.graph.resolve_files(job)
        if job.output_files is not None:
            declared.update(dict.fromkeys(job.output_files.values()))
            protected.update(dict.fromkeys(protected_paths(job)))
    latest: dict[str, Record] = {}
    store = store_of(request)
    if slots and store.exists():  # reading would make the cache file
        for records in store.records_of(list(slots.values())).values():
            for record in records:  # oldest first: the last one done wins
                if record.status == "done" and record.slot in slots:
                    latest[record.slot] = record
    return CleanList(
        list(latest.values()), list(declared), len(planned.outcome.unsized), list(protected)
    )


@dataclass
class CleanList:
    records: list[Record]  # the latest finished record of each of the targets' jobs
    declared: list[str]  # the output paths the jobs name now
    unsized: int  # maps whose jobs are not known yet
    protected: list[str] = field(default_factory=list)  # the protected() output paths


def show(request: RunRequest, model: Outflowfile, tasks: list[str], fmt: str) -> int:
    """Print the cached results of every job of these tasks: parameters,
    value outputs and files, as text or JSON. Returns how many jobs."""
    for name in tasks:
        check_task_name(name, model, "--show")
    records = store_of(request).records_of(tasks)
    found = {name: [r for r in rs if r.status == "done"] for name, rs in records.items()}
    if fmt == "json":
        click.echo(json.dumps([_job_json(r) for rs in found.values() for r in rs], indent=2))
    else:
        click.echo("\n\n".join(_task_text(name, rs) for name, rs in found.items()))
    return sum(len(rs) for rs in found.values())


def _task_text(task: str, records: list[Record]) -> str:
    if not records:
        return f"task {task}: no cached result"
    head = f"task {task}: {len(records)} cached {'job' if len(records) == 1 else 'jobs'}"
    return "\n".join([head] + [_job_text(r) for r in records])


SHOWN_CHARS = 300  # of one value in text; --format json prints it whole


def _job_text(record: Record) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.ended or record.started))
    lines = [f"  job {record.id}  done {when}  key {record.key[:12]}"]
    lines += [f"    input  {k} = {_short(v)}" for k, v in record.params.items()]
    lines += [f"    output {k} = {_short(v)}" for k, v in record.values.items()]
    lines += [f"    read   {path}" for path in record.files.get("in", {})]
    lines += [f"    made   {path}" for path in record.files.get("out", {})]
    return "\n".join(lines)


def _short(value: object) -> str:
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return text[:SHOWN_CHARS] + f"… ({len(text)} characters; --format json shows it all)"


def _job_json(record: Record) -> dict[str, object]:
    """A record as JSON; values in the cache's tagged form (outflowfile.valuecodec)."""
    return {
        "task": record.task,
        "id": record.id,
        "key": record.key,
        "started": record.started,
        "ended": record.ended,
        "host": record.host,
        "params": json.loads(record.params_text),
        "values": json.loads(record.outputs_text or "{}"),
        "files": {
            side: sorted(record.files.get(side, {})) for side in ("in", "out")
        },
    }
