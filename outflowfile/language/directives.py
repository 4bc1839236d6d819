"""The words of a task's body: reserved names, directives and map options.

Read by the tree builder (``outflowfile.language.transform``), the syntax
error messages (``outflowfile.language.syntaxerrors``) and the checker.
"""

from __future__ import annotations

KEYWORDS = frozenset({"config", "task", "workflow", "map"})
BODY_DIRECTIVES = ("run", "shell", "call", "script")
RESOURCE_DIRECTIVES = (
    "cpus", "mem", "time", "partition", "cluster", "retries", "local", "cache",
)  # fmt: skip
# The software a job runs with (language/environments.py).
ENVIRONMENT_DIRECTIVES = ("container", "venv", "envmodules")
DIRECTIVES = (
    "input", "output", "log", *RESOURCE_DIRECTIVES, *ENVIRONMENT_DIRECTIVES, *BODY_DIRECTIVES,
)  # fmt: skip
# Map options set defaults for the jobs inside the map: the resource and
# environment directives.
MAP_OPTIONS = (*RESOURCE_DIRECTIVES, *ENVIRONMENT_DIRECTIVES)

# Directives of other workflow tools (Snakemake's, mostly) that outflow does
# not have: what to write instead, given with "unknown directive".
_CONDA = (
    "outflow does not build conda environments: run outflow inside an activated one "
    "(conda activate NAME, then outflow ...), or give the task a container: \"image\" "
    "or a venv: \"requirements.txt\""
)
POINTERS = {
    "threads": "use cpus: (the cores a job uses, e.g. cpus: 4; {cpus} in a shell: command)",
    "params": (
        "give the task inputs with defaults instead: task NAME(x, level: int = 3); "
        "set one for a run with -C NAME.level=5, or compute it in an upstream task"
    ),
    "benchmark": (
        "outflow records every job's time, CPU time and peak memory: see them with "
        "outflow --summary, or outflow --report FILE.html"
    ),
    "resources": "use mem: \"4G\", time: \"2h\", partition: NAME or cluster: \"...\"",
    "message": "outflow shows each job as it starts; write a comment above the task",
    "priority": "outflow has no job priorities: it starts ready jobs in the order of the file",
    "wildcard_constraints": (
        "outflow has no wildcards: a task's inputs are named values, bound by name; "
        "check a value in the body, or list the values (config, glob())"
    ),
    "conda": _CONDA,
    "singularity": 'use container: "image" (run with --container-runtime apptainer or singularity)',
    "notebook": "run the notebook from a shell: command (jupyter nbconvert --execute ...)",
    "wrapper": "write the wrapper's command in a shell: directive",
}
