"""The run loop: walks the job graph, has each job decided, and sends those
that must run on (ninja's Builder).

Nodes become *ready* when everything they depend on is complete. A ready job
is decided (``plan/decide.py``): up to date (complete at once, with its
cached values), or handed to the dispatch (``dispatch.py``): an executor, or
in a dry run nowhere (``dryrun.py``). A ready map expands, adding nodes. The
loop then lets the dispatch start what fits and finish what ended, which
releases their dependents, until nothing is left to wait for.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from outflowfile.errors import Problem, UserError
from outflowfile.graph.cycles import cycle_error, find_cycle
from outflowfile.graph.expand import (
    COMPLETE,
    UNKNOWN,
    ChoiceNode,
    ExpansionError,
    Graph,
    Job,
    MapNode,
    Node,
    NodeState,
    checked_items,
    producers,
    resolve,
)
from outflowfile.graph.fileflags import has_temp_outputs
from outflowfile.plan.decide import Decider
from outflowfile.plan.rules import label
from outflowfile.run.dispatch import Dispatch, Dispatcher
from outflowfile.run.dryrun import DryRun
from outflowfile.run.outcome import Interrupted, Outcome
from outflowfile.run.outputs import Outputs
from outflowfile.run.record import Recorder
from outflowfile.run.report import Counts, RunReporter
from outflowfile.run.tempfiles import TempFiles
from outflowfile.store.snapshot import collector_paused

if TYPE_CHECKING:
    from outflowfile.language.model import Location
    from outflowfile.plan.owned import Owned
    from outflowfile.plan.prestat import Prestat
    from outflowfile.store.records import Touched

# Picks, out of each batch of new nodes, those the targets need.
Keep = Callable[[list[Node]], list[Node]]


class Loop:
    def __init__(
        self,
        decider: Decider,
        dispatch: Dispatch,
        *,
        recorder: Recorder,
        reporter: RunReporter,
        workdir: Path,
        outflowfile: Path,
        owned: Owned | None = None,
        keep_going: bool = False,
        keep: Keep | None = None,
        prestat: Prestat | None = None,
        keep_temp: bool = False,
    ) -> None:
        self.decider = decider
        self.graph: Graph = decider.graph
        self.recorder = recorder
        self.reporter = reporter
        self.workdir = workdir
        self.outflowfile = outflowfile
        # The paths the jobs claim; told of each job whose paths are bound
        # during the run (the graph's first jobs were told before it).
        if owned is None:
            from outflowfile.plan.owned import Owned

            owned = Owned(str(workdir), str(outflowfile))
        self.owned = owned
        self.outputs = Outputs(workdir, decider.files)
        self.keep_going = keep_going
        self.keep = keep
        self.prestat = prestat  # files being stat-ed for the plan by a helper
        self.outcome = Outcome()
        self.ready: deque[Node] = deque()
        self.stopping = False
        self.jobs_admitted = 0
        # A real run keeps outputs no older than what is upstream of them
        # (_keep_order); a dry run and --touch change no file.
        self.keep_order = isinstance(dispatch, Dispatcher)
        # Temporary files are removed by a real run only (tempfiles.py).
        # With --keep-temp, or in a dry run, the files a run would remove
        # are only listed (and no plan memo is written over them).
        dry = isinstance(dispatch, DryRun)
        self.temps = (
            TempFiles(workdir, decider.files, dry=dry or keep_temp)
            if (self.keep_order or dry) and has_temp_outputs(self.graph.model)
            else None
        )
        self.kept: list[Touched] = []  # their records, written with the run's end
        # Jobs up to date that run only to make a removed temporary file
        # again: in a dry run, what reads their other outputs is not
        # "downstream of a job that will run" (they make what they made).
        self.remade: set[int] = set()
        self.held: dict[int, str] = {}  # job id -> why it runs, while it waits for those
        self.dispatch = dispatch
        dispatch.attach(self)

    def run(self) -> Outcome:
        start = time.monotonic()
        self.outcome.graph = self.graph
        dispatch = self.dispatch
        try:
            # What planning makes lives as long as the run.
            with collector_paused(keep=True):
                if self.prestat is not None:
                    self.decider.keys_ahead()  # while the helper stats the files
                    self.decider.files.ahead = self.prestat.collect() or {}
                    self.prestat = None
                self._admit(self.graph.take_fresh())
                self._drain_ready()
            while True:
                self._drain_ready()
                if not dispatch.step():
                    break
                self.reporter.tick()
            if self.temps is not None:
                self._end_temps(self.temps)
            if self.kept:
                self.recorder.jobs_touched(self.kept)
            self.recorder.flush()
            dispatch.end()
        except KeyboardInterrupt as exc:
            self._interrupted(type(exc).__name__)
        except UserError:
            # The cache cannot be written (locked, full, unreachable): stop
            # the jobs and remove what they half made. Their rows stay
            # "running", so the next run says they were left incomplete.
            dispatch.cancel(tell_recorder=False)
            raise
        finally:
            if self.prestat is not None:
                self.prestat.cancel()
            dispatch.detach()
            self._release_graph()
        return self._outcome(start)

    def _end_temps(self, temps: TempFiles) -> None:
        temps.end()
        if temps.dry:
            self.outcome.temp_left = temps.removed
        else:
            self.outcome.temp_removed = temps.removed
        for problem in temps.problems:
            self.reporter.warn(f"outflow: {problem}")

    def _interrupted(self, how: str) -> None:
        raise Interrupted(how, self.dispatch.cancel(tell_recorder=True))

    def _outcome(self, start: float) -> Outcome:
        outcome = self.outcome
        if self.stopping:
            left = (NodeState.WAITING, NodeState.READY)
            outcome.not_started = sum(
                1 for n in self.graph.nodes if isinstance(n, Job) and n.state in left
            )
        outcome.elapsed = time.monotonic() - start
        outcome.files_seen = self.decider.files.seen()
        outcome.keys = self.decider.keys
        # A row left running by a dead run is for the next real run to clean
        # up: no plan memo is written over it.
        snapshot = self.decider.snapshot
        outcome.cache_state = None if snapshot.running else snapshot.state
        return outcome

    def counts(self) -> Counts:
        """Where the run stands, for the status line."""
        o = self.outcome
        return Counts(
            done=len(o.ran),
            running=self.dispatch.running(),
            failed=len(o.failed),
            queued=self.dispatch.queued(),
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

    # --- admitting and readying -------------------------------------------

    def _admit(self, nodes: list[Node]) -> None:
        if self.keep is not None:
            nodes = self.keep(nodes)
        if self.temps is not None:
            self.temps.admit(nodes)
        jobs = 0
        link = self.graph.link_file_dependencies
        trust = self.decider.trust is not None
        linked: list[Node] = []  # jobs that read another's file without a pipe
        for node in nodes:
            if type(node) is Job:
                jobs += 1
                if node.input_files is not None:
                    extra = link(node)
                    if extra:
                        node.deps.extend(extra)
                        linked.append(node)
                    # Most jobs of a plan helped by the memo have their
                    # upstream jobs admitted, and decided, before them, and
                    # are then spared the queue; the others are asked again
                    # when they leave it.
                    if trust and self.decider.trusted_now(node):
                        self._up_to_date(node)
                        continue
            self._wait_on(node, node.deps)
        self.jobs_admitted += jobs
        if linked:
            self._refuse_cycle(linked)

    def _refuse_cycle(self, linked: list[Node]) -> None:
        """Stop, before anything more starts, if jobs just linked to the
        producers of the files they read wait on each other in a ring (only
        a file dependency can close one)."""
        cycle = find_cycle(linked)
        if cycle is not None:
            raise cycle_error(cycle, self.graph.producer_of)

    def _wait_on(self, node: Node, deps: Sequence[Node]) -> None:
        node.waiting = 0
        for dep in deps:
            if dep.state in COMPLETE:
                continue
            if dep.state in (NodeState.FAILED, NodeState.BLOCKED):
                self.block(node)
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
                    self.fail_before_start(node, str(exc), exc.loc)

    def _ready_map(self, node: MapNode) -> None:
        self.recorder.flush()  # expanding a big map takes a while
        if node.expanded:
            unknown = any(
                d.state == NodeState.WOULD_RUN and d.id not in self.remade for d in node.deps
            )
            self.complete(node, NodeState.WOULD_RUN if unknown else NodeState.DONE)
            return
        if isinstance(node, ChoiceNode):
            self._decide(node)
            return
        items = resolve(node.source)
        if items is UNKNOWN:
            self.outcome.unsized.append(node)
            self.complete(node, NodeState.WOULD_RUN)
            return
        source = node.map.source or "value"
        self.graph.expand_map_items(node, checked_items(items, node.map, source, node.target))
        self._grown(node)

    def _decide(self, node: ChoiceNode) -> None:
        """A condition whose names are known: its chosen side's jobs join
        the run; still unknown (a dry run), it stays undecided."""
        values = {name: resolve(expr) for name, expr in node.names.items()}
        if any(v is UNKNOWN for v in values.values()):
            self.outcome.unsized.append(node)
            self.complete(node, NodeState.WOULD_RUN)
            return
        self.graph.decide_choice(node, values)
        self._grown(node)

    def _grown(self, node: MapNode) -> None:
        """Admit the jobs a map or condition has just made; it is complete
        when they are."""
        fresh = self.graph.take_fresh()
        if self.owned.check(fresh):  # none of its jobs is admitted, so none starts
            self.refuse(node)
            return
        inner: list[Node] = [d for e in node.outputs.values() for d in producers(e)]
        node.deps = inner
        node.state = NodeState.WAITING
        self._admit(fresh)
        self._wait_on(node, inner)

    def _ready_job(self, job: Job) -> None:
        upstream = _would_run_cause(job, self.remade) if job.deps else None
        if upstream is not None:
            self.would_run(job, f"upstream {label(upstream)} will run")
            return
        if job.params is None or job.output_files is None:
            self.graph.resolve_files(job)
            if self.owned.check((job,)):
                self.refuse(job)
                return
            extra = self.graph.link_file_dependencies(job)
            if extra:  # producers of its input files, found only now
                job.deps.extend(extra)
                self._refuse_cycle([job])
                pending = [d for d in extra if d.state not in COMPLETE]
                if pending:
                    self._wait_on(job, pending)
                    return
                upstream = _would_run_cause(job, self.remade)
                if upstream is not None:
                    self.would_run(job, f"upstream {label(upstream)} will run")
                    return
        reason = self.decider.decide(job) or self.held.pop(job.id, "")
        if not reason:  # then every input file exists: the decision has seen them
            if self.decider.kept_by_cutoff(job):
                if self.keep_order:
                    self._keep_order(job)
                else:  # the run will touch them: no plan memo says there is nothing to do
                    self.outcome.to_reorder += 1
            self._up_to_date(job)
            return
        self._must_run(job, reason)

    def _must_run(self, job: Job, reason: str) -> None:
        """Hand ``job`` to the dispatch; but first have the temporary files
        it reads that were removed made again (``_reopen``): it then waits
        for their producers, and is decided again when they are done."""
        gone = self.decider.gone_temp_inputs(job)
        for producer, path in gone:
            if producer.id in self.remade and producer.state == NodeState.DONE:
                # Made again for it this run, and gone again: not a third time.
                raise ExpansionError(f"{job.label}: temporary file {path} is missing")
            if producer.state in (NodeState.SKIPPED, NodeState.DONE):
                self._reopen(producer, f"temporary file {path} is needed by {job.label}")
        waiting = [p for p, _ in gone if p.state not in COMPLETE]
        if not waiting:
            self.dispatch.submit(job, self.decider.keys[job.id], reason)
            return
        # Decided again once they are done, it runs whatever that says: a
        # job remade only for its temporary file is up to date by its record.
        self.held[job.id] = reason
        job.state = NodeState.WAITING
        job.waiting = len(waiting)
        for producer in waiting:
            producer.dependents.append(job)

    def _reopen(self, job: Job, reason: str) -> None:
        """A job found up to date (or run) whose temporary output was removed
        must run after all, for a job that reads it. What depended on it
        has gone ahead already: only the jobs that wait for it from now on
        are its dependents."""
        if job.state == NodeState.SKIPPED:
            self.outcome.up_to_date -= 1
        self.remade.add(job.id)
        job.state = NodeState.READY
        job.dependents = []
        self.decider.reopen(job)
        self._must_run(job, reason)

    def _keep_order(self, job: Job) -> None:
        """Early cutoff kept ``job``: an input was remade, identical, after
        its outputs were made. Touch them, so that no output is older than
        one upstream of it (tools such as htslib compare the mtimes), and
        record its files as they now are (written with the run's end)."""
        # Not a temporary file removed as planned (its record stands).
        stat = self.decider.files.stat
        paths = [p for p in (job.output_files or {}).values() if stat(p) is not None]
        if not paths:
            return
        for problem in self.outputs.touch(paths):
            self.reporter.warn(f"outflow: {job.label}: {problem}")
        files = self.decider.refreshed(job)
        if files is None:
            return
        from outflowfile.store.records import Touched

        decider = self.decider
        self.kept.append(Touched(
            decider.keys[job.id], job.task.name, job.slot, decider.def_hashes[job.task.name],
            job.params or {}, files, job.values or {},
        ))  # fmt: skip

    # --- completing ---------------------------------------------------------

    def _up_to_date(self, job: Job) -> None:
        self.outcome.up_to_date += 1
        self.complete(job, NodeState.SKIPPED)

    def would_run(self, job: Job, reason: str) -> None:
        self.outcome.would_run.append((job, reason))
        self.complete(job, NodeState.WOULD_RUN)

    def complete(self, node: Node, state: NodeState) -> None:
        node.state = state
        if self.temps is not None and type(node) is Job:
            self.temps.completed(node)
        for dependent in node.dependents:
            dependent.waiting -= 1
            if dependent.waiting == 0 and dependent.state == NodeState.WAITING:
                self.ready.append(dependent)

    def block(self, node: Node) -> None:
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

    def fail(self, node: Node) -> None:
        node.state = NodeState.FAILED
        if isinstance(node, Job):
            self.outcome.failed.append(node)
        elif isinstance(node, MapNode):
            self.outcome.failed_maps.append(node)

    def fail_downstream(self, node: Node) -> None:
        """What depends on a failed node cannot run; without -k, nothing more starts."""
        for dependent in node.dependents:
            self.block(dependent)
        if not self.keep_going:
            self.stopping = True
            self.dispatch.stop()

    def refuse(self, node: Node) -> None:
        """Bound paths that no job may own (``self.owned`` has the problems):
        the node fails, and nothing more starts; jobs already running end
        as they would, those done stay done, and the command fails with the
        problems (``Outcome.refused``)."""
        node.state = NodeState.FAILED
        for dependent in node.dependents:
            self.block(dependent)
        self.outcome.refused = self.owned.error()
        self.stopping = True
        self.dispatch.stop()

    def fail_before_start(self, node: Node, message: str, loc: Location | None = None) -> None:
        """A node that cannot even start (bad input value, missing file, a
        map source that is not a list), named by its place in the
        Outflowfile when the problem has one."""
        self.fail(node)
        name = label(node)
        message = message.removeprefix(f"{name}: ")
        if loc is not None:
            # file:line:col, the line and a caret, as the language stage says it
            shown = Problem(f"{name}: {message}", loc).render().split("\n", 1)
            name, message = str(loc), shown[0].removeprefix(f"{loc}: ")
            message += "\n" + shown[1] if len(shown) > 1 else ""
        self.reporter.node_error(name, message)
        self.fail_downstream(node)


def _would_run_cause(node: Node, remade: set[int]) -> Node | None:
    """The first upstream job that would run (dry run), looking through maps
    to the job inside them; not one that runs only to make a temporary file
    again (``remade``)."""
    dep = None
    for d in node.deps:
        if d.state == NodeState.WOULD_RUN and d.id not in remade:
            dep = d
            break
    if isinstance(dep, MapNode) and dep.expanded:
        return _would_run_cause(dep, remade) or dep
    return dep
