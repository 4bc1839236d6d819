"""The engine: walks the job graph, decides, runs and records.

Nodes become *ready* when everything they depend on is complete. A ready job
is decided (``plan.py``): up to date (complete at once, with its cached
values), or queued for the executor. A ready map expands, adding nodes. The
queue is drained into the executor while it has room; finished jobs are
recorded in the cache the moment they end, then release their dependents.

In a dry run nothing is executed: a job that would run completes with
unknown values, so what depends on it "would run" too and a map fed by it
cannot be sized yet.
"""

from __future__ import annotations

import gc
import os
import pickle
import re
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outflowfile import valuecodec
from outflowfile.errors import UserError
from outflowfile.graph.expand import (
    COMPLETE,
    UNKNOWN,
    ExpansionError,
    Graph,
    Job,
    MapNode,
    Node,
    NodeState,
    checked_items,
    resolve,
)
from outflowfile.language import typerules
from outflowfile.language.model import CallBody, RunBody, ShellBody, Task
from outflowfile.language.patterns import PatternError, format_command, format_pattern
from outflowfile.plan.files import (
    FileState,
    FreshResult,
    check_files,
    reason_without_result,
)
from outflowfile.plan.key import definition_hash, job_key
from outflowfile.run.executor import Executor
from outflowfile.run.jobspec import JobResult, JobSpec
from outflowfile.store.recorder import RunRecorder
from outflowfile.store.snapshot import Snapshot, collector_paused
from outflowfile.views.console import Console
from outflowfile.views.progress import Counts

if TYPE_CHECKING:
    from outflowfile.plan.memo import Trust
    from outflowfile.plan.prestat import Prestat


@dataclass
class Options:
    dry_run: bool = False
    forceall: bool = False
    forcerun: frozenset[str] = frozenset()
    keep_going: bool = False
    print_commands: bool = False
    # --touch: record each job that would run as done with the files it
    # finds, instead of running it (see _touch).
    touch: bool = False


class Interrupted(Exception):
    """Ctrl-C or SIGTERM reached the run; running jobs were cancelled."""

    def __init__(self, signal_name: str, jobs: list[str]) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.jobs = jobs


@dataclass
class Outcome:
    ran: list[Job] = field(default_factory=list)
    up_to_date: int = 0
    failed: list[Job] = field(default_factory=list)
    blocked: int = 0
    not_started: int = 0  # left when the run stopped after a failure (no -k)
    would_run: list[tuple[Job, str]] = field(default_factory=list)
    unsized: list[MapNode] = field(default_factory=list)
    elapsed: float = 0.0
    touched: list[Job] = field(default_factory=list)
    not_touched: list[tuple[Job, str]] = field(default_factory=list)  # job, why
    graph: Graph | None = None  # the graph walked (whoever holds the outcome keeps it)
    # What the decisions were made from (planmemo.py): every file looked at,
    # and the summary of the cache's jobs table the snapshot was read with.
    files_seen: dict[str, Any] | None = None
    cache_state: list[Any] | None = None
    keys: dict[int, str] = field(default_factory=dict)  # job id -> key, of those keyed


@dataclass(frozen=True, slots=True)
class TaskRules:
    """What deciding each job of a task reads of the task and the options,
    worked out once per run: a map decides thousands of jobs of one task."""

    def_hash: str
    checks: tuple[tuple[str, Callable[[Any], bool]], ...]  # typed inputs
    forced: str  # why every job of it runs (-F, -R), or ''
    trustable: bool  # its jobs may be decided from the plan memo (Engine._trusted)


@dataclass
class Running:
    job: Job
    row: int | None
    spec: JobSpec
    in_stamps: dict[str, Any]
    attempt: int
    reason: str = ""


class Engine:
    def __init__(
        self,
        graph: Graph,
        *,
        workdir: Path,
        outflowfile: Path,
        snapshot: Snapshot,
        recorder: RunRecorder | None,
        executor: Executor | None,
        options: Options,
        console: Console,
        keep: Callable[[list[Node]], list[Node]] | None = None,
        seen: dict[str, Any] | None = None,
        ahead: dict[str, Any] | None = None,
        prestat: Prestat | None = None,
        trust: Trust | None = None,
    ) -> None:
        self.graph = graph
        self.workdir = workdir
        self.outflowfile = outflowfile
        self.snapshot = snapshot
        self.cache = recorder
        self.executor = executor
        self.options = options
        self.console = console
        self.keep = keep
        # Files already stat-ed this run (planmemo.py), not to be stat-ed again.
        self.files = FileState(str(workdir), {} if seen is None else seen)
        self.files.ahead = {} if ahead is None else ahead  # stat-ed before the plan asked
        self.prestat = prestat  # files being stat-ed for the plan by a helper
        # What the plan memo lets the plan trust (planmemo.py): see _trusted.
        self.trust = trust
        self.planned_nodes = len(graph.nodes)  # made before the run, from the fingerprint
        self.fresh: dict[str, FreshResult] = {}
        self.ready: deque[Node] = deque()
        self.queue: deque[tuple[Job, str, int]] = deque()  # job, reason, attempt
        self.running: dict[int, Running] = {}
        self.specs: dict[int, JobSpec] = {}  # built for queued jobs that did not fit yet
        self.made_dirs: set[str] = set()  # parents of outputs and logs, made this run
        self.outcome = Outcome()
        self.def_hashes: dict[str, str] = {}
        self.rules: dict[str, TaskRules] = {}
        self.keys: dict[int, str] = {}
        self.records: dict[int, Any] = {}  # job id -> the result that completed it
        self.stopping = False
        self.host = socket.gethostname()
        self.to_run = 0
        self.touched: list[tuple[Any, ...]] = []  # --touch: written together at the end
        self.jobs_admitted = 0

    # --- the loop ---------------------------------------------------------

    def run(self) -> Outcome:
        start = time.monotonic()
        self.outcome.graph = self.graph
        try:
            # What planning makes lives as long as the run.
            with collector_paused(keep=True):
                if self.prestat is not None:
                    self._keys_ahead()  # while the helper stats the files
                    self.files.ahead = self.prestat.collect() or {}
                    self.prestat = None
                self._admit(self.graph.take_fresh())
                self._drain_ready()
            while True:
                self._drain_ready()
                if self.executor is None:
                    break
                self._dispatch()
                due = self._flush_due()
                if not self.running and not (self.queue and not self.stopping):
                    break
                for result in self.executor.wait(1.0 if due is None else min(due, 1.0)):
                    self._finish(result)
                self.console.tick()
            self._flush()
            self._write_touched()
        except KeyboardInterrupt as exc:
            self._interrupt(type(exc).__name__)
        except UserError:
            # The cache cannot be written (locked, full, unreachable): stop
            # the jobs and remove what they half made. Their rows stay
            # "running", so the next run says they were left incomplete.
            self._cancel_running(tell_cache=False)
            raise
        finally:
            if self.prestat is not None:
                self.prestat.cancel()
            self._release_graph()
        if self.stopping:
            left = (NodeState.WAITING, NodeState.READY)
            self.outcome.not_started = sum(
                1 for n in self.graph.nodes if isinstance(n, Job) and n.state in left
            )
        self.outcome.elapsed = time.monotonic() - start
        self.outcome.files_seen = self.files.seen()
        self.outcome.keys = self.keys
        # A row left running by a dead run is for the next real run to clean
        # up: no plan memo is written over it.
        self.outcome.cache_state = None if self.snapshot.running else self.snapshot.state
        return self.outcome

    def counts(self) -> Counts:
        """Where the run stands, for the status line."""
        o = self.outcome
        # Jobs queued in the executor (see executors/local.py) are not running yet.
        running = self.executor.running() if self.executor is not None else 0
        return Counts(
            done=len(o.ran),
            running=running,
            failed=len(o.failed),
            queued=len(self.queue) + len(self.running) - running,
            total=self.jobs_admitted - o.up_to_date - o.blocked,
        )

    def _release_graph(self) -> None:
        """Once the run is over, drop the links from each node to those
        waiting on it: what is left points upstream only, so the graph holds
        no reference cycle and is freed as soon as the caller lets go of it,
        with no collection walking it (at exit, that walk costs about a
        second for 100,000 jobs)."""
        for node in self.graph.nodes:
            node.dependents = []
        gc.unfreeze()

    def _admit(self, nodes: list[Node]) -> None:
        if self.keep is not None:
            nodes = self.keep(nodes)
        jobs = 0
        link = self.graph.link_file_dependencies
        trust = self.trust is not None
        for node in nodes:
            if type(node) is Job:
                jobs += 1
                if node.input_files is not None:
                    extra = link(node)
                    if extra:
                        node.deps.extend(extra)
                    if trust and self._trusted_now(node):
                        continue
            self._wait_on(node, node.deps)
        self.jobs_admitted += jobs

    def _trusted_now(self, job: Job) -> bool:
        """Decide the job up to date if the plan memo vouches for it
        (``_trusted``). Done as each job is admitted: most jobs of a plan
        helped by the memo have their upstream jobs admitted, and decided
        so, before them, and are then spared the queue; the others are
        asked again when they leave it."""
        rules = self._rules_of(job.task)
        if not rules.trustable or not self._trusted(job, rules):
            return False
        self.outcome.up_to_date += 1
        job.values = {}
        self._complete(job, NodeState.SKIPPED)
        return True

    def _wait_on(self, node: Node, deps: list[Node]) -> None:
        node.waiting = 0
        for dep in deps:
            if dep.state in COMPLETE:
                continue
            if dep.state in (NodeState.FAILED, NodeState.BLOCKED):
                self._block(node)
                return
            node.waiting += 1
            dep.dependents.append(node)
        if node.waiting == 0:
            self.ready.append(node)

    def _drain_ready(self) -> None:
        # Deciding many jobs makes many objects and no garbage cycles: a
        # collection would only walk the whole graph again and again.
        with collector_paused():
            while self.ready:
                node = self.ready.popleft()
                if node.state in (NodeState.FAILED, NodeState.BLOCKED):
                    continue
                try:
                    if isinstance(node, MapNode):
                        self._ready_map(node)
                    else:
                        self._ready_job(node)  # type: ignore[arg-type]
                except ExpansionError as exc:
                    self._fail_before_start(node, str(exc))

    def _complete(self, node: Node, state: str) -> None:
        node.state = state
        for dependent in node.dependents:
            dependent.waiting -= 1
            if dependent.waiting == 0 and dependent.state == NodeState.WAITING:
                self.ready.append(dependent)

    def _block(self, node: Node) -> None:
        """Upstream failed: this node and what depends on it cannot run."""
        stack = [node]
        while stack:
            n = stack.pop()
            if n.state in (NodeState.BLOCKED, NodeState.FAILED) or n.state in COMPLETE:
                continue
            n.state = NodeState.BLOCKED
            if isinstance(n, Job):
                self.outcome.blocked += 1
            stack.extend(n.dependents)

    # --- maps ---------------------------------------------------------------

    def _flush(self) -> None:
        """Write the ends of jobs that the cache holds back to write them with
        the next start (see recorder.py)."""
        if self.cache is not None:
            self.cache.flush()

    def _flush_due(self) -> float | None:
        """Write what the cache holds back if it is due; else in how many
        seconds it will be (None: nothing waits). See recorder.py."""
        return self.cache.flush_due() if self.cache is not None else None

    def _ready_map(self, node: MapNode) -> None:
        self._flush()  # expanding a big map takes a while
        if node.expanded:
            unknown = any(d.state == NodeState.WOULD_RUN for d in node.deps)
            self._complete(node, NodeState.WOULD_RUN if unknown else NodeState.DONE)
            return
        items = resolve(node.source)
        if items is UNKNOWN:
            self.outcome.unsized.append(node)
            self._complete(node, NodeState.WOULD_RUN)
            return
        self.graph.expand_map_items(node, checked_items(items, node.map.source or "value"))
        inner = [d for e in node.outputs.values() for d in _producers(e)]
        node.deps = inner
        node.state = NodeState.WAITING
        self._admit(self.graph.take_fresh())
        self._wait_on(node, inner)

    # --- jobs ---------------------------------------------------------------

    def _ready_job(self, job: Job) -> None:
        upstream = _would_run_cause(job) if job.deps else None
        if upstream is not None:
            self._would_run(job, f"upstream {_label(upstream)} will run")
            return
        if job.params is None or job.output_files is None:
            self.graph.resolve_files(job)
            extra = self.graph.link_file_dependencies(job)
            if extra:  # producers of its input files, found only now
                job.deps.extend(extra)
                pending = [d for d in extra if d.state not in COMPLETE]
                if pending:
                    self._wait_on(job, pending)
                    return
                upstream = _would_run_cause(job)
                if upstream is not None:
                    self._would_run(job, f"upstream {_label(upstream)} will run")
                    return
        rules = self._rules_of(job.task)
        params = job.params or {}
        for name, check in rules.checks:
            if not check(params.get(name)):
                self._bad_param(job, name)
        if self.trust is not None and self._trusted_now(job):
            return
        key = self._key(job, rules)
        reason = rules.forced or self._reason(job, key, rules.def_hash)
        if not reason:  # then every input file exists: _reason has seen them
            self.outcome.up_to_date += 1
            self._complete(job, NodeState.SKIPPED)
            return
        if self.options.touch:
            self._touch(job, key, reason)
            return
        self._missing_inputs(job)
        if self.executor is None:
            self._would_run(job, reason)
        else:
            self.to_run += 1
            self.queue.append((job, reason, 0))
            self.console.job_queued(job)

    def _keys_ahead(self) -> None:
        """The key of every job whose inputs are known already. One that
        cannot be made is left to raise its error when the job is decided."""
        for job in self.graph.nodes:
            if type(job) is Job and job.output_files is not None:
                try:
                    self._key(job, self._rules_of(job.task))
                except ExpansionError:
                    pass

    def _key(self, job: Job, rules: TaskRules) -> str:
        key = self.keys.get(job.id)
        if key is not None:
            return key
        try:
            key = job_key(rules.def_hash, job.params or {}, job.inputs)
        except valuecodec.UnstorableValue as exc:
            raise ExpansionError(f"{job.label}: an input value cannot be stored: {exc}") from None
        self.keys[job.id] = key
        return key

    def _trusted(self, job: Job, rules: TaskRules) -> bool:
        """Whether the job is up to date as it was when the plan memo was
        written, without finding its record: it is the job it was then (its
        key is one the memo found up to date), makes no values (there are
        none to read), and nothing its decision depends on has changed
        since: its files (the memo's stamps) and what is upstream (all up to
        date). The memo is used only while the cache has not changed."""
        if not job.resources.cache or not _all_up_to_date(job.deps):
            return False
        trust = self.trust
        assert trust is not None and job.output_files is not None
        unchanged = trust.unchanged
        for path in job.inputs:
            if path not in unchanged:
                return False
        for path in job.output_files.values():
            if path not in unchanged:
                return False
        if trust.same_graph and job.id < self.planned_nodes:
            key = trust.key_of(job.id)  # the same job of the same graph: no need to make it
            if not key:
                return False
            self.keys[job.id] = key
            return True
        if not trust.knows(self._key(job, rules)):
            return False
        # The new memo lists the files this plan used (stat-ed ahead: taken from there).
        self.files.note(job.inputs)
        self.files.note(job.output_files.values())
        return True

    def _rules_of(self, task: Task) -> TaskRules:
        rules = self.rules.get(task.name)
        if rules is None:
            rules = self.rules[task.name] = self._rules(task)
        return rules

    def _rules(self, task: Task) -> TaskRules:
        def_hash = self.def_hashes[task.name] = definition_hash(task)
        checks = []
        for p in task.params:
            check = typerules.checker(p.type)
            if check is not None:
                checks.append((p.name, check))
        forced = ""
        if self.options.forceall:
            forced = "forced (-F)"
        elif task.name in self.options.forcerun:
            forced = f"forced (-R {task.name})"
        trustable = not task.outputs and not forced
        return TaskRules(def_hash, tuple(checks), forced, trustable)

    def _touch(self, job: Job, key: str, reason: str) -> None:
        """Record a job that would run as done with its files as they are now,
        exactly as if it had just made them; or, when its result would not be
        what running it gives, leave it (and so everything downstream) alone."""
        why = self._untouchable(job, reason)
        if why is not None:
            job.state = NodeState.FAILED  # not failed, but what depends on it is blocked
            self.outcome.not_touched.append((job, why))
            for dependent in job.dependents:
                self._block(dependent)
            return
        outputs = list((job.output_files or {}).values())
        in_stamps = self._input_stamps(job)
        out_stamps = {p: self.files.stamp(p, with_hash=True) for p in outputs}
        files = {"in": in_stamps, "out": out_stamps}
        def_hash = self.def_hashes[job.task.name]
        params = job.params or {}
        self.touched.append((key, job.task.name, job.slot, def_hash, params, files))
        fresh = FreshResult("done", def_hash, params, {}, files)
        self.fresh[key] = fresh
        self.records[job.id] = fresh
        job.values = {}
        self.outcome.touched.append(job)
        self._complete(job, NodeState.DONE)

    def _write_touched(self) -> None:
        """Record the touched jobs, in one transaction."""
        if self.cache is None or not self.touched:
            return
        from outflowfile.store.cache import Touched

        self.cache.jobs_touched([Touched(*t) for t in self.touched])

    def _untouchable(self, job: Job, reason: str) -> str | None:
        """Why ``job`` cannot be touched, or None."""
        if job.task.outputs:
            names = ", ".join(o.name for o in job.task.outputs)
            return f"it produces values ({names}): only running it gives them"
        if not job.resources.cache:
            return "its task says cache: false (it always runs)"
        if reason == "left incomplete by an interrupted run":
            return "left incomplete by an interrupted run: its outputs may be partial"
        for path in job.inputs:
            if self.files.stat(path) is None:
                return f"input file {path} is missing"
        missing = [p for p in (job.output_files or {}).values() if self.files.stat(p) is None]
        if len(missing) == 1:
            return f"output file {missing[0]} is missing"
        if missing:
            return f"output files {', '.join(missing)} are missing"
        return None

    def _input_stamps(self, job: Job) -> dict[str, Any]:
        """The stamps of a job's input files as it starts; an input another
        job made carries the content hash its producer recorded."""
        in_stamps = {}
        for path in job.inputs:
            stamp = self.files.stamp(path, with_hash=False)
            if stamp is not None:
                stamp[2] = self._producer_hash(path)
            in_stamps[path] = stamp
        return in_stamps

    def _would_run(self, job: Job, reason: str) -> None:
        self.outcome.would_run.append((job, reason))
        self._complete(job, NodeState.WOULD_RUN)

    def _bad_param(self, job: Job, name: str) -> None:
        """Stop a job whose input ``name`` is not of its declared type."""
        p = job.task.param(name)
        assert p is not None and p.type is not None
        value = (job.params or {}).get(name)
        raise ExpansionError(
            f"task {job.task.name!r} input {name!r} expects {p.type} "
            f"but receives {typerules.describe(value)}{_origin(job, name)}"
        )

    def _missing_inputs(self, job: Job) -> None:
        for path in job.inputs:
            if self.files.stat(path) is None:
                raise ExpansionError(
                    f"{job.label}: input file {path} does not exist and no job makes it"
                )

    def _reason(self, job: Job, key: str, def_hash: str) -> str:
        """Why a job that is not forced must run, or '' when it is up to date
        (its values and record are then taken from its result)."""
        if not job.resources.cache:
            return "cache: false"
        result = self.fresh.get(key) or self.snapshot.by_key.get(key)
        if result is None:
            previous = self.snapshot.by_slot.get(job.slot)
            return reason_without_result(previous, def_hash, job.params or {})
        reason = check_files(job, result, self.files, self._producer_hash)
        if reason:
            return reason
        job.values = result.values
        self.records[job.id] = result
        return ""

    def _producer_hash(self, path: str) -> str | None:
        producer = self.graph.producer_of.get(path)
        if producer is None:
            return None
        result = self.records.get(producer.id)
        if result is None and producer.state == NodeState.SKIPPED:
            result = self._record_of(producer)  # decided from the memo: found now
        if result is None:
            return None
        stamp = result.files.get("out", {}).get(path)
        current = self.files.stat(path)
        if stamp is None or current is None or (stamp[0], stamp[1]) != current:
            return None
        return stamp[2]

    def _record_of(self, job: Job) -> Any:
        key = self._key(job, self.rules[job.task.name])
        result = self.fresh.get(key) or self.snapshot.by_key.get(key)
        if result is not None:
            self.records[job.id] = result
        return result

    # --- running --------------------------------------------------------------

    def _dispatch(self) -> None:
        assert self.executor is not None
        if self.stopping:
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
                    self._fail_before_start(job, str(exc))
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
                self.running or skipped
            ) and (skipped or not self._can_queue(spec)):
                too_big.add(size)
                skipped.append((job, reason, attempt))
                continue
            del self.specs[job.id]
            self._start(job, spec, reason, attempt)
        self.queue.extendleft(reversed(skipped))

    def _can_queue(self, spec: JobSpec) -> bool:
        can_queue = getattr(self.executor, "can_queue", None)
        return can_queue is not None and bool(can_queue(spec))

    def _stop(self) -> None:
        """Start nothing more: a job failed (without -k)."""
        self.stopping = True
        withdraw = getattr(self.executor, "withdraw_queued", None)
        if withdraw is not None:
            withdraw()

    def _spec(self, job: Job) -> JobSpec:
        assert self.executor is not None
        task = job.task
        params = job.params or {}
        cpus = self.executor.grant(job.resources.cpus)
        key = self.keys[job.id]
        log = self._log_path(job, key)
        body = task.body
        code_line = 0
        if isinstance(body, RunBody):
            kind, code, code_line = "run", body.code, body.first_line
        elif isinstance(body, ShellBody):
            kind = "shell"
            try:
                code = format_command(
                    body.command,
                    params=params,
                    input_files=job.input_files or {},
                    output_files=job.output_files or {},
                    cpus=cpus,
                    log=log,
                )
            except PatternError as exc:
                raise ExpansionError(f"{job.label}: {exc}") from None
        elif isinstance(body, CallBody):
            kind, code = "call", f"{body.module}:{body.function}"
        else:  # pragma: no cover - the parser makes only these three
            raise ExpansionError(f"{job.label}: unknown body")
        return JobSpec(
            id=job.id,
            task=task.name,
            label=job.label,
            kind=kind,
            code=code,
            code_line=code_line,
            outflowfile=str(self.outflowfile),
            workdir=str(self.workdir),
            params=params,
            input_files=job.input_files or {},
            output_files=job.output_files or {},
            value_outputs=[o.name for o in task.outputs],
            cpus=cpus,
            mem=job.resources.mem,
            time=job.resources.time,
            log=log,
            key=key,
            resources={
                "partition": job.resources.partition,
                "cluster": job.resources.cluster,
                "local": job.resources.local,
            },
        )

    def _log_path(self, job: Job, key: str) -> str:
        if job.task.log:
            try:
                return format_pattern(job.task.log, job.params or {})
            except PatternError as exc:
                raise ExpansionError(f"{job.label}: {exc}") from None
        name = _safe(job.label[len(job.task.name) :].strip()) or job.task.name
        return f".outflow/logs/{job.task.name}/{name}-{key[:8]}.log"

    def _start(self, job: Job, spec: JobSpec, reason: str, attempt: int) -> None:
        assert self.executor is not None
        outputs = list(spec.output_files.values())
        in_stamps = self._input_stamps(job)
        row = None
        if self.cache is not None:
            row = self.cache.job_started(
                spec.key,
                job.task.name,
                job.slot,
                self.def_hashes[job.task.name],
                spec.params,
                outputs,
                spec.log,
                self.host,
                time.time(),
            )
        spec.row = row if row is None or row > 0 else None  # a ticket is the recorder's own
        # Running from here on, so that a Ctrl-C at any moment finds it and
        # cleans up after it, whether or not its process has started.
        job.state = NodeState.RUNNING
        self.running[job.id] = Running(job, row, spec, in_stamps, attempt, reason)
        # Only once the cache knows: if it cannot be written, the old outputs
        # stay; if we die now, the next run removes what the row lists.
        problem = self._prepare_outputs(outputs, spec.log)
        if problem is None:
            self.console.job_started(job, reason, spec)
            try:
                self.executor.start(spec)
            except (ValueError, OSError, pickle.PicklingError) as exc:
                problem = str(exc)
        if problem is not None:
            del self.running[job.id]
            if self.cache is not None and row is not None:
                self.cache.job_failed(row, problem, time.time(), None, None, None)
            self._fail_before_start(job, problem)

    def _prepare_outputs(self, outputs: list[str], log: str) -> str | None:
        """Remove old outputs and make the outputs' and the log's directories;
        why that cannot be done (a read-only or full filesystem), or None."""
        problems = [f"{p} (an old output)" for p in self._remove_files(outputs)]
        for path in outputs + [log]:
            try:
                self._make_parent(path)
            except OSError as exc:
                problems.append(f"cannot make the directory {os.path.dirname(path)} "
                                f"for {path}: {exc.strerror or exc}")
        return "; ".join(problems) if problems else None

    def _make_parent(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent not in self.made_dirs:
            os.makedirs(os.path.join(self.workdir, parent), exist_ok=True)
            self.made_dirs.add(parent)

    def _finish(self, result: JobResult) -> None:
        run = self.running.pop(result.id)
        job = run.job
        if not result.ran:
            self._not_started(run)
            return
        error = result.error if not result.ok else self._check_result(job, run.spec, result)
        if error is None:
            self._record_success(run, result)
            return
        for problem in self._remove_files(list(run.spec.output_files.values())):
            error += f"\n{problem} (a partial output)"
        if self.cache is not None and run.row is not None:
            self.cache.job_failed(
                run.row,
                error,
                result.ended or time.time(),
                result.exit_status,
                result.cpu_seconds,
                result.peak_mem,
                result.started or None,  # later than the row says, if it was queued
            )
        if run.attempt < job.resources.retries and not self.stopping:
            self.console.job_retry(job, run.attempt + 1, job.resources.retries, error)
            self.queue.appendleft((job, "retry", run.attempt + 1))
            return
        job.state = NodeState.FAILED
        self.outcome.failed.append(job)
        self.console.job_failed(job, run.spec, result, error)
        for dependent in job.dependents:
            self._block(dependent)
        if not self.options.keep_going:
            self._stop()

    def _not_started(self, run: Running) -> None:
        """A job the executor had queued and never started: as if it had
        never left the queue (what it may have begun to write is removed)."""
        self._remove_files(list(run.spec.output_files.values()))
        if self.cache is not None and run.row is not None:
            self.cache.withdraw(run.row)
        self.console.job_not_started(run.job)
        run.job.state = NodeState.READY
        if not self.stopping:
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
        for path in spec.output_files.values():
            self.files.forget(path)
            if self.files.stat(path) is None:
                return f"the job finished but did not make its output file {path}"
        return None

    def _record_success(self, run: Running, result: JobResult) -> None:
        job = run.job
        outputs = run.spec.output_files.values()
        out_stamps = {p: self.files.stamp(p, with_hash=True) for p in outputs}
        files = {"in": run.in_stamps, "out": out_stamps}
        if self.cache is not None and run.row is not None:
            self.cache.job_done(
                run.row,
                result.values,
                files,
                result.ended,
                result.exit_status,
                result.cpu_seconds,
                result.peak_mem,
                result.started or None,
            )
        fresh = FreshResult(
            "done", self.def_hashes[job.task.name], run.spec.params, result.values, files
        )
        self.fresh[run.spec.key] = fresh
        self.records[job.id] = fresh
        job.values = result.values
        self.outcome.ran.append(job)
        self.console.job_done(job, result, len(self.outcome.ran), self.to_run)
        self._complete(job, NodeState.DONE)

    def _fail_before_start(self, node: Node, message: str) -> None:
        """A node that cannot even start (bad input value, missing file)."""
        node.state = NodeState.FAILED
        if isinstance(node, Job):
            self.outcome.failed.append(node)
        label = _label(node)
        self.console.node_error(label, message.removeprefix(f"{label}: "))
        for dependent in node.dependents:
            self._block(dependent)
        if not self.options.keep_going:
            self._stop()

    def _remove_files(self, paths: list[str]) -> list[str]:
        """Remove these files (or directories) where they exist; says why for
        each one that is there and cannot be removed."""
        problems = []
        for path in paths:
            self.files.forget(path)
            full = os.path.join(self.workdir, path)
            try:
                os.remove(full)
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                import shutil

                shutil.rmtree(full, ignore_errors=True)
            except OSError as exc:
                # A read-only filesystem refuses even to remove what is not there.
                if os.path.lexists(full):
                    problems.append(f"cannot remove {path}: {exc.strerror or exc}")
        return problems

    def _interrupt(self, how: str) -> None:
        if self.executor is None:
            raise Interrupted(how, [])
        names = self._cancel_running(tell_cache=True)
        raise Interrupted(how, names)

    def _cancel_running(self, tell_cache: bool) -> list[str]:
        """Kill the running jobs, remove their outputs and, with
        ``tell_cache``, mark them interrupted (one write); the labels of
        those that had started."""
        if self.executor is None:
            return []
        never_ran = {r.id for r in self.executor.cancel_all() if not r.ran}
        rows, names = [], []
        for run in self.running.values():
            self._remove_files(list(run.spec.output_files.values()))
            if run.job.id in never_ran:
                if tell_cache and self.cache is not None and run.row is not None:
                    self.cache.withdraw(run.row)
                continue
            names.append(run.job.label)
            if run.row is not None:
                rows.append(run.row)
        self.running.clear()
        if tell_cache and self.cache is not None and rows:
            self.cache.mark_interrupted(rows)
        return names


def _all_up_to_date(nodes: list[Node]) -> bool:
    """Every node found up to date this run (a map: every job it holds)."""
    for node in nodes:
        if type(node) is MapNode:
            if node.state != NodeState.DONE or not _all_up_to_date(node.deps):
                return False
        elif node.state != NodeState.SKIPPED:
            return False
    return True


def _would_run_cause(node: Node) -> Node | None:
    """The first upstream job that would run (dry run), looking through maps
    to the job inside them."""
    dep = None
    for d in node.deps:
        if d.state == NodeState.WOULD_RUN:
            dep = d
            break
    if isinstance(dep, MapNode) and dep.expanded:
        return _would_run_cause(dep) or dep
    return dep


def _producers(expr: Any) -> list[Node]:
    from outflowfile.graph.expand import producers

    return producers(expr)


def _label(node: Node) -> str:
    if isinstance(node, Job):
        return node.label
    if isinstance(node, MapNode):
        m = node.map
        return f"map({m.source} -> {m.target})" if m.source else "map"
    return f"node {node.id}"


def _origin(job: Job, name: str) -> str:
    from outflowfile.graph.expand import Const, Ref

    expr = job.bindings.get(name)
    if isinstance(expr, Ref):
        return f" from {_label(expr.node)}"
    if isinstance(expr, Const) and expr.origin.startswith("config:"):
        return " from the config"
    return ""


_UNSAFE = re.compile(r"[^\w=\-.,]")  # \w: what str.isalnum() accepts, and "_"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text)[:80]
