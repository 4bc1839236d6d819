"""The values of a task's scheduling directives (``cpus: 4``, ``mem: "4G"``,
``local: true``...): how each is read, and an example of each directive for
the hints of ``language/transform.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from outflowfile.language import units
from outflowfile.language.environments import EXAMPLES as ENVIRONMENT_EXAMPLES
from outflowfile.language.environments import PARSERS as ENVIRONMENT_PARSERS


class BareName(str):
    """A directive value written without quotes (``partition: gpu``, ``local: true``)."""



def _whole(name: str, minimum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name}: expected a whole number, got {_shown(value)}")
        if value < minimum:
            least = "at least 1" if minimum == 1 else "0 or more"
            raise ValueError(f"{name}: must be {least}, got {value}")
        return value

    return parse


def _flag(name: str) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, BareName) and value in ("true", "false"):
            return value == "true"
        raise ValueError(f"{name}: expected true or false, got {_shown(value)}")

    return parse


def _text(name: str, bare_ok: bool) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str) and (bare_ok or not isinstance(value, BareName)):
            if not value.strip():
                raise ValueError(f"{name}: must not be empty")
            return str(value)
        raise ValueError(f"{name}: expected a string, got {_shown(value)}")

    return parse


def _unit(name: str, parse_unit: Callable[[Any], int]) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, BareName):
            raise ValueError(f"{name}: cannot read {value} as a {name}; write it in quotes")
        return parse_unit(value)

    return parse


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, BareName) else repr(value)


RESOURCE_PARSERS: dict[str, Callable[[Any], Any]] = {
    "cpus": _whole("cpus", 1),
    "mem": _unit("mem", units.parse_mem),
    "time": _unit("time", units.parse_time),
    "partition": _text("partition", bare_ok=True),
    "cluster": _text("cluster", bare_ok=False),
    "retries": _whole("retries", 0),
    "local": _flag("local"),
    "cache": _flag("cache"),
    **ENVIRONMENT_PARSERS,
}

EXAMPLES = {
    "input": 'for example: input: text = "data/{sample}.txt"',
    "output": 'for example: output: counts = "counts/{sample}.tsv"',
    "log": 'for example: log: "logs/{sample}.log"',
    "cpus": "for example: cpus: 4",
    "mem": 'for example: mem: "4G" (or a number of megabytes: mem: 4096)',
    "time": 'for example: time: "2h", time: "1:30:00" (or a number of minutes: time: 90)',
    "partition": "for example: partition: gpu",
    "cluster": 'for example: cluster: "--gres=gpu:1"',
    "retries": "for example: retries: 2",
    "local": "for example: local: true",
    "cache": "for example: cache: false",
    **ENVIRONMENT_EXAMPLES,
    "shell": 'for example: shell: "sort {input.text} > {output.sorted}"',
    "call": "for example: call: mypackage.tasks:compute",
    "script": 'for example: script: "scripts/plot-quals.py" (a .py, .R or .sh file)',
}
