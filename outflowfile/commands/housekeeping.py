"""Housekeeping commands: ``--touch``, ``--forget``, ``--clean``, ``--show``.

Each finds its jobs with the normal planning (``project.prepare``) or reads
the cache, and takes the project lock before it writes anything.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from outflowfile.errors import UserError
from outflowfile.run.lock import ProjectLock
from outflowfile.run.session import (
    STATE_DIR,
    RunRequest,
    check_task_name,
    prepare,
    store_of,
)

if TYPE_CHECKING:
    from outflowfile.language.model import Outflowfile
    from outflowfile.run.outcome import Outcome
    from outflowfile.store.records import Record
    from outflowfile.views.console import Console


def touch(request: RunRequest, model: Outflowfile, console: Console) -> Outcome:
    """Record every job of the targets that would run, and whose output
    files all exist, as done with those files as they are now (``-n``: only
    say which). Jobs that produce values, or whose outputs are missing, are
    left alone, and so is everything downstream of them."""
    from outflowfile.run.dryrun import Touch
    from outflowfile.run.record import NullRecorder
    from outflowfile.store.recorder import RunRecorder
    from outflowfile.store.schema import TOUCHED

    prep = prepare(request, model, console)
    store = store_of(request)
    if request.dry_run:
        outcome = prep.loop(store.snapshot(), NullRecorder(), Touch()).run()
    else:
        with ProjectLock(request.workdir / STATE_DIR):
            recorder = RunRecorder(store.open_cache, request.argv)
            status = "failed"
            try:
                outcome = prep.loop(store.snapshot(), recorder, Touch()).run()
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
    """Remove the output files of the targets' jobs (after asking, on a
    terminal, unless ``yes``; ``-n``: only list them). Returns how many
    were removed."""
    found = clean_list(request, model)
    paths = found.paths
    if found.unsized:
        console.warn(
            f"{found.unsized} maps cannot be sized before their source is computed: "
            "the outputs of their jobs are not listed"
        )
    for text in found.left:
        console.warn(f"--clean leaves {text}")
    if not paths:
        console.say("outflow: no output file of the targets exists: nothing to remove")
        return 0
    listing = "\n".join(f"  {p}/" if (request.workdir / p).is_dir() else f"  {p}" for p in paths)
    verb = "would remove" if request.dry_run else "to remove"
    click.echo(f"outflow: {verb} {len(paths)} output files:\n{listing}")
    if request.dry_run:
        return 0
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"--clean: not removing {len(paths)} files without a confirmation, "
                "and the input is not a terminal to ask on",
                hint="add --yes to remove them (or -n to only list them)",
            )
        if not click.confirm(f"Remove these {len(paths)} output files?", default=False):
            console.say("outflow: nothing removed")
            return 0
    with ProjectLock(request.workdir / STATE_DIR):
        removed, problems = remove_paths(request.workdir, paths)
    console.say(f"outflow: removed {removed} output files (the cache keeps their records)")
    for problem in problems:
        console.warn(problem)
    return removed


def clean_list(request: RunRequest, model: Outflowfile) -> CleanList:
    """The existing output files of the targets' jobs, each inside the
    project and neither the Outflowfile nor outflow's own state; and how
    many maps could not be sized (their jobs are unknown)."""
    from outflowfile.graph.expand import ExpansionError, Job
    from outflowfile.run.session import is_seed, plan_only, select
    from outflowfile.views.console import Console

    quiet = Console(quiet=True, err=io.StringIO())  # a missing input is no matter here
    planned = plan_only(request, model, quiet)
    sel = select(model, request.targets, request.until, request.workdir)
    nodes = planned.graph.nodes
    if sel.limited:  # the named tasks' and files' own jobs, not what is upstream
        index = planned.graph.index
        nodes = [n for n in nodes if isinstance(n, Job) and is_seed(n, sel, index)]
    found: dict[str, None] = {}
    for job in nodes:
        if not isinstance(job, Job):
            continue
        if job.output_files is None:
            with contextlib.suppress(ExpansionError, ValueError, KeyError):
                planned.graph.resolve_files(job)
        if job.output_files is not None:
            found.update(dict.fromkeys(job.output_files.values()))
        else:  # its parameters wait for upstream jobs: what it made last time
            record = planned.snapshot.by_slot.get(job.slot)
            if record is not None:
                found.update(dict.fromkeys(record.files.get("out", {})))
    safe, left = [], []
    for path in found:
        why = _not_removable(request.workdir, request.outflowfile, path)
        if why is None:
            safe.append(path)
        elif why:
            left.append(f"{path} ({why})")
    return CleanList(sorted(safe), sorted(left), len(planned.outcome.unsized))


@dataclass
class CleanList:
    paths: list[str]  # to remove
    left: list[str]  # outputs that exist but are not outflow's to remove, and why
    unsized: int  # maps whose jobs are not known yet


def _not_removable(workdir: Path, outflowfile: Path, path: str) -> str | None:
    """None for an existing file or directory strictly inside the project,
    through no symbolic link leading out of it, and not outflow's own;
    else why not ('' when it does not exist)."""
    root = os.path.realpath(workdir)
    full = os.path.join(workdir, path)
    if not os.path.lexists(full):
        return ""
    # The file itself may be a link (removing it leaves its target alone);
    # the directory holding it must really be in the project.
    real = os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full))
    if os.path.commonpath([root, real]) != root or real == root:
        return "outside the project"
    if real == os.path.realpath(outflowfile):
        return "the Outflowfile"
    state = os.path.join(root, STATE_DIR)
    if real == state or real.startswith(state + os.sep):
        return f"outflow's own {STATE_DIR}/"
    return None


def remove_paths(workdir: Path, paths: list[str]) -> tuple[int, list[str]]:
    """Remove files (and directory outputs); how many, and what failed."""
    removed, problems = 0, []
    for path in paths:
        full = workdir / path
        try:
            if full.is_dir() and not full.is_symlink():
                shutil.rmtree(full)
            else:
                full.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            problems.append(f"cannot remove {path}: {exc.strerror or exc}")
    return removed, problems


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
