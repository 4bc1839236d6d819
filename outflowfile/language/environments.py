"""The values of the environment directives (``container:``, ``venv:``,
``envmodules:``), on a task or as map options: each read into the form the
model keeps, or a ``ValueError`` saying what is wrong with it.

What they mean at run time lives in ``outflowfile.executors.environments``;
what the key sees of them in ``outflowfile.plan.envdigests``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXAMPLES = {
    "container": 'for example: container: "docker.io/library/busybox:1.36"',
    "venv": 'for example: venv: "envs/plot.txt" (a requirements file)',
    "envmodules": 'for example: envmodules: "samtools/1.17", "bcftools/1.17"',
}


def parse_container(value: Any) -> str:
    image = _text("container", value)
    if any(c.isspace() for c in image):
        raise ValueError(f"container: an image name has no spaces, got {image!r}")
    return image


def parse_venv(value: Any) -> str:
    spec = _text("venv", value)
    if not spec.endswith((".txt", ".toml", ".in")):
        raise ValueError(
            f"venv: expected a requirements file (.txt, .in) or a pyproject.toml, got {spec!r}"
        )
    return spec


def parse_envmodules(value: Any) -> tuple[str, ...]:
    """One module name, or several (a list or tuple of them)."""
    items = value if isinstance(value, (list, tuple)) else (value,)
    if not items:
        raise ValueError("envmodules: give at least one module name")
    names = tuple(_text("envmodules", item) for item in items)
    for name in names:
        if any(c.isspace() for c in name):
            raise ValueError(f"envmodules: a module name has no spaces, got {name!r}")
    return names


def mixed_with_container(container: Any, venv: Any, envmodules: Any) -> str | None:
    """Why ``container:`` cannot go with ``venv:`` or ``envmodules:`` on one
    job (None when it is not so): what they name lives on the host."""
    if not container or not (venv or envmodules):
        return None
    other = " and ".join(n for n, v in (("venv:", venv), ("envmodules:", envmodules)) if v)
    return f"container: cannot be combined with {other} on one job"


MIXED_HINT = ("a venv and modules live on this machine, not in the image, so a job in the "
              "image cannot use them: install the software in the image, or give the "
              "image and the venv/modules to separate tasks")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a string in quotes, got {value!r}")
    if type(value) is not str:  # a bare name: image names hold ':' and '/', quote them
        raise ValueError(f"{name}: expected a string in quotes, got {value}")
    if not value.strip():
        raise ValueError(f"{name}: must not be empty")
    return value.strip()


PARSERS: dict[str, Callable[[Any], Any]] = {
    "container": parse_container,
    "venv": parse_venv,
    "envmodules": parse_envmodules,
}
