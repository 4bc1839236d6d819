"""The spec of a job about to start: what an executor needs to run it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from outflowfile.graph.expand import ExpansionError, Job
from outflowfile.language.codefiles import script_file
from outflowfile.language.model import CallBody, RunBody, ScriptBody, ShellBody
from outflowfile.language.patterns import PatternError, format_command, format_pattern
from outflowfile.run.jobspec import JobSpec


def job_spec(
    job: Job,
    key: str,
    cpus: int,
    workdir: Path,
    outflowfile: Path,
    environment: dict[str, Any] | None = None,
) -> JobSpec:
    """``cpus``: the cores the executor grants it; ``environment``: what it
    runs with (plan/envdigests.py). Raises ExpansionError when its command
    or log file name cannot be made."""
    task = job.task
    params = job.params or {}
    input_files: dict[str, Any] = job.input_files or {}
    log = log_path(job, key)
    body = task.body
    code_line = 0
    source = str(outflowfile)
    if isinstance(body, RunBody):
        kind, code, code_line = "run", body.code, body.first_line
        if body.loc is not None and body.loc.file != source:  # in an included file
            source = os.path.abspath(body.loc.file)
    elif isinstance(body, ShellBody):
        kind = "shell"
        try:
            code = format_command(
                body.command,
                params=params,
                input_files=input_files,
                output_files=job.output_files or {},
                cpus=cpus,
                log=log,
            )
        except PatternError as exc:
            raise ExpansionError(f"{job.label}: {exc}") from None
    elif isinstance(body, CallBody):
        kind, code = "call", f"{body.module}:{body.function}"
    elif isinstance(body, ScriptBody):
        kind, code = "script", str(script_file(body.path, outflowfile))
    else:  # pragma: no cover - the parser makes only these four
        raise ExpansionError(f"{job.label}: unknown body")
    return JobSpec(
        id=job.id,
        task=task.name,
        label=job.label,
        kind=kind,
        code=code,
        code_line=code_line,
        outflowfile=source,
        workdir=str(workdir),
        params=params,
        input_files=input_files,
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
        environment=environment or {},
    )


def log_path(job: Job, key: str) -> str:
    if job.task.log:
        try:
            return format_pattern(job.task.log, job.params or {})
        except PatternError as exc:
            raise ExpansionError(f"{job.label}: {exc}") from None
    name = _safe(job.label[len(job.task.name) :].strip()) or job.task.name
    return f".outflow/logs/{job.task.name}/{name}-{key[:8]}.log"


_UNSAFE = re.compile(r"[^\w=\-.,]")  # \w: what str.isalnum() accepts, and "_"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text)[:80]
