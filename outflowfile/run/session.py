"""A project run from start to end: the Outflowfile, its config, the targets,
the cache, the lock and an executor, handed to the run loop.

This is what ``outflow`` does after reading its options; the command
(``commands/build.py``) translates the command line into a ``RunRequest``
and says how to make the executor.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outflowfile.errors import UserError
from outflowfile.graph.expand import (
    Const,
    ExpansionError,
    Graph,
    Job,
    MapNode,
    Node,
    normal_path,
)
from outflowfile.language.model import ModelIndex, Outflowfile
from outflowfile.language.stages import stage_tasks
from outflowfile.plan.code import CodeDigests
from outflowfile.plan.decide import Decider
from outflowfile.plan.envdigests import EnvironmentDigests
from outflowfile.plan.files import FileState
from outflowfile.plan.rules import Forcing
from outflowfile.run.dispatch import Dispatch, Dispatcher
from outflowfile.run.dryrun import DryRun
from outflowfile.run.loop import Keep, Loop
from outflowfile.run.outcome import Options, Outcome
from outflowfile.run.record import NullRecorder, Recorder
from outflowfile.run.report import RunReporter

if TYPE_CHECKING:
    from outflowfile.executors.cluster.executor import ClusterRequest
    from outflowfile.plan.memo import Check, Trust
    from outflowfile.plan.owned import Owned
    from outflowfile.plan.prestat import Prestat
    from outflowfile.run.adoption import Adopted, StillQueued
    from outflowfile.run.aside import Stash
    from outflowfile.run.executor import Executor, MakeExecutor
    from outflowfile.run.recovery import Recovered
    from outflowfile.store.door import Store
    from outflowfile.store.snapshot import Snapshot

STATE_DIR = ".outflow"


@dataclass
class RunRequest:
    workdir: Path
    outflowfile: Path
    targets: list[str] = field(default_factory=list)
    config: dict[str, str] = field(default_factory=dict)
    jobs: int | None = None
    dry_run: bool = False
    forceall: bool = False
    forcerun: list[str] = field(default_factory=list)
    until: list[str] = field(default_factory=list)
    keep_going: bool = False
    keep_temp: bool = False  # --keep-temp
    force_protected: bool = False  # --force-protected
    mem_limit: int | None = None
    db: str | None = None
    argv: list[str] = field(default_factory=list)
    cluster: ClusterRequest | None = None
    container_runtime: str | None = None  # --container-runtime (None: the first found)
    no_envs: bool = False  # --no-envs: every job in outflow's own environment
    # The files options and config came from (outflow.toml, a profile, --configfile).
    read_files: list[str] = field(default_factory=list)
    # The jobs' environments this run, made on first use (``envs_of``).
    envs: EnvironmentDigests | None = None


@dataclass
class Selection:
    """What the targets ask for: whole workflows, or only the jobs of some
    tasks (and everything upstream), or the jobs making some files."""

    workflows: list[str] = field(default_factory=list)
    standalone: list[str] = field(default_factory=list)  # tasks in no workflow
    tasks: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)

    @property
    def limited(self) -> bool:
        return bool(self.tasks or self.paths)


def select(model: Outflowfile, targets: list[str], until: list[str], workdir: Path) -> Selection:
    index = model.index()
    default = model.default_workflow()
    sel = Selection()
    for name in until:
        if name not in index.tasks:
            raise UserError(
                f"-U/--until names {name!r}, which is not a task", hint=_did_you_mean(name, index)
            )
        sel.tasks.add(name)
    if not targets:
        if default is None:
            raise UserError(
                "the Outflowfile defines no workflow",
                hint="name a task to run on the command line, or add a workflow",
            )
        targets = [default.name]
    for target in targets:
        if target in index.workflows:
            sel.workflows.append(target)
        elif target in index.tasks:
            sel.tasks.add(target)
        elif _looks_like_path(target):
            sel.paths.add(_relative(target, workdir))
        else:
            raise UserError(
                f"unknown target {target!r}: not a workflow, task or file of the Outflowfile",
                hint=_did_you_mean(target, index),
            )
    for task in sel.tasks:
        homes = [w.name for w in model.workflows if task in stage_tasks(w.pipeline, index)]
        if default is not None and default.name in homes:
            homes = [default.name]
        if homes:
            if homes[0] not in sel.workflows:
                sel.workflows.append(homes[0])
        else:
            sel.standalone.append(task)
    if sel.paths:
        sel.workflows.extend(w.name for w in model.workflows if w.name not in sel.workflows)
    return sel


def _did_you_mean(name: str, index: ModelIndex) -> str | None:
    names = list(index.workflows) + list(index.tasks)
    close = get_close_matches(name, names, n=1)
    known = ", ".join(names[:12])
    return f"did you mean {close[0]!r}? " if close else f"known workflows and tasks: {known}"


def _looks_like_path(target: str) -> bool:
    return "/" in target or "." in target


def _relative(target: str, workdir: Path) -> str:
    """A file target as the jobs' paths are spelled (``normal_path``)."""
    path = Path(target)
    if path.is_absolute():
        try:
            return normal_path(path.relative_to(workdir).as_posix())
        except ValueError:
            return normal_path(path.as_posix())
    return normal_path(target)


def build_graph(model: Outflowfile, config: dict[str, Any], sel: Selection) -> Graph:
    from outflowfile.store.snapshot import collector_paused

    graph = Graph(model=model, index=model.index(), config=config)
    try:
        with collector_paused(keep=True):  # a large map makes many objects, no garbage
            for name in sel.workflows:
                graph.expand_workflow(name)
            for name in sel.standalone:
                graph.expand_task(graph.index.tasks[name])
    except ExpansionError as exc:
        raise UserError(str(exc), loc=exc.loc) from None
    if sel.paths:
        pending = [n for n in graph.nodes if isinstance(n, Job) and n.output_files is None]
        missing = sorted(
            p for p in sel.paths
            if p not in graph.producer_of and not any(may_make(j, {p}) for j in pending)
        )
        if missing:
            raise UserError(
                f"no job makes {missing[0]}",
                hint="a file target must be an output file of a job of the workflows",
            )
    return graph


def keeper(sel: Selection, graph: Graph) -> Keep | None:
    """The filter applied to each batch of new nodes when targets are limited:
    the seeds (jobs of the target tasks, jobs making the target files, maps
    containing a target task) and everything upstream of them."""
    if not sel.limited:
        return None
    index = graph.index

    def keep(nodes: list[Node]) -> list[Node]:
        batch = {id(n) for n in nodes}
        seeds = [n for n in nodes if is_seed(n, sel, index)]
        kept: dict[int, Node] = {}
        stack = list(seeds)
        while stack:
            n = stack.pop()
            if id(n) in kept or id(n) not in batch:
                continue
            kept[id(n)] = n
            stack.extend(n.deps)
            if isinstance(n, Job) and n.input_files is not None:
                stack.extend(graph.link_file_dependencies(n))
        return [n for n in nodes if id(n) in kept]

    return keep


def may_make(job: Job, paths: set[str]) -> bool:
    """Whether ``job`` makes one of ``paths``: by its file names once they
    are known, else (it waits for upstream values) by its task's output
    patterns, with the parameters already known."""
    if job.output_files is not None:
        return not paths.isdisjoint(job.output_files.values())
    from outflowfile.language.patterns import glob_regex

    known = {n: str(e.value) for n, e in job.bindings.items() if type(e) is Const}
    for spec in job.task.output_files:
        try:
            regex, _ = glob_regex(normal_path(spec.pattern))
        except re.error:  # a field with an attribute or a format: cannot tell
            return True
        for path in paths:
            found = regex.match(path)
            if found and all(known.get(n, v) == v for n, v in found.groupdict().items()):
                return True
    return False


def is_seed(node: Node, sel: Selection, index: ModelIndex) -> bool:
    if isinstance(node, Job):
        if node.task.name in sel.tasks:
            return True
        return bool(sel.paths) and may_make(node, sel.paths)
    if isinstance(node, MapNode):
        # Kept so that it expands; once expanded, its items are seeds on their
        # own, and keeping the map itself would pull in its whole body.
        return not node.expanded and bool(sel.tasks & stage_tasks(node.stage, index))
    return False


def execute(
    request: RunRequest, model: Outflowfile, console: RunReporter, executor: MakeExecutor,
    still_queued: StillQueued | None = None,
) -> Outcome:
    """Plan, and unless it is a dry run, run with the executor ``executor``
    makes. Returns what happened. ``still_queued`` asks a cluster which jobs
    of a dead run it still runs (adoption.py); without it none are looked for.

    When the last plan found nothing to do and nothing it was decided from
    has changed since, say so without planning again (plan/memo.py)."""
    from outflowfile.language.config import resolve_config

    config = resolve_config(model, request.config, request.workdir)
    memo = _memo_spot(request, model, config)
    found = None
    stashes = None  # what a dead run left aside, once looked for
    if memo is not None:
        if request.dry_run:
            outcome, found, stashes = _memo_outcome(memo, request)
        else:
            from outflowfile.run.lock import ProjectLock

            with ProjectLock(request.workdir / STATE_DIR):
                outcome, found, stashes = _memo_outcome(memo, request)
        if outcome is not None:
            if request.dry_run:
                console.dry_run(outcome)
            else:
                console.summary(outcome)
            return outcome
        _test_gate_after_memo()
    # The last run's files, stat-ed while the graph is made (prestat.py).
    ahead = None
    if found is not None and found.now is None and found.paths:
        ahead = _prestat(request, found.paths)
    prep = None
    try:
        prep = prepare(request, model, console, config)
        prep.stashes = stashes
        prep.still_queued = still_queued
        if found is not None and found.stamps is not None:
            # The cache is as the memo found it: jobs may be decided from it.
            now = found.now
            if now is None:
                from outflowfile.plan.memo import stat_flat

                now, ahead = stat_flat(found.paths, str(request.workdir), ahead), None
            stats, prep.trust = found.settle(now)
            if found.same_graph:
                prep.seen = stats
            else:  # the memo's files are not all the graph's: taken as the plan asks
                prep.ahead = stats
            prep.cache_state = found.state
        elif ahead is None and store_of(request).might_have_records():
            # The graph's files, stat-ed while the cache is read. (With no
            # record, a plan stats little more than the input files.)
            ahead = _prestat(request, prep.graph.known_files())
        prep.prestat, ahead = ahead, None
        outcome = _dry_run(prep) if request.dry_run else _real_run(prep, executor)
    finally:
        if ahead is not None:
            ahead.cancel()
        if prep is not None:
            prep.drop_prestat()
    if memo is not None:
        _remember(memo, outcome)
    return outcome


def _test_gate_after_memo() -> None:
    """A test-only seam: with ``OUTFLOW_TEST_AFTER_MEMO`` naming a FIFO, wait
    here, after the memo was checked and before the run takes the lock and
    reads the cache, until the test has opened and closed it. Another
    process can then write the cache in between for certain
    (tests/plan/test_memo_recheck.py); nothing else orders the two."""
    gate = os.environ.get("OUTFLOW_TEST_AFTER_MEMO")
    if gate:
        with open(gate, "rb") as f:
            f.read()


def _prestat(request: RunRequest, paths: list[str]) -> Prestat | None:
    """A helper process stating ``paths`` for the plan; none with -F, which
    decides from no file."""
    if request.forceall:
        return None
    from outflowfile.plan.prestat import Prestat

    return Prestat.start(paths, str(request.workdir))


@dataclass
class MemoSpot:
    """Where this request's plan memo lives, the fingerprint it must have,
    and how to read the summary of the cache's jobs table it was written with."""

    path: Path
    fingerprint: str
    state_now: Callable[[], list[Any] | None]


def _memo_spot(request: RunRequest, model: Outflowfile, config: dict[str, Any]) -> MemoSpot | None:
    """None when the memo does not apply: -F/-R (which run jobs whatever
    the files say)."""
    if request.forceall or request.forcerun or not model.digest:
        return None
    from outflowfile.plan import memo as planmemo
    from outflowfile.plan.code import fingerprint as code_fingerprint

    store = store_of(request)
    try:
        code = code_fingerprint(model.tasks, request.workdir, request.outflowfile)
        code += envs_of(request).fingerprint(model)
        print_ = planmemo.fingerprint(
            request.outflowfile, model.digest + code, request.workdir, config,
            request.targets, request.until, store.name,
        )  # fmt: skip
    except (TypeError, ValueError):  # a config value that cannot be encoded
        return None
    path = request.workdir / STATE_DIR / planmemo.FILENAME
    return MemoSpot(path, print_, store.state)


def _memo_outcome(
    memo: MemoSpot, request: RunRequest
) -> tuple[Outcome | None, Check | None, list[Path]]:
    """What the memo says, unless a dead run left previous outputs aside
    (they are put back first, and the plan sees them); and those stashes."""
    import time

    from outflowfile.plan import memo as planmemo
    from outflowfile.run.aside import pending

    start = time.monotonic()
    stashes = pending(request.workdir / STATE_DIR)
    if stashes:
        return None, None, stashes
    found = planmemo.check(memo.path, memo.fingerprint, memo.state_now, request.workdir)
    if found.jobs is None:
        return None, found, stashes
    return Outcome(up_to_date=found.jobs, elapsed=time.monotonic() - start), found, stashes


def _remember(memo: MemoSpot, outcome: Outcome) -> None:
    """Write the memo when the next plan would find every job up to date:
    after a plan that found nothing to run, or a run in which every job that
    ran succeeded (and keeps its result: not ``cache: false``). Otherwise
    the old one stays: it no longer matches the cache if jobs ran, and while
    it does, it helps the next plans (only files changed)."""
    from outflowfile.plan import memo as planmemo

    jobs = outcome.up_to_date + len(outcome.ran)
    all_done = jobs > 0 and not (
        outcome.would_run or outcome.any_failed or outcome.blocked or outcome.unsized
        or outcome.touched or outcome.not_touched or outcome.not_started
        or outcome.temp_left  # the next run removes them: it must not be skipped
        or outcome.to_reorder  # nor touches the outputs early cutoff kept
    )  # fmt: skip
    kept = all(job.resources.cache for job in outcome.ran)
    state, files = outcome.cache_state, outcome.files_seen
    if all_done and kept and state is not None and files is not None:
        nodes = len(outcome.graph.nodes) if outcome.graph is not None else 0
        keys = [outcome.keys.get(i, "") for i in range(nodes)]  # by job id
        planmemo.save(memo.path, memo.fingerprint, state, jobs, files, keys)


@dataclass
class Planned:
    """A dry run's result with what it was decided from, for views of the
    plan (``--dag``, ``--taskgraph``, ``--report``)."""

    graph: Graph
    outcome: Outcome
    snapshot: Snapshot
    # Rows (of the snapshot) a run adopted from another that died, and the
    # run each came from (adoption.py): read for the views, with ``full``.
    adopted: dict[int, int] = field(default_factory=dict)
    envs: EnvironmentDigests | None = None  # the jobs' environments, as the plan saw them
    images: dict[int, str] = field(default_factory=dict)  # row: the image digest it ran with


def plan_only(
    request: RunRequest, model: Outflowfile, console: RunReporter, full: bool = False
) -> Planned:
    """Decide what would run, as ``-n`` does, printing nothing: no job runs
    and the cache is only read. With ``full``, the snapshot's records have
    their timings and host too."""
    prep = prepare(request, model, console)
    snapshot = store_of(request).snapshot(full)
    foresee_recovery(prep, snapshot)
    outcome = prep.loop(snapshot, NullRecorder(), DryRun()).run()
    outcome.raise_refused()
    planned = Planned(prep.graph, outcome, snapshot, envs=envs_of(request))
    if full:
        rows = [r.id for r in snapshot.by_slot.values()]
        scheduled = store_of(request).scheduled(rows) if rows else {}
        planned.adopted = {
            row: s.adopted_from for row, s in scheduled.items() if s.adopted_from is not None
        }
        planned.images = store_of(request).images(rows)
    return planned


def prepare(
    request: RunRequest,
    model: Outflowfile,
    console: RunReporter,
    config: dict[str, Any] | None = None,
) -> Prepared:
    """The graph of the targets and the run's options."""
    from outflowfile.language.config import resolve_config

    if config is None:
        config = resolve_config(model, request.config, request.workdir)
    sel = select(model, request.targets, request.until, request.workdir)
    for name in request.forcerun:
        if name not in model.index().tasks:
            raise UserError(f"-R/--forcerun names {name!r}, which is not a task")
    graph = build_graph(model, config, sel)
    # Before anything is decided, removed or run: the paths the values made.
    from outflowfile.plan.owned import Owned, globs_taken

    read, cache = files_read_by(request, model)
    owned = Owned(str(request.workdir), str(request.outflowfile), model.included,
                  globs_taken(model, request.config, str(request.workdir)),
                  read=read, cache=cache, logs=any(task.log for task in model.tasks))
    if owned.check(graph.nodes):
        raise owned.error()
    options = Options(
        forceall=request.forceall,
        forcerun=frozenset(request.forcerun),
        keep_going=request.keep_going,
        keep_temp=request.keep_temp,
        force_protected=request.force_protected,
    )
    return Prepared(request, graph, sel, options, console, owned)


def check_task_name(name: str, model: Outflowfile, option: str) -> None:
    """A UserError unless ``name`` is a task of the Outflowfile."""
    index = model.index()
    if name in index.tasks:
        return
    if name in index.workflows:
        raise UserError(
            f"{option} names {name!r}, which is a workflow, not a task",
            hint="name one of its tasks (outflow --list shows them)",
        )
    raise UserError(
        f"{option} names {name!r}, which is not a task of the Outflowfile",
        hint=_did_you_mean(name, index),
    )


def envs_of(request: RunRequest) -> EnvironmentDigests:
    """The run's environment digests: each image inspected once per run."""
    if request.envs is None:
        request.envs = EnvironmentDigests(
            request.outflowfile, request.container_runtime, enabled=not request.no_envs
        )
    return request.envs


def files_read_by(request: RunRequest, model: Outflowfile) -> tuple[list[str], list[str]]:
    """The files a run reads to know its workflow besides the Outflowfile and
    its includes (outflow.toml, a profile, --configfile, the files config
    entries read), and the files of its cache: no job may own them."""
    from outflowfile.language.config import files_read
    from outflowfile.store.location import sqlite_files

    read = [*request.read_files, *files_read(model, request.config)]
    url = request.db or os.environ.get("OUTFLOW_DB")
    return read, [str(path) for path in sqlite_files(request.workdir, url)]


def store_of(request: RunRequest) -> Store:
    """The project's cache: ``--db``, else ``OUTFLOW_DB``, else the project's own file."""
    from outflowfile.store.door import open_store

    return open_store(request.workdir, request.db or os.environ.get("OUTFLOW_DB"))


def _plan_snapshot(prep: Prepared) -> Snapshot:
    """The cache's content for this plan: when the plan memo found the
    cache as it left it (``prep.cache_state``), read as the plan asks for
    records where the store can (see ``Store.snapshot_at``)."""
    store = store_of(prep.request)
    if prep.cache_state is not None:
        snapshot = store.snapshot_at(prep.cache_state)
    else:
        snapshot = store.snapshot()
    if snapshot.state != prep.cache_state:
        prep.trust = None  # another run wrote to the cache since the memo was checked
    return snapshot


@dataclass
class Prepared:
    """A run prepared: what a dry run and a real run both hand to the loop."""

    request: RunRequest
    graph: Graph
    selection: Selection
    options: Options
    console: RunReporter
    owned: Owned  # the paths the jobs claim (plan/owned.py)
    seen: dict[str, Any] | None = None  # files stat-ed before planning
    ahead: dict[str, Any] | None = None  # the same, for the plan to take only those it asks for
    # What the plan memo lets the plan trust, and the cache's state it was
    # checked against, when the cache has not changed since (plan/memo.py).
    trust: Trust | None = None
    cache_state: list[Any] | None = None
    prestat: Prestat | None = None  # files being stat-ed ahead of the plan
    stashes: list[Path] | None = None  # what a dead run left aside (None: not looked for)
    still_queued: StillQueued | None = None  # see adoption.py

    def loop(self, snapshot: Snapshot, recorder: Recorder, dispatch: Dispatch) -> Loop:
        """The run loop over this graph: jobs decided from ``snapshot``, those
        that must run sent to ``dispatch``, what happens written by ``recorder``."""
        prestat, self.prestat = self.prestat, None
        workdir = self.request.workdir
        # Files already stat-ed this run (plan/memo.py), not to be stat-ed again.
        files = FileState(str(workdir), {} if self.seen is None else self.seen)
        files.ahead = {} if self.ahead is None else self.ahead  # stat-ed before the plan asked
        options = self.options
        decider = Decider(
            self.graph,
            snapshot,
            files,
            forcing=Forcing(options.forceall, options.forcerun),
            trust=self.trust,
            planned_nodes=len(self.graph.nodes),  # made before the run, from the fingerprint
            code=CodeDigests(workdir, self.request.outflowfile),
            envs=envs_of(self.request),
        )
        return Loop(
            decider,
            dispatch,
            recorder=recorder,
            reporter=self.console,
            workdir=workdir,
            outflowfile=self.request.outflowfile,
            owned=self.owned,
            keep_going=options.keep_going,
            keep=keeper(self.selection, self.graph),
            prestat=prestat,
            keep_temp=options.keep_temp,
        )

    def drop_prestat(self) -> None:
        """Do without the stats taken ahead: files changed since."""
        if self.prestat is not None:
            self.prestat.cancel()
            self.prestat = None


def _dry_run(prep: Prepared) -> Outcome:
    snapshot = _plan_snapshot(prep)
    found = _adoptable(prep, snapshot)
    if found:
        from outflowfile.run.adoption import message

        prep.console.say(message(found, foreseen=True))
    will = foresee_recovery(prep, snapshot, frozenset(a.key for a in found))
    dry = DryRun(prep.options.force_protected)
    outcome = prep.loop(snapshot, NullRecorder(), dry).run()
    outcome.raise_refused()
    if will is not None:
        outcome.cache_state = None  # planned over files as they will be: no memo
        text = will.message(foreseen=True)
        if text:
            prep.console.say(text)
    prep.console.dry_run(outcome)
    return outcome


def _adoptable(prep: Prepared, snapshot: Snapshot) -> list[Adopted]:
    """The jobs of a dead run a cluster still runs, or which ended with their
    report in the cache; taken out of ``snapshot.running`` (the recovery
    leaves them be)."""
    if prep.still_queued is None or not snapshot.running:
        return []
    from outflowfile.run.adoption import find, left_running

    found = find(store_of(prep.request), snapshot.running, prep.still_queued)
    snapshot.running = left_running(found, snapshot.running)
    return found


def foresee_recovery(
    prep: Prepared, snapshot: Snapshot, keep: frozenset[str] = frozenset()
) -> Recovered | None:
    """For a plan that changes nothing (``-n``): what the next real run's
    recovery will do first, with the files as it will leave them given to
    the plan; None when a dead run left nothing."""
    from outflowfile.run.aside import pending

    workdir = prep.request.workdir
    stashes = prep.stashes if prep.stashes is not None else pending(workdir / STATE_DIR)
    if not stashes and not snapshot.running:
        return None
    from outflowfile.run.recovery import foresee

    stats, will = foresee(workdir, snapshot, stashes, keep)
    prep.seen = {**(prep.seen or {}), **stats}
    return will


def recover_first(
    prep: Prepared, snapshot: Snapshot, recorder: Recorder, console: RunReporter,
    keep: frozenset[str] = frozenset(),
) -> list[Stash]:
    """Before anything looks at the outputs (a real run, ``--touch``): put
    right what a dead run left, and say so. Holds the project lock. The
    stashes of the keys in ``keep`` (jobs adopted) are left, and returned."""
    from outflowfile.run.aside import pending

    workdir = prep.request.workdir
    stashes = prep.stashes
    if stashes is None or snapshot.running or keep:  # looked for before the lock, or not at all
        stashes = pending(workdir / STATE_DIR)
    if not stashes and not snapshot.running:
        return []
    changed, kept = _recover(workdir, snapshot, recorder, stashes, console, keep)
    prep.stashes = []
    if changed:  # what was stat-ed or trusted before is not what is there
        prep.drop_prestat()
        prep.seen = prep.ahead = prep.trust = None
    return kept


def recover_now(request: RunRequest, console: RunReporter) -> None:
    """``recover_first`` for a command that changes outputs without a plan
    of its own to run (``--clean``): takes the lock, reads the cache."""
    from outflowfile.run.aside import pending
    from outflowfile.run.lock import ProjectLock
    from outflowfile.store.recorder import RunRecorder

    state = request.workdir / STATE_DIR
    store = store_of(request)
    with ProjectLock(state):
        stashes = pending(state)
        snapshot = store.snapshot()
        if stashes or snapshot.running:
            recorder = RunRecorder(store.open_cache, request.argv)
            try:
                _recover(request.workdir, snapshot, recorder, stashes, console)
            finally:
                recorder.close("interrupted")


def _recover(
    workdir: Path, snapshot: Snapshot, recorder: Recorder, stashes: list[Path],
    console: RunReporter, keep: frozenset[str] = frozenset(),
) -> tuple[bool, list[Stash]]:
    """Recover, and say what was done; whether any file or row changed, and
    the stashes kept for jobs adopted."""
    from outflowfile.run.recovery import recover

    done = recover(workdir, snapshot, recorder, stashes, keep)
    text = done.message()
    if text:
        console.say(text)
    for problem in done.problems:
        console.warn(problem)
    return done.changed, done.kept


def _real_run(prep: Prepared, make_executor: MakeExecutor) -> Outcome:
    from outflowfile.run.lock import ProjectLock
    from outflowfile.store.recorder import LOCAL_BATCH, RunRecorder

    request, console = prep.request, prep.console
    store = store_of(request)
    with ProjectLock(request.workdir / STATE_DIR):
        # Jobs on cluster nodes write to the cache too, and read their rows;
        # on workers they do not: the run writes in batches, as locally.
        shared = request.cluster is not None and request.cluster.nodes_write_cache
        recorder = RunRecorder(
            lambda: store.open_cache(shared_writers=shared), request.argv or sys.argv,
            batch=0.0 if shared else LOCAL_BATCH,
        )
        executor = make_executor(store, recorder, console)
        status = "failed"
        try:
            snapshot = _plan_snapshot(prep)
            adopted = _adopt(prep, snapshot, executor)
            kept = recover_first(prep, snapshot, recorder, console, adopted)
            dispatcher = Dispatcher(executor, request.force_protected)
            dispatcher.adopted_stashes = {stash.key: stash for stash in kept}
            loop = prep.loop(snapshot, recorder, dispatcher)
            # Past durations, for the status line's estimate: read only when
            # a terminal shows it and a job is to run.
            console.follow(loop.counts, lambda: store.durations(snapshot))
            outcome = loop.run()
            console.unfollow()
            status = "failed" if outcome.any_failed or outcome.refused else "done"
            if outcome.refused is None:
                console.summary(outcome)
        except BaseException:
            status = "interrupted"
            raise
        finally:
            console.unfollow()
            executor.close()
            recorder.close(status)
        if outcome.ran or snapshot.running:
            # The run wrote to the cache: the plan memo needs the table as
            # it is now, read before another run can change it.
            outcome.cache_state = store.state()
        outcome.raise_refused()
        return outcome


def _adopt(prep: Prepared, snapshot: Snapshot, executor: Executor) -> frozenset[str]:
    """Hand the jobs a cluster still runs for a dead run to the executor
    (adoption.py); the keys of those adopted. A run that cannot follow them
    refuses to start while they run."""
    original = list(snapshot.running)
    found = _adoptable(prep, snapshot)
    if not found:
        return frozenset()
    from outflowfile.run.adoption import message, refuse_local

    take = getattr(executor, "adopt", None)
    if take is None:
        refuse_local(found)
        snapshot.running = original  # ended: recovered as interrupted, run again
        return frozenset()
    take(found)
    prep.console.say(message(found, foreseen=False))
    return frozenset(a.key for a in found)
