"""What a job's key sees of its environment (``container:``, ``venv:``,
``envmodules:``), each part worked out once per run.

- a container: its image's digest, as the container runtime has it now
  (``podman image inspect``): pulling a new image under the same tag reruns
  the jobs using it. An image the runtime does not have (or no runtime)
  counts as ``missing``: its jobs run, and fail saying why;
- a venv: the content of its requirements file;
- envmodules: the module names, in order.

The container runtime is chosen here, once per run, and named in each job's
spec (``run/specs.py``), so the plan and the executors use the same one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outflowfile.language.codefiles import script_file
from outflowfile.language.model import Environment, Outflowfile

MISSING = "missing"
#: Tried in this order when --container-runtime does not choose.
RUNTIMES = ("podman", "docker", "apptainer", "singularity")
INSPECT_TIMEOUT = 60.0


def find_runtime(chosen: str | None) -> str | None:
    """The program of the container runtime: ``chosen`` (a name or a path),
    else the first of ``RUNTIMES`` on PATH; None when there is none."""
    if chosen:
        return shutil.which(chosen) and chosen
    for name in RUNTIMES:
        if shutil.which(name):
            return name
    return None


@dataclass
class EnvironmentDigests:
    """The environment part of job keys, for one run. ``enabled`` False
    (``--no-envs``): every job runs in outflow's own environment, and its
    key says so by having no environment part."""

    outflowfile: Path
    chosen_runtime: str | None = None  # --container-runtime
    enabled: bool = True
    _runtime: list[str | None] = field(default_factory=list)  # [] until looked for
    _images: dict[str, str] = field(default_factory=dict)
    _why: dict[str, str] = field(default_factory=dict)  # image: what inspect said, if missing
    _specs: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> str | None:
        if not self._runtime:
            self._runtime.append(find_runtime(self.chosen_runtime))
        return self._runtime[0]

    def part(self, env: Environment) -> str:
        """'' for no environment (or ``--no-envs``), else a text that changes
        when what the job runs with changes."""
        if not env or not self.enabled:
            return ""
        described: list[Any] = []
        if env.container:
            described += ["container", env.container, self.image_digest(env.container)]
        if env.venv:
            described += ["venv", self.spec_digest(env.venv)]
        if env.envmodules:
            described += ["envmodules", list(env.envmodules)]
        return json.dumps(described, separators=(",", ":"))

    def image_digest(self, image: str) -> str:
        found = self._images.get(image)
        if found is None:
            found, why = _inspect(self.runtime, image)
            self._images[image] = found
            if why:
                self._why[image] = why
        return found

    def spec_digest(self, spec: str) -> str:
        found = self._specs.get(spec)
        if found is None:
            try:
                data = self.spec_path(spec).read_bytes()
            except OSError:
                found = MISSING
            else:
                found = hashlib.sha256(data).hexdigest()
            self._specs[spec] = found
        return found

    def spec_path(self, spec: str) -> Path:
        return script_file(spec, self.outflowfile)

    def describe(self, env: Environment) -> dict[str, Any]:
        """What a job's spec says of its environment, for the executors
        (plain data: see ``JobSpec.environment``); {} for none."""
        if not env or not self.enabled:
            return {}
        described: dict[str, Any] = {}
        if env.container:
            described["container"] = env.container
            described["image_id"] = self.image_digest(env.container)
            described["runtime"] = self.runtime or ""
            if env.container in self._why:
                described["image_error"] = self._why[env.container]
        if env.venv:
            described["venv"] = str(self.spec_path(env.venv))
            described["venv_digest"] = self.spec_digest(env.venv)
        if env.envmodules:
            described["envmodules"] = list(env.envmodules)
        return described

    def fingerprint(self, model: Outflowfile) -> str:
        """For the plan memo (plan/memo.py): what every environment named in
        the Outflowfile (by a task or a map option) is now."""
        if not self.enabled:
            return "no-envs"
        parts = sorted({self.part(env) for env in named_environments(model)} - {""})
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16] if parts else ""


def named_environments(model: Outflowfile) -> list[Environment]:
    """Each task's environment, and one per map option naming one."""
    from outflowfile.language.model import Map
    from outflowfile.language.stages import iter_stages

    envs = [t.resources.environment for t in model.tasks]
    for workflow in model.workflows:
        for stage in iter_stages(workflow.pipeline):
            if isinstance(stage, Map):
                values = {o.name: o.value for o in stage.options}
                envs.append(
                    Environment(values.get("container"), values.get("venv"),
                                tuple(values.get("envmodules", ())))
                )
    return envs


def _inspect(runtime: str | None, image: str) -> tuple[str, str]:
    """The image's id as ``runtime`` has it, or ``MISSING`` and what the
    runtime said (a docker without its daemon says so)."""
    if runtime is None:
        return MISSING, ""
    name = Path(runtime).name
    if name in ("apptainer", "singularity"):
        return _file_digest(image), ""
    try:
        done = subprocess.run(
            [runtime, "image", "inspect", "--format", "{{.Id}}", image],
            capture_output=True, text=True, timeout=INSPECT_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        return MISSING, str(exc)
    digest = done.stdout.strip().splitlines()
    if done.returncode == 0 and digest:
        return digest[0], ""
    said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    return MISSING, said[-1][:300] if said else ""


def _file_digest(image: str) -> str:
    """An apptainer image named by its file (``image.sif``): its content's
    digest; one named by a URL (``docker://...``): the URL."""
    path = Path(image)
    if "://" in image or not path.is_file():
        return image if "://" in image else MISSING
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
