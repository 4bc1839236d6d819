"""``venv:``: one Python environment per requirements file content, under
``.outflow/envs/<digest>/``, built once and shared by every job (and task)
naming the same content, here or on cluster nodes over the shared
filesystem.

Built with ``uv`` when it is on PATH, else ``python -m venv`` and pip, from
outflow's own Python (so that the workers of ``run:``/``call:`` bodies can
run in it). A file lock makes jobs starting together build it once: the
first builds, the others wait and find it made. A file ``ready`` inside
marks it finished; the build's output is kept in ``<digest>.log`` beside
it, which a failure names.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

ENVS_DIR = ".outflow/envs"
READY = "ready"
BUILD_TIMEOUT = 3600.0


class BuildFailed(Exception):
    """The environment could not be built; the message names its log."""


def location(workdir: str, digest: str) -> Path:
    return Path(workdir, ENVS_DIR, digest[:16])


def python_of(env: Path) -> str:
    return str(env / "bin" / "python")


def ensure(workdir: str, spec: str, digest: str) -> Path:
    """The environment for the requirements file ``spec`` (content
    ``digest``), built if it is not there yet. Raises BuildFailed."""
    env = location(workdir, digest)
    if (env / READY).exists():
        return env
    if digest == "missing":
        raise BuildFailed(f"venv: requirements file {spec} does not exist")
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{env}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another job or node may be building it
        if not (env / READY).exists():
            _build(env, spec, Path(f"{env}.log"))
    return env


def _build(env: Path, spec: str, log: Path) -> None:
    shutil.rmtree(env, ignore_errors=True)  # what a killed build left
    uv = shutil.which("uv")
    python = python_of(env)
    source = ["-r", spec] if not spec.endswith(".toml") else [str(Path(spec).parent)]
    if uv:
        steps = [[uv, "venv", "--python", sys.executable, str(env)],
                 [uv, "pip", "install", "--python", python, *source]]
    else:
        steps = [[sys.executable, "-m", "venv", str(env)],
                 [python, "-m", "pip", "install", "--disable-pip-version-check", *source]]
    with log.open("a") as out:  # appended: each build of it, failed ones too
        for argv in steps:
            out.write("$ " + " ".join(argv) + "\n")
            out.flush()
            try:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT,
                                      env=_build_env(), check=False)
                status = done.returncode
            except (OSError, subprocess.SubprocessError) as exc:
                out.write(f"{exc}\n")
                status = -1
            if status != 0:
                shutil.rmtree(env, ignore_errors=True)
                raise BuildFailed(
                    f"venv: building the environment of {spec} failed: see {log}"
                )
    (env / READY).write_text(spec + "\n")


def _build_env() -> dict[str, str]:
    """outflow's environment without what points at outflow's own venv."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env
