"""``outflow --list``: the workflows and tasks of an Outflowfile, and its
config as a run would take it."""

from __future__ import annotations

import os
from typing import Any

from outflowfile.language.model import (
    FileSpec,
    Glob,
    Location,
    Outflowfile,
    Reader,
    Resources,
    Task,
)


def describe(
    model: Outflowfile, values: dict[str, Any] | None = None, given: dict[str, str] | None = None
) -> str:
    """The listing; a config entry the command line set (``given``: the
    entry and where from) shows the value a run takes (``values``, the
    resolved config), the others their defaults as written."""
    lines = ["Workflows:"]
    default = model.default_workflow()
    for wf in model.workflows:
        mark = "  (default)" if default is not None and wf.name == default.name else ""
        lines.append(f"  {wf.name}{mark}{_origin(model, wf.loc)}")
    if not model.workflows:
        lines.append("  (none)")
    lines.append("")
    lines.append("Tasks:")
    for task in model.tasks:
        lines.append(f"  {signature(task)}{_resources(task.resources)}{_origin(model, task.loc)}")
    if model.config:
        lines.append("")
        lines.append("Config:")
        for entry in model.config:
            typ = f": {entry.type}" if entry.type else ""
            source = (given or {}).get(entry.name)
            if source is not None and values is not None and entry.name in values:
                shown = f"{_short(values[entry.name])}  (from {source})"
            else:
                shown = _default(entry.default)
            lines.append(f"  {entry.name}{typ} = {shown}")
    return "\n".join(lines)


def _origin(model: Outflowfile, loc: Location | None) -> str:
    """``  (from rules/align.of)`` for what an included file defines."""
    if loc is None or loc.file == model.path:
        return ""
    return f"  (from {os.path.relpath(loc.file, os.path.dirname(model.path) or '.')})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:69] + "…"


def _default(value: Any) -> str:
    """A config default as written in the Outflowfile."""
    if isinstance(value, Glob):
        return 'glob("' + value.pattern + '")'
    if isinstance(value, Reader):
        return f'{value.kind}("{value.path}")'
    return repr(value)


def signature(task: Task) -> str:
    params = ", ".join(f"{p.name}: {p.type}" if p.type else p.name for p in task.params)
    outs = [f"{o.name}: {o.type}" if o.type else o.name for o in task.outputs]
    outs += [f"{f.name}: {_path_type(f)}" for f in task.output_files]
    arrow = f" -> ({', '.join(outs)})" if outs else ""
    return f"{task.name}({params}){arrow}"


def _path_type(spec: FileSpec) -> str:
    """An output file as ``--list`` shows it: ``path``, ``temp(path)``,
    ``protected(path)``."""
    return "temp(path)" if spec.temp else "protected(path)" if spec.protected else "path"


def _resources(res: Resources) -> str:
    from outflowfile.language.units import format_mem, format_time

    parts = []
    if res.cpus != 1:
        parts.append(f"cpus={res.cpus}")
    if res.mem is not None:
        parts.append(f"mem={format_mem(res.mem)}")
    if res.time is not None:
        parts.append(f"time={format_time(res.time)}")
    for name in ("partition", "cluster"):
        if getattr(res, name):
            parts.append(f"{name}={getattr(res, name)}")
    if res.retries:
        parts.append(f"retries={res.retries}")
    if res.local:
        parts.append("local")
    if not res.cache:
        parts.append("cache=false")
    return f"  [{', '.join(parts)}]" if parts else ""
