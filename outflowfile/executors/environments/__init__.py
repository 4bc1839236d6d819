"""Running a job in its environment (``container:``, ``venv:``,
``envmodules:``), for the local pool and the cluster's node job alike.

``Environments`` is what one executor knows of them in a run: each image,
module list and venv is checked (or built) once, before the first job
needing it starts, and a problem found then fails every job needing it with
the same message, without running them. What a job's spec says of its
environment is made by the plan (``plan/envdigests.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from outflowfile.executors.environments import container, modules, venv
from outflowfile.plan.envdigests import MISSING, RUNTIMES
from outflowfile.run.jobspec import JobSpec, thread_env

Starter = Callable[[list[str], list[str]], tuple[list[str], str]]


class EnvironmentFailure(Exception):
    """The job cannot run in its environment; the message says why."""


@dataclass
class Environments:
    _modules: dict[tuple[str, ...], str | None] = field(default_factory=dict)
    _venvs: dict[str, Path | str] = field(default_factory=dict)  # digest: env, or why not
    _pythons: dict[tuple[str, str], str | None] = field(default_factory=dict)  # image: why not
    _boxes: int = 0  # Python workers started in containers so far
    # Remove the project's containers left by an outflow that is gone, once
    # per runtime, before the first job in a container: the head's, not a
    # node job's (one per job would cost each a runtime call).
    sweep: bool = True
    _swept: set[str] = field(default_factory=set)

    def check(self, spec: JobSpec) -> None:
        """Raise EnvironmentFailure when ``spec`` cannot run in its environment."""
        env = spec.environment
        if not env:
            return
        if env.get("container"):
            check_container(spec)
            if self.sweep and env["runtime"] not in self._swept:
                self._swept.add(env["runtime"])
                left = container.leftovers(env["runtime"], spec.workdir)
                container.remove([(env["runtime"], box) for box in left])
            if spec.kind in ("run", "call"):
                self._check_python(spec)
        if env.get("envmodules"):
            names = tuple(env["envmodules"])
            if names not in self._modules:
                self._modules[names] = modules.check(list(names))
            why = self._modules[names]
            if why is not None:
                raise EnvironmentFailure(why)
        if env.get("venv"):
            self.venv(spec)

    def venv(self, spec: JobSpec) -> Path:
        digest = spec.environment["venv_digest"]
        made = self._venvs.get(digest)
        if made is None:
            try:
                made = venv.ensure(spec.workdir, spec.environment["venv"], digest)
            except venv.BuildFailed as exc:
                made = str(exc)
            self._venvs[digest] = made
        if isinstance(made, str):
            raise EnvironmentFailure(made)
        return made

    def _check_python(self, spec: JobSpec) -> None:
        key = (spec.environment["runtime"], spec.environment.get("image_id") or "")
        if key not in self._pythons:
            self._pythons[key] = container.python_check(key[0], spec.environment["container"])
        why = self._pythons[key]
        if why is not None:
            raise EnvironmentFailure(why)

    def python(self, spec: JobSpec) -> str | None:
        """The interpreter of a ``run:``/``call:`` job's worker: its venv's,
        in a container what tells its workers apart (image, limits,
        mounts), or None for outflow's own. Raises EnvironmentFailure."""
        self.check(spec)
        env = spec.environment
        if env.get("container"):
            mounts = ",".join(container.worker_mounts(spec))
            return (f"container {env['runtime']} {env.get('image_id') or env['container']} "
                    f"cpus={spec.cpus} mem={spec.mem or 0} {mounts}")
        if env.get("venv"):
            return venv.python_of(self.venv(spec))
        return None

    def starter(self, spec: JobSpec) -> Starter | None:
        """For a Python job in a container: what makes the argv that starts
        its worker there from the worker's own (``python3 -c BOOT ...``) and
        the directories to mount read-only, and the container's name. None
        for a job without one."""
        if not spec.environment.get("container"):
            return None

        def start(python_argv: list[str], shared: list[str]) -> tuple[list[str], str]:
            self._boxes += 1
            box = f"outflow-worker-{os.getpid()}-{self._boxes}"
            return container.worker_argv(spec, box, python_argv, shared), box

        return start

    def shell(self, spec: JobSpec, argv: list[str],
              env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """The argv of a ``shell:`` or ``script:`` job in its environment
        (``argv``, ``env``: the command and variables it has without one),
        and the variables to add to its process's. Raises EnvironmentFailure."""
        described = spec.environment
        if not described:
            return argv, env
        self.check(spec)
        if described.get("container"):
            inside = thread_env(spec.cpus) | env
            return container.wrap(spec, container.shell_script(spec, argv), inside), {}
        if described.get("venv"):
            made = self.venv(spec)
            if argv[0] == sys.executable:  # a .py script
                argv = [venv.python_of(made), *argv[1:]]
            path = f"{made / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
            env = env | {"PATH": path, "VIRTUAL_ENV": str(made)}
        if described.get("envmodules"):
            loads = modules.prefix(list(described["envmodules"]))
            if argv[:2] == ["/bin/bash", "-c"]:
                argv = ["/bin/bash", "-c", loads + argv[2], *argv[3:]]
            else:
                argv = ["/bin/bash", "-c", loads + 'exec "$@"', "outflow-job", *argv]
        return argv, env


def check_container(spec: JobSpec) -> None:
    """Raise EnvironmentFailure when ``spec``'s image cannot be run (no
    runtime, no such image, a venv or modules with it); costs no process."""
    env = spec.environment
    image = env["container"]
    if env.get("venv") or env.get("envmodules"):
        raise EnvironmentFailure(
            f"container: {image} cannot be combined with venv: or envmodules: "
            "(they are set up outside the image): install the software in the image"
        )
    runtime = env.get("runtime", "")
    if not runtime:
        raise EnvironmentFailure(
            f"container: no container runtime to run {image}: none of "
            f"{', '.join(RUNTIMES)} was found on PATH (or --container-runtime names "
            "one that is not there)"
        )
    if env.get("image_id") == MISSING:
        said = f": {env['image_error']}" if env.get("image_error") else ""
        raise EnvironmentFailure(
            f"container: image {image} not found by {runtime} "
            f"({runtime} image inspect {image} fails{said}): pull or build it first"
        )


def exec_in_venv(spec: JobSpec, module: str, argv: list[str]) -> None:
    """On a cluster node: when ``spec`` is a Python body with a venv, start
    ``module``'s main again (``argv``: its arguments) in the venv's Python,
    with outflow's packages after the venv's. Returns only when there is
    nothing to do (no venv, or already in it). Raises EnvironmentFailure."""
    if spec.kind not in ("run", "call") or not spec.environment.get("venv"):
        return
    python = Environments(sweep=False).python(spec)
    if python is None or os.path.abspath(sys.prefix) == os.path.dirname(os.path.dirname(python)):
        return
    from outflowfile.executors.pool_workers import PACKAGE_PARENT, outflow_site_dirs

    boot = ("import os, sys; sys.path += sys.argv.pop(1).split(os.pathsep); "
            f"from {module} import main; sys.exit(main())")
    paths = os.pathsep.join([PACKAGE_PARENT, *outflow_site_dirs()])
    sys.stdout.flush()
    os.execv(python, [python, "-c", boot, paths, *argv])
