"""Which tasks a stage of a workflow uses, through the workflows it names.

A question about the model that planning (which jobs the targets need) and
the views (what a map not yet sized will run) both ask.
"""

from __future__ import annotations

from outflowfile.language.model import Branch, Map, ModelIndex, Pipe, Stage, StageRef


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
    return set()
