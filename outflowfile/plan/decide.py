"""Must this job run? The decision for one job at a time, as the run loop
reaches it (ninja's DependencyScan, asked job by job).

A job is up to date when the cache holds a result for its key (its task's
definition, its inputs' values and files) whose files are as they were:
``reason`` says why not. The plan memo may vouch for a job without its
record being read (``trusted``). What the decision learns (the keys made,
the results found or made this run) is kept here, for the jobs downstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from outflowfile import valuecodec
from outflowfile.graph.expand import ExpansionError, Graph, Job, MapNode, NodeState
from outflowfile.graph.fileflags import is_temp_output
from outflowfile.language.model import Location, Task
from outflowfile.plan import stamps
from outflowfile.plan.code import CodeDigests
from outflowfile.plan.envdigests import EnvironmentDigests
from outflowfile.plan.files import (
    DEFINITION_CHANGED,
    FileState,
    FreshResult,
    check_files,
    reason_without_result,
)
from outflowfile.plan.key import job_key
from outflowfile.plan.rules import Forcing, TaskRules, all_up_to_date, check_params, task_rules

if TYPE_CHECKING:
    from outflowfile.plan.memo import Trust
    from outflowfile.store.snapshot import Snapshot


@dataclass
class Decider:
    graph: Graph
    snapshot: Snapshot
    files: FileState  # every file stat-ed this run, stat-ed once
    forcing: Forcing = field(default_factory=Forcing)
    # What the plan memo lets the plan trust (memo.py): see ``trusted``.
    trust: Trust | None = None
    planned_nodes: int = 0  # nodes made before the run, from the memo's fingerprint
    fresh: dict[str, FreshResult] = field(default_factory=dict)  # key -> made this run
    # Jobs found up to date through early cutoff (``kept_by_cutoff``), and
    # how many content hashes ``producer_hash`` gave, which tells them.
    cut: set[int] = field(default_factory=set)
    hashes_given: int = 0
    keys: dict[int, str] = field(default_factory=dict)  # job id -> key, of those keyed
    records: dict[int, Any] = field(default_factory=dict)  # job id -> the result that completed it
    def_hashes: dict[str, str] = field(default_factory=dict)
    rules: dict[str, TaskRules] = field(default_factory=dict)
    restated: set[str] = field(default_factory=set)  # see ``restat_made_inside``
    # The code files of call: and script: bodies, read once (None: not looked at).
    code: CodeDigests | None = None
    # What the jobs' environments are this run (None: none is looked at).
    envs: EnvironmentDigests | None = None

    def rules_of(self, task: Task) -> TaskRules:
        rules = self.rules.get(task.name)
        if rules is None:
            env = task.resources.environment
            part = self.envs.part(env) if env and self.envs is not None else ""
            rules = self.rules[task.name] = task_rules(task, self.forcing, self.code, part)
            self.def_hashes[task.name] = rules.def_hash
        return rules

    def decide(self, job: Job) -> str:
        """Why ``job`` (its files resolved) must run, or '' when it is up to
        date: its values are then set. Raises ExpansionError for an input
        value of the wrong type or that cannot be stored."""
        rules = self.rules_of(job.task)
        if rules.checks:
            check_params(job, rules)
        if job.value_files:
            self.restat_made_inside(job)
        if self.trust is not None and self.trusted_now(job):
            return ""
        key = self.key(job, rules)
        return rules.forced or self.reason(job, key, rules.def_hash)

    def restat_made_inside(self, job: Job) -> None:
        """Forget what is known of the files among the job's values that lie
        in a directory another job made in this run: they were stat-ed (or
        listed by the plan memo) before it was made again. That job is
        upstream of this one (``Graph.link_file_dependencies``)."""
        graph = self.graph
        for path in job.value_files:
            if path in self.restated or path in graph.producer_of:
                continue
            producer = graph.container_producer(path)
            if producer is not None and producer.state == NodeState.DONE:
                self.restated.add(path)
                self.files.forget(path)

    def trusted_now(self, job: Job) -> bool:
        """Whether the plan memo vouches for the job (``trusted``); its values
        are then none."""
        rules = self.rules_of(job.task)
        if not rules.trustable or not self.trusted(job, rules):
            return False
        job.values = {}
        return True

    def keys_ahead(self) -> None:
        """The key of every job whose inputs are known already. One that
        cannot be made is left to raise its error when the job is decided."""
        for job in self.graph.nodes:
            if type(job) is Job and job.output_files is not None:
                try:
                    self.key(job, self.rules_of(job.task))
                except ExpansionError:
                    pass

    def key(self, job: Job, rules: TaskRules) -> str:
        key = self.keys.get(job.id)
        if key is not None:
            return key
        try:
            env = job.resources.environment
            part = self.envs.part(env) if env and self.envs is not None else ""
            key = job_key(rules.def_hash, job.params or {}, job.inputs, part)
        except valuecodec.UnstorableValue as exc:
            raise ExpansionError(f"{job.label}: an input value cannot be stored: {exc}") from None
        self.keys[job.id] = key
        return key

    def trusted(self, job: Job, rules: TaskRules) -> bool:
        """Whether the job is up to date as it was when the plan memo was
        written, without finding its record: it is the job it was then (its
        key is one the memo found up to date), makes no values (there are
        none to read), and nothing its decision depends on has changed
        since: its files (the memo's stamps) and what is upstream (all up to
        date). The memo is used only while the cache has not changed."""
        if not job.resources.cache or not all_up_to_date(job.deps):
            return False
        if job.resources.environment:  # an image's digest is not among the memo's files
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
        if trust.same_graph and job.id < self.planned_nodes and not self.fed_by_growth(job):
            key = trust.key_of(job.id)  # the same job of the same graph: no need to make it
            if not key:
                return False
            self.keys[job.id] = key
            return True
        if not trust.knows(self.key(job, rules)):
            return False
        # The new memo lists the files this plan used (stat-ed ahead: taken from there).
        self.files.note(job.inputs)
        self.files.note(job.output_files.values())
        return True

    def fed_by_growth(self, job: Job) -> bool:
        """Whether an input of the job comes through a map or a condition
        that grew its jobs in this run: the job of the same id then need not
        have the inputs it had (other items, the other side)."""
        planned = self.planned_nodes
        return any(isinstance(d, MapNode) and d.members[0] >= planned for d in job.deps)

    def reason(self, job: Job, key: str, def_hash: str) -> str:
        """Why a job that is not forced must run, or '' when it is up to date
        (its values and record are then taken from its result)."""
        if not job.resources.cache:
            return "cache: false"
        result = self.fresh.get(key) or self.snapshot.by_key.get(key)
        if result is None:
            previous: Any = self.snapshot.by_slot.get(job.slot)  # a Record: a ResultLike
            why = reason_without_result(previous, def_hash, job.params or {})
            if why == DEFINITION_CHANGED and self.code is not None:
                why = self.code.edited_since(job.task, previous.started) or why
            if why == DEFINITION_CHANGED and job.task.resources.environment:
                why = "task definition or environment changed"
            return why
        given = self.hashes_given
        reason = check_files(job, result, self.files, self.producer_hash, self.temp_gone)
        if reason:
            return reason
        if self.hashes_given != given:
            # An input differs from the record and was found remade with the
            # same content: had it differed, ``reason`` would say so.
            self.cut.add(job.id)
        job.values = result.values
        self.records[job.id] = result
        return ""

    def producer_hash(self, path: str) -> str | None:
        """The content hash the job that makes ``path`` recorded for it, while
        the file is as that job left it."""
        producer = self.graph.producer_of.get(path)
        if producer is None:
            inner = self._inner_hash(path)
            if inner is not None:
                self.hashes_given += 1
            return inner
        result = self.records.get(producer.id)
        if result is None and producer.state == NodeState.SKIPPED:
            result = self._record_of(producer)  # decided from the memo: found now
        if result is None:
            return None
        stamp = result.files.get("out", {}).get(path)
        current = self.files.stat(path)
        if stamp is None or current is None or (stamp[0], stamp[1]) != current:
            return None
        self.hashes_given += 1
        return stamp[2]

    def temp_gone(self, path: str, recorded: Any) -> bool:
        """Whether ``path``, missing, is a temporary file removed after its
        readers succeeded, as a record holding ``recorded`` for it saw it:
        its producer's record holds the same stamp. It is then as good as
        there until a job that reads it must run (the loop then has its
        producer make it again first: ``Loop._must_run``)."""
        if not recorded:
            return False
        producer = self.graph.producer_of.get(path)
        if producer is None or not is_temp_output(producer, path):
            return False
        result = self.records.get(producer.id)
        if result is None and producer.output_files is not None:
            self.rules_of(producer.task)
            result = self._record_of(producer)
        made = None if result is None else result.files.get("out", {}).get(path)
        if not made:
            return False
        if stamps.same(made, (recorded[0], recorded[1])):
            return True
        digest = made[2] if len(made) > 2 else None
        return digest is not None and len(recorded) > 2 and digest == recorded[2]

    def gone_temp_inputs(self, job: Job) -> list[tuple[Job, str]]:
        """The producers of the temporary files ``job`` reads that were
        removed (each with one such file): they must make them again
        before ``job`` runs."""
        out: list[tuple[Job, str]] = []
        for path in job.inputs:
            producer = self.graph.producer_of.get(path)
            if producer is None or producer is job or any(p is producer for p, _ in out):
                continue
            if self.files.stat(path) is None and is_temp_output(producer, path):
                out.append((producer, path))
        return out

    def reopen(self, job: Job) -> None:
        """``job``, found up to date, must run after all (a temporary file
        it made is needed again): forget its result."""
        self.records.pop(job.id, None)

    def _inner_hash(self, path: str) -> str | None:
        """The content hash of a file in a directory another job makes (its
        producer records only the directory's): taken from the file itself,
        only for such a file, and only when its stamp has changed or its
        reader starts."""
        if self.graph.container_producer(path) is None or self.files.stat(path) is None:
            return None
        return stamps.content_digest(self.files.full_path(path))

    def _record_of(self, job: Job) -> Any:
        key = self.key(job, self.rules[job.task.name])
        result = self.fresh.get(key) or self.snapshot.by_key.get(key)
        if result is not None:
            self.records[job.id] = result
        return result

    def missing_input(self, job: Job) -> None:
        """Stop a job that is to run while an input file it reads is missing."""
        for path in job.inputs:
            if self.files.stat(path) is None:
                producer = self.graph.producer_of.get(path)
                if producer is not None and producer.state == NodeState.WOULD_RUN:
                    continue  # a temporary file its producer would make again (dry run)
                shown = path if path.isprintable() else repr(path)
                raise ExpansionError(
                    f"{job.label}: input file {shown} does not exist and no job makes it",
                    _input_loc(job, path),
                )

    def input_stamps(self, job: Job) -> dict[str, Any]:
        """The stamps of a job's input files as it starts; an input another
        job made carries the content hash its producer recorded."""
        in_stamps = {}
        for path in job.inputs:
            stamp = self.files.stamp(path, with_hash=False)
            if stamp is not None:
                stamp[2] = self.producer_hash(path)
            in_stamps[path] = stamp
        return in_stamps

    def made(
        self, job: Job, key: str, values: dict[str, Any], files: dict[str, Any]
    ) -> FreshResult:
        """A job ran (or was touched) and made this: its result, for the
        jobs decided after it."""
        fresh = FreshResult("done", self.def_hashes[job.task.name], job.params or {}, values, files)
        self.fresh[key] = fresh
        self.records[job.id] = fresh
        return fresh

    def kept_by_cutoff(self, job: Job) -> bool:
        """Whether ``job``, just found up to date, was kept by early cutoff:
        an input file's stamp is not the one its record holds, and its
        producer made it with the same content (in this run, or in an
        earlier one that was interrupted before this job could be kept).
        Its outputs are then older than that input (``refreshed``)."""
        return job.id in self.cut

    def refreshed(self, job: Job) -> dict[str, Any] | None:
        """After the outputs of a job kept by early cutoff were touched: the
        record of its files as they are now (its inputs' stamps, its
        outputs' new ones with the content hashes they had), made its result
        for the jobs decided after it. None if an output changed size
        meanwhile (it is then left to the next run)."""
        result = self.records[job.id]
        out_rec = result.files.get("out", {})
        out: dict[str, Any] = {}
        for path in (job.output_files or {}).values():
            self.files.forget(path)
            st, rec = self.files.stat(path), out_rec.get(path)
            if st is None and self.temp_gone(path, rec):
                out[path] = rec  # removed as planned: as its record says
                continue
            if st is None or rec is None or st[1] != rec[1]:
                return None
            out[path] = [st[0], st[1], rec[2]]
        files = {"in": self.input_stamps(job), "out": out}
        self.made(job, self.keys[job.id], result.values, files)
        return files

    def output_stamps(self, job: Job) -> dict[str, Any]:
        """The stamps (with content hashes) of a job's output files now."""
        outputs = (job.output_files or {}).values()
        return {p: self.files.stamp(p, with_hash=True) for p in outputs}

    def untouchable(self, job: Job, reason: str) -> str | None:
        """Why ``job``, which must run, cannot be recorded as done with its
        files as they are (``--touch``), or None."""
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


def _input_loc(job: Job, path: str) -> Location | None:
    """Where the Outflowfile names the input file ``path`` of ``job``: its
    ``input:`` pattern, else the task (a file among its values)."""
    for name, formatted in (job.input_files or {}).items():
        if formatted == path:
            spec = next((f for f in job.task.input_files if f.name == name), None)
            if spec is not None and spec.loc is not None:
                return spec.loc
    for name, value in (job.params or {}).items():  # a value typed path
        if str(value) == path:
            param = next((i for i in job.task.params if i.name == name), None)
            if param is not None and param.loc is not None:
                return param.loc
    return job.task.loc
