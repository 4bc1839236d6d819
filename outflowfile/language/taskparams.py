"""``-C TASK.INPUT=VALUE``: a task input's default set from the command line.

``-C compute.multiplier=15`` sets the default of the input ``multiplier``
of task ``compute``; ``-C multiplier=15`` does the same when no config entry
is named ``multiplier`` and exactly one task has an input of that name (the
Outflow habit of ``--multiplier 15``). The text is read as the input's
declared type, else as the type of its default, by the rules of ``--config``
(``config.coerce_override``). The model's default is replaced, so the new
default counts in the jobs' keys as a default written in the file does, and
the model's digest (the plan memo's fingerprint) changes with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from outflowfile.errors import Problem, UserError
from outflowfile.language import typerules
from outflowfile.language.config import coerce_override
from outflowfile.language.model import Outflowfile, Param, Task


def apply_task_overrides(model: Outflowfile, overrides: dict[str, str]) -> dict[str, str]:
    """Set the task input defaults ``overrides`` name in ``model``; the
    others (config entries) are returned. Raises ``UserError`` listing
    every bad one."""
    config_names = {entry.name for entry in model.config}
    tasks = {task.name: task for task in model.tasks}
    rest: dict[str, str] = {}
    problems: list[Problem] = []
    applied: list[str] = []
    for key, text in overrides.items():
        try:
            target = _target(key, text, tasks, config_names)
            if target is None:
                rest[key] = text
                continue
            task, param = target
            value = coerce_override(
                key, f"input '{param.name}' of task '{task.name}'", param.type, param.default, text
            )
        except UserError as exc:
            problems.extend(exc.problems)
            continue
        task.params = [replace(p, default=value) if p is param else p for p in task.params]
        applied.append(f"{task.name}.{param.name}={text}")
    if problems:
        raise UserError(problems[0].message, problems=problems)
    if applied:
        text = "\0".join([model.digest, *applied])
        model.digest = hashlib.sha256(text.encode()).hexdigest()
    return rest


def _target(
    key: str, text: str, tasks: dict[str, Task], config_names: set[str]
) -> tuple[Task, Param] | None:
    """The task and input ``key`` names, or None for a config entry."""
    task_name, dot, name = key.rpartition(".")
    if not dot:
        if key in config_names:
            return None
        owners = [task for task in tasks.values() if task.param(key) is not None]
        if not owners:
            _near_input(key, text, tasks, config_names)
            return None  # resolve_config says it is unknown
        if len(owners) > 1:
            spelled = " or ".join(f"-C {t.name}.{key}={text}" for t in owners)
            raise UserError(
                f"--config {key}={text}: {len(owners)} tasks have an input '{key}' "
                "and no config entry is named so",
                hint=f"name the task: {spelled}",
            )
        param = owners[0].param(key)
        assert param is not None
        return owners[0], param
    task = tasks.get(task_name)
    if task is None:
        near = typerules.suggest(task_name, set(tasks))
        known = "tasks: " + ", ".join(tasks) if tasks else "the Outflowfile has no tasks"
        raise UserError(
            f"--config {key}={text}: unknown task '{task_name}'",
            hint=f"did you mean '{near}'? {known}" if near else known,
        )
    param = task.param(name)
    if param is None:
        names = [p.name for p in task.params]
        near = typerules.suggest(name, set(names))
        known = f"its inputs: {', '.join(names)}" if names else "it has no inputs"
        raise UserError(
            f"--config {key}={text}: task '{task_name}' has no input '{name}'",
            hint=f"did you mean '{near}'? {known}" if near else known,
        )
    return task, param


def _near_input(key: str, text: str, tasks: dict[str, Task], config_names: set[str]) -> None:
    """Say so when the unknown ``key`` looks like a task's input rather
    than a config entry (else ``resolve_config`` reports it)."""
    inputs: dict[str, list[str]] = {}
    for task in tasks.values():
        for p in task.params:
            inputs.setdefault(p.name, []).append(task.name)
    near = typerules.suggest(key, config_names | set(inputs))
    if near is None or near in config_names:
        return
    owners = inputs[near]
    spelled = " or ".join(f"-C {t}.{near}={text}" for t in owners)
    raise UserError(
        f"--config {key}={text}: unknown config key '{key}'",
        hint=f"did you mean '{near}', an input of task{'s' if len(owners) > 1 else ''} "
        f"{', '.join(repr(t) for t in owners)}? "
        f"({spelled})",
    )
