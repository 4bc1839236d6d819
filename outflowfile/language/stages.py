"""Lookups on the model's stage tree: names to tasks and workflows, the
tasks a stage starts with or uses (through the workflows it names), every
stage inside a stage."""

from __future__ import annotations

from collections.abc import Iterator

from outflowfile.language.model import (
    Branch,
    Choice,
    ConfigEntry,
    Location,
    Map,
    ModelIndex,
    Outflowfile,
    Pipe,
    Stage,
    StageRef,
    Task,
    Workflow,
)


def build_index(model: Outflowfile) -> ModelIndex:
    """Name lookups where the first definition of a name wins (the checker
    reports the later ones)."""
    tasks: dict[str, Task] = {}
    workflows: dict[str, Workflow] = {}
    config: dict[str, ConfigEntry] = {}
    for t in model.tasks:
        tasks.setdefault(t.name, t)
    for w in model.workflows:
        workflows.setdefault(w.name, w)
    for c in model.config:
        config.setdefault(c.name, c)
    return ModelIndex(tasks=tasks, workflows=workflows, config=config)


def resolve(name: str, index: ModelIndex) -> Task | Workflow | None:
    """The task, else the workflow, called ``name``."""
    return index.tasks.get(name) or index.workflows.get(name)


def resolve_ref(ref: StageRef, index: ModelIndex) -> Task | Workflow | None:
    """The task or workflow a stage reference names, or None."""
    return resolve(ref.name, index)


def first_tasks(stage: Stage, index: ModelIndex) -> list[Task]:
    """The tasks that receive a stage's input: a task itself; the first tasks
    of a workflow's pipeline; of a pipe, its first stage's; of a branch, each
    branch's; of a map, its body's. Unknown names and workflow cycles give
    nothing."""
    return [e for e in entry_points(stage, index, set(), into_maps=True) if isinstance(e, Task)]


def entry_points(
    stage: Stage, index: ModelIndex, seen: set[str], into_maps: bool
) -> list[Task | Map]:
    """The tasks a stage starts with, as ``first_tasks``; a map counts as
    itself unless ``into_maps``. ``seen``: the workflows entered already."""
    if isinstance(stage, StageRef):
        target = resolve_ref(stage, index)
        if isinstance(target, Task):
            return [target]
        if isinstance(target, Workflow) and target.name not in seen:
            return entry_points(target.pipeline, index, seen | {target.name}, into_maps)
        return []
    if isinstance(stage, Pipe):
        return entry_points(stage.stages[0], index, seen, into_maps) if stage.stages else []
    if isinstance(stage, Branch):
        return [e for b in stage.branches for e in entry_points(b, index, seen, into_maps)]
    if isinstance(stage, Choice):
        return [e for s in choice_sides(stage) for e in entry_points(s, index, seen, into_maps)]
    if into_maps:
        return entry_points(stage.body, index, seen, into_maps)
    return [stage]


def stage_loc(stage: Stage) -> Location | None:
    """Where a stage was written (a pipe or branch without one: its first part)."""
    if stage.loc is not None:
        return stage.loc
    if isinstance(stage, Pipe) and stage.stages:
        return stage_loc(stage.stages[0])
    if isinstance(stage, Branch) and stage.branches:
        return stage_loc(stage.branches[0])
    return None


def iter_stages(stage: Stage) -> Iterator[Stage]:
    """A stage and every stage inside it, depth first."""
    yield stage
    if isinstance(stage, Pipe):
        for s in stage.stages:
            yield from iter_stages(s)
    elif isinstance(stage, Branch):
        for b in stage.branches:
            yield from iter_stages(b)
    elif isinstance(stage, Map):
        yield from iter_stages(stage.body)
    elif isinstance(stage, Choice):
        for side in choice_sides(stage):
            yield from iter_stages(side)


def stage_tasks(stage: Stage, index: ModelIndex, seen: frozenset[str] = frozenset()) -> set[str]:
    """Names of every task a stage contains, through workflow references."""
    if isinstance(stage, StageRef):
        if stage.name in index.tasks:
            return {stage.name}
        if stage.name in seen or stage.name not in index.workflows:
            return set()
        return stage_tasks(index.workflows[stage.name].pipeline, index, seen | {stage.name})
    if isinstance(stage, Pipe):
        return set().union(*(stage_tasks(s, index, seen) for s in stage.stages))
    if isinstance(stage, Branch):
        return set().union(*(stage_tasks(s, index, seen) for s in stage.branches))
    if isinstance(stage, Map):
        return stage_tasks(stage.body, index, seen)
    return set().union(*(stage_tasks(s, index, seen) for s in choice_sides(stage)))


def choice_sides(choice: Choice) -> list[Stage]:
    """The stages a condition chooses between (one without ``else``)."""
    return [choice.then] if choice.otherwise is None else [choice.then, choice.otherwise]
