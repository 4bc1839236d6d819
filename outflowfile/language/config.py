"""Config values: the ``config:`` block's defaults and ``--config`` overrides.

Whether the declared defaults match their declared types is checked with the
rest of the Outflowfile (``outflowfile.language.check``), where the entry's location
is known; here the errors are about what was typed on the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from outflowfile.errors import Problem, UserError
from outflowfile.language import typerules
from outflowfile.language.model import (
    LIST,
    NO_DEFAULT,
    ConfigEntry,
    Glob,
    Outflowfile,
    TypeRef,
)
from outflowfile.language.patterns import PatternError, glob_values

LIST_OF_STR = TypeRef("list", (TypeRef("str"),))


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["n=3", "name=a=b"]`` -> ``{"n": "3", "name": "a=b"}``; the last
    setting of a key wins, as with any repeated command-line option."""
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(
                f"--config {item}: expected KEY=VALUE",
                hint="for example: --config multiplier=15",
            )
        overrides[key] = value
    return overrides


def resolve_config(model: Outflowfile, overrides: dict[str, str], workdir: Path) -> dict[str, Any]:
    """The value of every config entry, in declaration order.

    Overrides are read as the entry's declared type (``typerules.coerce_text``);
    a ``glob(...)`` default lists the matching files under ``workdir``.
    Raises ``UserError`` listing every bad override at once.
    """
    entries: dict[str, ConfigEntry] = {}
    for entry in model.config:
        entries.setdefault(entry.name, entry)  # the checker reports duplicates
    problems = [
        _unknown_key(key, text, entries) for key, text in overrides.items() if key not in entries
    ]
    values: dict[str, Any] = {}
    for name, entry in entries.items():
        try:
            if name in overrides:
                values[name] = _coerce_override(entry, overrides[name])
            else:
                values[name] = _default_value(entry, workdir)
        except UserError as exc:
            problems.extend(exc.problems)
    if problems:
        raise UserError(problems[0].message, problems=problems)
    return values


def _unknown_key(key: str, value: str, entries: dict[str, ConfigEntry]) -> Problem:
    message = f"--config {key}={value}: unknown config key '{key}'"
    if not entries:
        return Problem(message, hint="the Outflowfile has no config: block")
    known = "known keys: " + ", ".join(entries)
    near = typerules.suggest(key, set(entries))
    return Problem(message, hint=f"did you mean '{near}'? {known}" if near else known)


def _coerce_override(entry: ConfigEntry, text: str) -> Any:
    return coerce_override(entry.name, f"config '{entry.name}'", entry.type, entry.default, text)


def coerce_override(key: str, what: str, declared: TypeRef | None, default: Any, text: str) -> Any:
    """``--config KEY=TEXT`` read as ``declared``, else as the type of
    ``default`` (``what`` names the entry or input in the hint)."""
    inferred = False
    if declared is None and isinstance(default, Glob):
        declared = LIST
    elif declared is None and default is not NO_DEFAULT:
        declared = type_of_default(default)
        inferred = declared is not None
    try:
        return typerules.coerce_text(text, declared)
    except ValueError as exc:
        hint = None
        if inferred:
            name = key.rpartition(".")[2]
            hint = (f"{what} has no declared type, so it keeps the type of "
                    f"its default, {typerules.describe(default)}; declare it "
                    f"'{name}: any' to take any value")
        raise UserError(f"--config {key}={text}: {exc}", hint=hint) from None


_SCALARS = (bool, int, float, str, bytes)  # bool first: a bool is an int too


def type_of_default(default: Any) -> TypeRef | None:
    """The type an untyped entry keeps under ``--config``: its default's
    (``"1.10"`` stays a str, ``5`` an int, ``["a"]`` a ``list[str]``); None
    (any value) for a default of None or of another kind."""
    scalar = _scalar_type(default)
    if scalar is not None:
        return scalar
    if isinstance(default, (list, set, frozenset)):
        name = "list" if isinstance(default, list) else "set"
        items = {_scalar_type(item) for item in default}
        only = items.pop() if len(items) == 1 else None
        return TypeRef(name, (only,)) if only is not None else TypeRef(name)
    if isinstance(default, (tuple, dict)):
        return TypeRef(type(default).__name__)
    return None


def _scalar_type(value: Any) -> TypeRef | None:
    for kind in _SCALARS:
        if isinstance(value, kind):
            return TypeRef(kind.__name__)
    return None


def _default_value(entry: ConfigEntry, workdir: Path) -> Any:
    default = entry.default
    if default is NO_DEFAULT:
        raise UserError(
            f"config '{entry.name}' has no default value",
            loc=entry.loc,
            hint=f"set it with --config {entry.name}=VALUE",
        )
    if isinstance(default, Glob):
        try:
            return glob_values(default.pattern, workdir)
        except PatternError as exc:
            raise UserError(str(exc), loc=default.loc) from None
    return default


def config_type(entry: ConfigEntry) -> TypeRef | None:
    """The type a config entry's value has: the declared one, else ``list[str]``
    for a ``glob(...)``, else None (any)."""
    if entry.type is not None:
        return entry.type
    if isinstance(entry.default, Glob):
        return LIST_OF_STR
    return None
