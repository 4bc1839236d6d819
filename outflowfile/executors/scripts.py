"""Running a ``script:`` job: the program for it, and how it is told its
inputs, outputs and parameters.

A ``.py`` script runs with outflow's own Python, ``.R`` (or ``.r``) with
``Rscript``, ``.sh`` with ``bash``, in the project directory. Its process
gets, besides the environment every job gets (``OUTFLOW_CPUS``...):

- ``OUTFLOW_INPUT_<name>`` for each input file, ``OUTFLOW_OUTPUT_<name>``
  for each output file, ``OUTFLOW_PARAM_<name>`` for each of the task's
  inputs (its values), names as written in the Outflowfile; a list is its
  items separated by spaces, a dict its JSON;
- ``OUTFLOW_JOB``: the path of a JSON file holding all of it exactly:
  ``{"task", "input", "output", "params", "cpus", "log"}``, written before
  the script starts and removed when it ends.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from outflowfile.executors.body import run_shell_command
from outflowfile.language.codefiles import script_runner
from outflowfile.run.jobspec import JobSpec

JOBS_DIR = ".outflow/jobs"


def command(spec: JobSpec) -> tuple[list[str], dict[str, str]]:
    """The argv of a ``shell:`` or ``script:`` job, and the environment it
    adds to the job's (for a script: its job file, which this writes)."""
    if spec.kind != "script":
        return run_shell_command(spec), {}
    return script_argv(spec), script_env(spec)


def script_argv(spec: JobSpec) -> list[str]:
    runner = script_runner(spec.code)
    if runner == "python":
        return [sys.executable, spec.code]
    if runner is None:  # the checker refuses such a script; a spec made by hand may not
        raise OSError(f"no program runs {spec.code} (a .py, .R or .sh script)")
    return [runner, spec.code]


def script_env(spec: JobSpec) -> dict[str, str]:
    """The job's ``OUTFLOW_*`` variables; writes the job file they name."""
    env = {"OUTFLOW_JOB": write_job_file(spec), "OUTFLOW_LOG": spec.log}
    for prefix, values in (
        ("OUTFLOW_INPUT_", spec.input_files),
        ("OUTFLOW_OUTPUT_", spec.output_files),
        ("OUTFLOW_PARAM_", spec.params),
    ):
        for name, value in values.items():
            env[prefix + name] = env_text(value)
    return env


def job_file(spec: JobSpec) -> Path:
    return Path(spec.workdir, JOBS_DIR, f"{spec.key[:16] or 'job'}-{spec.id}.json")


def write_job_file(spec: JobSpec) -> str:
    path = job_file(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    described = {
        "task": spec.task,
        "input": spec.input_files,
        "output": spec.output_files,
        "params": spec.params,
        "cpus": spec.cpus,
        "log": spec.log,
    }
    path.write_text(json.dumps(described, default=_plain, indent=1) + "\n")
    return str(path)


def remove_job_file(spec: JobSpec) -> None:
    if spec.kind == "script":
        try:
            os.unlink(job_file(spec))
        except OSError:
            pass


def env_text(value: Any) -> str:
    """A value as an environment variable's text: a string as it is, a bool
    ``true``/``false``, None empty, a list (tuple, set) its items separated
    by spaces, anything else its JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float, os.PathLike)):
        return str(os.fspath(value)) if isinstance(value, os.PathLike) else str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return " ".join(env_text(item) for item in items)
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> Any:
    """What JSON cannot hold, as near as it can: sets as lists, paths and
    anything else as text, arrays as lists."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)
