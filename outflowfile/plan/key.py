"""Job keys: what identifies a result in the cache.

A job's key hashes its task's *definition* (normalised body, the code
file a ``call:`` or ``script:`` runs (plan/code.py), and the directives
that shape its results), its input values, its input file paths and its
environment (image digest, venv spec, modules: plan/envdigests.py).
Scheduling directives (cpus, mem, time, partition, cluster, retries,
local) are left out on purpose: asking for more cores must not throw away
finished results. A ``run:`` body is normalised through Python's AST, so
editing a comment or blank lines does not rerun anything.
"""

from __future__ import annotations

import ast
import hashlib
import json
from typing import Any

from outflowfile import valuecodec
from outflowfile.language.expressions import Expression
from outflowfile.language.model import CallBody, RunBody, ScriptBody, ShellBody, Task


def normalised_body(task: Task, code: str = "") -> list[str]:
    """The body as the key sees it; ``code`` is the digest of the file a
    ``call:`` or ``script:`` runs and of the project modules the body
    imports (plan/code.py; '' for none)."""
    body = task.body
    if isinstance(body, RunBody):
        try:
            found = ["run", ast.dump(ast.parse(body.code))]
        except SyntaxError:
            found = ["run", body.code]
        if code:  # the project modules it imports (none: the hash it always had)
            found.append(code)
        return found
    if isinstance(body, ShellBody):
        return ["shell", body.command.strip()]
    if isinstance(body, CallBody):
        return ["call", f"{body.module}:{body.function}", code]
    if isinstance(body, ScriptBody):
        return ["script", body.path, code]
    raise TypeError(f"unknown body {body!r}")


def definition_hash(task: Task, code: str = "", environment: str = "") -> str:
    """A hash of everything in a task's definition that shapes its results;
    ``code``: the digest of its code file (plan/code.py); ``environment``:
    what its own environment directives name now (plan/envdigests.py)."""
    described = {
        "name": task.name,
        "body": normalised_body(task, code),
        "params": [[p.name, str(p.type), _default(p.default) if p.has_default else None]
                   for p in task.params],
        "outputs": [[o.name, str(o.type)] for o in task.outputs],
        "input": [[f.name, f.pattern] for f in task.input_files],
        "output": [[f.name, f.pattern] for f in task.output_files],
    }
    if environment:  # absent otherwise: the hashes of tasks without one stay as they were
        described["environment"] = environment
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _default(default: Any) -> str:
    """A default as the definition sees it: a value, or a computed default's
    text (its value, per job, is among the job's input values)."""
    if isinstance(default, Expression):
        return "expr:" + default.source
    return valuecodec.encode(default)


def job_key(
    def_hash: str, params: dict[str, Any], input_paths: list[str], environment: str = ""
) -> str:
    """The cache key of a job: definition, input values, input file paths,
    and what it runs with (``plan/envdigests.py``; '' for outflow's own
    environment, which leaves the key as it was before environments)."""
    paths = "\0".join(sorted(input_paths)) if len(input_paths) > 1 else "".join(input_paths)
    text = f"{def_hash}\0{valuecodec.encode(params)}\0{paths}"
    if environment:
        text += f"\0{environment}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]
