"""The checks of the code a task runs from a file: a ``call:`` module must
be found (in the project directory, or installed), a ``script:`` must exist
and its program be installed; a ``venv:`` requirements file must exist.
Part of ``outflowfile.language.check`` when the project directory is known
(``outflow --lint`` and every run)."""

from __future__ import annotations

from pathlib import Path

from outflowfile.language.codefiles import (
    installed,
    module_file,
    runner_missing,
    script_file,
    script_runner,
    top_level_names,
)
from outflowfile.language.findings import Findings, did_you_mean
from outflowfile.language.model import CallBody, Location, ScriptBody, Task


def check_code(findings: Findings, tasks: list[Task], project: Path, outflowfile: Path) -> None:
    """Report each module not found and each script missing, once per task."""
    for task in tasks:
        body = task.body
        if isinstance(body, CallBody):
            _check_module(findings, task, body, project)
        elif isinstance(body, ScriptBody):
            _check_script(findings, task, body, outflowfile)
        if task.resources.venv is not None:
            _check_venv(findings, task, task.resources.venv, outflowfile)


def _check_venv(findings: Findings, task: Task, spec: str, outflowfile: Path) -> None:
    if not script_file(spec, outflowfile).is_file():
        findings.add(
            f"venv: requirements file '{spec}' of task '{task.name}' does not exist",
            task.directive_locs.get("venv") or task.loc,
            "its path is relative to the Outflowfile's directory; it lists the packages "
            "(one a line, pinned: name==1.2) that outflow installs into the task's environment",
        )


def _check_module(findings: Findings, task: Task, body: CallBody, project: Path) -> None:
    module = body.module
    if not all(part.isidentifier() for part in module.split(".")):
        return  # taskcheck says so
    source = module_file(module, project)
    if source is not None:
        _check_function(findings, task, body, source)
        return
    if installed(module):
        return
    relative = module.replace(".", "/")
    findings.add(
        f"call: module '{module}' of task '{task.name}' not found: no {relative}.py or "
        f"{relative}/__init__.py in the project directory, and no installed package "
        f"'{module.split('.')[0]}'",
        body.loc or task.loc,
        "call: imports the module with the project directory on sys.path; "
        'to run a file by its path, write script: "path/to/file.py"',
    )


def _check_script(findings: Findings, task: Task, body: ScriptBody, outflowfile: Path) -> None:
    runner = script_runner(body.path)
    loc = body.loc or task.loc
    if runner is None:
        return  # taskcheck says so
    found = script_file(body.path, outflowfile)
    if not found.is_file():
        findings.add(
            f"script '{body.path}' of task '{task.name}' "
            + ("is a directory, not a file" if found.is_dir() else "does not exist"),
            loc,
            "a script's path is relative to the Outflowfile's directory",
        )
    elif runner_missing(runner):
        findings.add(
            f"script '{body.path}' of task '{task.name}' needs {runner}, which is not "
            "installed (not found on PATH)",
            loc,
            "install it, or write the step as a .py or .sh script",
        )


def _check_function(findings: Findings, task: Task, body: CallBody, source: Path) -> None:
    """The function named must be defined at the top of the project's module
    (a def, or a name bound there); a module that binds names in ways not
    seen without running it (``import *``, ``__getattr__``) is let be."""
    try:
        names = top_level_names(source)
    except SyntaxError as exc:
        if task.resources.environment:  # another Python may read what this one cannot
            return
        findings.add(
            f"call: module '{body.module}' of task '{task.name}' is not valid Python: {exc.msg}",
            Location(str(source), exc.lineno or 1, exc.offset or 1),
        )
        return
    if names is None or body.function in names:
        return
    functions = sorted(n for n, is_def in names.items() if is_def and not n.startswith("_"))
    findings.add(
        f"call: module '{body.module}' ({source.name}) of task '{task.name}' has no function "
        f"'{body.function}'",
        body.loc or task.loc,
        did_you_mean(body.function, functions) or (
            f"it defines: {', '.join(functions[:12])}" if functions else "it defines no function"),
    )
