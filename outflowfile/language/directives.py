"""The words of a task's body: reserved names, directives and map options.

Read by the tree builder (``outflowfile.language.transform``), the syntax
error messages (``outflowfile.language.syntaxerrors``) and the checker.
"""

from __future__ import annotations

KEYWORDS = frozenset({"config", "task", "workflow", "map"})
BODY_DIRECTIVES = ("run", "shell", "call")
RESOURCE_DIRECTIVES = (
    "cpus", "mem", "time", "partition", "cluster", "retries", "local", "cache",
)  # fmt: skip
DIRECTIVES = ("input", "output", "log", *RESOURCE_DIRECTIVES, *BODY_DIRECTIVES)
# Map options set defaults for the jobs inside the map: the resource directives.
MAP_OPTIONS = RESOURCE_DIRECTIVES
