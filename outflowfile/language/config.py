"""Config values: the ``config:`` block's defaults, ``--configfile`` and
``--config`` overrides.

A default may read a file (``csv("samples.tsv")``, ``yaml("config.yaml")``:
``language/tables.py``) or list files (``glob(...)``), each time the config
is resolved. ``--configfile FILE`` replaces the defaults of the keys it
names, as Snakemake's does; where both the default and the file's value are
dicts they are merged, key by key and at every depth, the file's winning.
``--config KEY=VALUE`` wins over both.

Whether the declared defaults match their declared types is checked with the
rest of the Outflowfile (``outflowfile.language.check``), where the entry's location
is known; here the errors are about what was typed on the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from outflowfile.errors import Problem, UserError
from outflowfile.language import typerules
from outflowfile.language.model import (
    LIST,
    NO_DEFAULT,
    ConfigEntry,
    Glob,
    Location,
    Outflowfile,
    Reader,
    TypeRef,
)
from outflowfile.language.patterns import PatternError, glob_regex, glob_rows, glob_values
from outflowfile.language.tables import (
    TABLE_READERS,
    load_config_file,
    read,
    top_level_places,
)

LIST_OF_STR = TypeRef("list", (TypeRef("str"),))
TABLE = TypeRef("table")


@dataclass(frozen=True)
class Overlay:
    """A default replaced by a ``--configfile`` value; where both are dicts,
    merged (``merged``)."""

    base: Any
    value: Any
    source: str  # the file, for messages


def apply_config_files(model: Outflowfile, paths: list[Path]) -> None:
    """Apply ``--configfile`` files to the model's config defaults, in order
    (a later file wins); raises ``UserError`` listing every bad key."""
    if not paths:
        return
    entries = {entry.name: entry for entry in model.config}
    problems: list[Problem] = []
    for path in paths:
        places: dict[str, tuple[Location, Location]] | None = None
        for key, value in load_config_file(path).items():
            entry = entries.get(str(key))
            if entry is None or not _fits(entry, value):
                places = top_level_places(path) if places is None else places
            key_at, value_at = places.get(str(key), (None, None)) if places else (None, None)
            if entry is None:
                problem = _unknown_key(str(key), "", entries)
                problems.append(replace(problem, message=f"--configfile {path}: unknown config "
                                        f"key '{key}'", loc=key_at))
                continue
            base = entry.default.base if isinstance(entry.default, Overlay) else entry.default
            if isinstance(base, Reader) and isinstance(value, str):  # another file to read
                entry.default = replace(base, path=value)
                continue
            if not _fits(entry, value):
                problems.append(Problem(
                    f"--configfile {path}: config '{key}' is declared {config_type(entry)} but "
                    f"the file gives {typerules.describe(value)}", loc=value_at,
                    hint=f"declared at {entry.loc}"))
                continue
            entry.default = Overlay(entry.default, value, str(path))
    if problems:
        raise UserError(problems[0].message, problems=problems)


def _fits(entry: ConfigEntry, value: Any) -> bool:
    """Whether a config file's ``value`` may stand for ``entry``'s default."""
    base = entry.default.base if isinstance(entry.default, Overlay) else entry.default
    if isinstance(base, Reader) and isinstance(value, str):
        return True
    declared = config_type(entry)
    merged_now = _is_dict(entry.default) and isinstance(value, dict)
    return declared is None or merged_now or typerules.matches(value, declared)


def _is_dict(default: Any) -> bool:
    return isinstance(default, (dict, Reader, Overlay))


def merged(base: Any, value: Any) -> Any:
    """``value`` over ``base``: dicts merged key by key at every depth (the
    value's keys win), anything else replaced."""
    if not (isinstance(base, dict) and isinstance(value, dict)):
        return value
    out = dict(base)
    for key, item in value.items():
        out[key] = merged(base[key], item) if key in base else item
    return out


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


def files_read(model: Outflowfile, overrides: Mapping[str, str] | None = None) -> list[str]:
    """The files the config entries' readers read (``tsv("samples.tsv")``...),
    each joined to the directory of the file it is written in; with
    ``overrides`` (``-C samples=other.tsv``), the file an entry is given
    instead. No job may write them (``language/ownership.py``)."""
    found: dict[str, None] = {}
    seen: set[str] = set()
    for entry in model.config:
        if entry.name in seen:
            continue
        seen.add(entry.name)
        default = entry.default
        while isinstance(default, Overlay):
            default = default.base
        if isinstance(default, Reader):
            path = overrides.get(entry.name, default.path) if overrides else default.path
            found[str(Path(default.loc.file).parent / path)] = None
    return list(found)


def _unknown_key(key: str, value: str, entries: dict[str, ConfigEntry]) -> Problem:
    message = f"--config {key}={value}: unknown config key '{key}'"
    if not entries:
        return Problem(message, hint="the Outflowfile has no config: block")
    known = "known keys: " + ", ".join(entries)
    near = typerules.suggest(key, set(entries))
    return Problem(message, hint=f"did you mean '{near}'? {known}" if near else known)


def _coerce_override(entry: ConfigEntry, text: str) -> Any:
    default = entry.default.base if isinstance(entry.default, Overlay) else entry.default
    if isinstance(default, Reader):  # --config samples=other.tsv: read it the same way
        return read(replace(default, path=text), entry.name)
    return coerce_override(entry.name, f"config '{entry.name}'", entry.type, default, text)


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
    return _value_of(default, entry.name, workdir)


def _value_of(default: Any, name: str, workdir: Path) -> Any:
    if isinstance(default, Overlay):
        return merged(_value_of(default.base, name, workdir), default.value)
    if isinstance(default, Glob):
        try:
            if glob_wildcards(default) > 1:
                return glob_rows(default.pattern, workdir)
            return glob_values(default.pattern, workdir)
        except PatternError as exc:
            raise UserError(str(exc), loc=default.loc) from None
    if isinstance(default, Reader):
        return read(default, name)
    return default


def glob_wildcards(glob: Glob) -> int:
    """How many wildcards a glob pattern has (0 for a malformed one)."""
    try:
        return len(glob_regex(glob.pattern)[1])
    except ValueError:
        return 0


def config_type(entry: ConfigEntry) -> TypeRef | None:
    """The type a config entry's value has: the declared one, else ``list[str]``
    for a ``glob(...)`` of one wildcard, a table for one of several or for
    ``csv()`` / ``tsv()``, else None (any)."""
    if entry.type is not None:
        return entry.type
    default = entry.default.base if isinstance(entry.default, Overlay) else entry.default
    if isinstance(default, Glob):
        return LIST_OF_STR if glob_wildcards(default) <= 1 else TABLE
    if isinstance(default, Reader) and default.kind in TABLE_READERS:
        return TABLE
    return None
