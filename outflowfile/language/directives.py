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
_NO_WILDCARDS = (
    "outflow has no wildcards to constrain: a task's inputs are named values, bound by "
    "name, never read back out of file names; list the values (a config entry, "
    "glob(\"data/{sample}.txt\")) or check one in the task's body"
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
    "wildcard_constraints": _NO_WILDCARDS,
    "conda": _CONDA,
    "singularity": 'use container: "image" (run with --container-runtime apptainer or singularity)',
    "notebook": "run the notebook from a shell: command (jupyter nbconvert --execute ...)",
    "wrapper": "write the wrapper's command in a shell: directive",
}

# Snakemake's words at the left margin of a file, where outflow expects
# task, workflow, config or include: what to write instead. (A directive
# word there is told to go inside a task, with its POINTERS entry.)
TOP_LEVEL_POINTERS = {
    "rule": (
        "outflow's rules are tasks: task NAME(inputs): with input:, output: "
        "and a body (shell:, run:, call: or script:)"
    ),
    "checkpoint": (
        "write an ordinary task: a map over a list it makes, map(source -> item) { task }, "
        "is sized when it ends"
    ),
    "wildcard_constraints": _NO_WILDCARDS,
    "configfile": (
        "declare config entries in a config: block (config: then indented n: int = 3), "
        "or read a whole file as one: c = yaml(\"c.yaml\"); set entries with -C n=5, "
        "--configfile c.yaml, or the [config] table of outflow.toml or a --profile"
    ),
    "localrules": "write local: true in each task to run on this machine",
    "ruleorder": (
        "outflow has no rule order: one task makes each file, and the workflow says "
        "which tasks run"
    ),
    "workdir": "give the project directory on the command line: outflow -d DIR",
    "envvars": "jobs see outflow's environment: export the variables before running outflow",
    "module": 'include the file under a prefix: include: "rules/x.of" as NAME',
    "use": 'include the file under a prefix: include: "rules/x.of" as NAME (tasks NAME_TASK)',
    "report": "outflow --report FILE.html writes a report of the project's last run",
    **dict.fromkeys(("onstart", "onsuccess", "onerror"), (
        "outflow has no hooks: run the command before or after outflow (its exit status "
        "says how the run went)"
    )),
}
