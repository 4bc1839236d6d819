"""One TOML file of option defaults (``outflow.toml`` or a profile), read
with the place of each key and value, so that a bad one is shown with a caret.

``tomllib`` gives the values but not where they are: the places come from a
plain reading of the lines (``_places``), which knows table headers, dotted
and quoted keys. A key it cannot place (inside an inline table) is shown at
its table's key.
"""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from outflowfile.errors import UserError
from outflowfile.language import textfile
from outflowfile.language.model import Location

CONFIG_TABLE = "config"

_KEY_PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)"""
_KEY_LINE = re.compile(rf"^(\s*)({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=\s*")
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_DECODE_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


@dataclass(frozen=True)
class Setting:
    """One ``key = value`` of the file: an option, or a ``[config]`` entry
    (``key`` then without the table's name: ``n``, ``compute.multiplier``)."""

    key: str
    value: Any  # as TOML gave it
    loc: Location  # the key
    value_loc: Location  # the value


@dataclass(frozen=True)
class OptionsFile:
    path: Path
    options: list[Setting]
    config: list[Setting]


def read_options_file(path: Path) -> OptionsFile:
    """The settings of ``path``; a ``UserError`` located in it when it is not
    TOML or its ``config`` is not a table."""
    # The standard library's from Python 3.11, the same parser as tomli before.
    toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        text = textfile.read(path)
    except IsADirectoryError:
        raise UserError(f"{path} is a directory, not an options file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise _syntax_error(path, text, str(exc)) from None
    places = _places(text)
    here = _Placer(str(path), places)
    options: list[Setting] = []
    config: list[Setting] = []
    for key, value in data.items():
        if key != CONFIG_TABLE:
            options.append(here.setting((key,), key, value))
            continue
        if not isinstance(value, dict):
            where = here.value_at((key,))
            raise UserError(
                f"'{key}' must be a table of config entries, not {describe(value)}",
                loc=where,
                hint="write them under a [config] line: n = 3, or compute.multiplier = 15",
            )
        config.extend(_config_settings(here, value))
    return OptionsFile(path, options, config)


def _config_settings(here: _Placer, table: dict[str, Any]) -> list[Setting]:
    """The entries of ``[config]``; a table in it names a task's inputs
    (``[config.compute]`` or ``compute.multiplier = 15``): one level only,
    as ``-C TASK.INPUT=VALUE`` has."""
    out = []
    for key, value in table.items():
        if isinstance(value, dict):
            for inner, item in value.items():
                out.append(here.setting((CONFIG_TABLE, key, inner), f"{key}.{inner}", item))
        else:
            out.append(here.setting((CONFIG_TABLE, key), key, value))
    return out


@dataclass
class _Placer:
    file: str
    places: dict[tuple[str, ...], tuple[int, int, int]]

    def _find(self, path: tuple[str, ...]) -> tuple[int, int, int]:
        for end in range(len(path), 0, -1):
            found = self.places.get(path[:end])
            if found is not None:
                return found
        return (1, 1, 1)

    def setting(self, path: tuple[str, ...], key: str, value: Any) -> Setting:
        line, key_col, value_col = self._find(path)
        return Setting(key, value, Location(self.file, line, key_col),
                       Location(self.file, line, value_col))

    def value_at(self, path: tuple[str, ...]) -> Location:
        line, _, value_col = self._find(path)
        return Location(self.file, line, value_col)


def _places(text: str) -> dict[tuple[str, ...], tuple[int, int, int]]:
    """``(table..., key...) -> (line, key column, value column)`` for every
    ``key = value`` line and table header, by a plain reading of the lines."""
    places: dict[tuple[str, ...], tuple[int, int, int]] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and not line.lstrip().startswith("[["):
            table = _key_path(header.group(1))
            column = line.index("[") + 1
            places.setdefault(table, (number, column, column))
            continue
        match = _KEY_LINE.match(line)
        if match:
            path = table + _key_path(match.group(2))
            places.setdefault(path, (number, len(match.group(1)) + 1, match.end() + 1))
    return places


def _key_path(dotted: str) -> tuple[str, ...]:
    parts = re.findall(rf"{_KEY_PART}", dotted)
    return tuple(part[1:-1] if part[:1] in "\"'" else part for part in parts)


def _syntax_error(path: Path, text: str, message: str) -> UserError:
    """tomllib's message, at the line and column it names."""
    place = _DECODE_PLACE.search(message)
    if place is not None:
        line, column = int(place.group(1)), int(place.group(2))
        message = message[: place.start()]
    else:  # "(at end of document)"
        message = message.replace(" (at end of document)", "")
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    return UserError(f"not valid TOML: {message[:1].lower()}{message[1:]}",
                     loc=Location(str(path), line, column))


def describe(value: Any) -> str:
    """A TOML value's kind, as an error says it: ``the string "4"``."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {toml_text(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"the date/time {value}"


def toml_text(value: Any) -> str:
    """``value`` written as TOML would write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def config_text(value: Any) -> str:
    """A ``[config]`` value as the text ``-C KEY=TEXT`` would give, so that
    it is read by the same rules (as the entry's declared type)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return repr(value)
