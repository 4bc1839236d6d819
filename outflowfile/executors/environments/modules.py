"""``envmodules:``: the job's command runs after ``module load`` of each
module, with Lmod or Environment Modules, whichever the machine has.

The shell finds ``module`` through the init script of either (the first of
``INIT_SCRIPTS`` that exists). ``check`` loads the modules once, before the
first job needing them starts, so that a module that does not exist fails
its jobs with its name and the tool's message, once per run.
"""

from __future__ import annotations

import shlex
import subprocess

INIT_SCRIPTS = (
    "/etc/profile.d/lmod.sh",
    "/usr/share/lmod/lmod/init/bash",
    "/etc/profile.d/modules.sh",
    "/usr/share/modules/init/bash",
    "/usr/share/Modules/init/bash",
)
NO_MODULE = 97  # the exit status of a job whose modules cannot be loaded
CHECK_TIMEOUT = 120.0


def prefix(names: list[str]) -> str:
    """Shell text (bash) that loads ``names``, or exits with ``NO_MODULE``
    saying which one failed."""
    found = " ".join(shlex.quote(p) for p in INIT_SCRIPTS)
    lines = [
        f"for _outflow_init in {found}; do",
        '  if [ -r "$_outflow_init" ]; then . "$_outflow_init"; break; fi',
        "done",
        "if ! type module >/dev/null 2>&1; then",
        "  echo \"outflow: envmodules: no 'module' command on $(hostname): install Lmod or "
        f'Environment Modules" >&2; exit {NO_MODULE}',
        "fi",
    ]
    for name in names:
        quoted = shlex.quote(name)
        lines.append(
            f"module load {quoted} || {{ echo \"outflow: envmodules: cannot load module "
            f"{_echo(name)}\" >&2; exit {NO_MODULE}; }}"
        )
    return "\n".join(lines) + "\n"


def check(names: list[str]) -> str | None:
    """Why ``names`` cannot be loaded here, or None when they can."""
    script = prefix(names) + "exit 0\n"
    try:
        done = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"envmodules: cannot run bash to load {', '.join(names)}: {exc}"
    if done.returncode == 0:
        return None
    said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    ours = [line for line in said if line.startswith("outflow: ")]
    why = ours[-1].removeprefix("outflow: ") if ours else f"module load {' '.join(names)} failed"
    detail = [line for line in said if not line.startswith("outflow: ")][:2]
    return why + (" (" + " ".join(detail) + ")" if detail else "")


def _echo(name: str) -> str:
    """``name`` inside a double-quoted echo."""
    return "'" + name.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace(
        "`", "\\`") + "'"
