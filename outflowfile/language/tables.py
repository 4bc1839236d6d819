"""Sample sheets and config files: what ``csv()``, ``tsv()``, ``json()``,
``yaml()`` and ``toml()`` read, and how a map binds a table's columns.

A table is a list of rows, each a dict from column name to value: a CSV or
TSV file with a header row gives one row per line after it, every value a
``str``; a JSON or YAML file whose top level is a list of objects gives one
too. JSON, YAML and TOML files may hold any nesting of dicts and lists
(config). Files are read each time the config is resolved (every run), so an
edited sheet is seen; the jobs whose bound values changed rerun, by their
keys. Values are data: nothing read here is ever evaluated.

``map(rows -> (a, b)) { ... }`` binds the columns ``a`` and ``b`` of each
row to the inputs of the same names; ``map(rows -> *)`` binds every column.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from outflowfile.errors import UserError
from outflowfile.language import textfile
from outflowfile.language.model import Location, Map, Reader

READERS = ("csv", "tsv", "json", "yaml", "toml")

#: What each reader gives, for messages and for the checker.
TABLE_READERS = ("csv", "tsv")


def read(reader: Reader, entry: str) -> Any:
    """The value of config entry ``entry`` read by ``reader``; a located
    ``UserError`` when the file is missing or malformed."""
    path = Path(reader.loc.file).parent / reader.path
    try:
        text = textfile.read(path)
    except FileNotFoundError:
        raise UserError(
            f"config '{entry}': no such file: {reader.path}",
            loc=reader.loc,
            hint=f"{reader.kind}() reads a path relative to the file it is written in "
            f"({path.parent})",
        ) from None
    except IsADirectoryError:
        raise UserError(f"config '{entry}': {reader.path} is a directory, not a file",
                        loc=reader.loc) from None
    except OSError as exc:
        raise UserError(f"config '{entry}': cannot read {reader.path}: {exc.strerror or exc}",
                        loc=reader.loc) from None
    if reader.kind in TABLE_READERS:
        return read_table(text, str(path), "\t" if reader.kind == "tsv" else None)
    return read_nested(reader.kind, text, str(path))


def read_table(text: str, path: str, delimiter: str | None) -> list[dict[str, str]]:
    """The rows of a CSV (``delimiter`` None: ',' or, for a header with tabs
    and no commas, a tab) or TSV text with a header row. Blank lines are
    skipped; a row with more or fewer fields than the header is an error at
    its line."""
    lines = text.splitlines()
    if delimiter is None:
        header = next((line for line in lines if line.strip()), "")
        delimiter = "\t" if "\t" in header and "," not in header else ","
    rows = csv.reader(lines, delimiter=delimiter, strict=True)
    columns: list[str] | None = None
    out: list[dict[str, str]] = []
    for line, fields in _records(rows, path):
        if not any(field.strip() for field in fields):
            continue
        if columns is None:
            columns = [field.strip() for field in fields]
            _check_header(columns, path, line, delimiter)
            continue
        if len(fields) != len(columns):
            raise UserError(
                f"{Path(path).name}: line {line} has {len(fields)} fields but the header "
                f"has {len(columns)} ({', '.join(columns)})",
                loc=Location(path, line, 1),
                hint="give every row one value per column (an empty value is written as nothing "
                "between two separators)",
            )
        out.append(dict(zip(columns, fields, strict=True)))
    if columns is None:
        raise UserError(f"{Path(path).name}: the table is empty: it needs a header row",
                        loc=Location(path, 1, 1))
    return out


def _records(rows: Any, path: str) -> Iterator[tuple[int, list[str]]]:
    """Each record of a ``csv.reader`` with the line it starts on; a quote
    left open or a stray one is an error at that line."""
    while True:
        start = rows.line_num + 1
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "end of data" in reason:
                reason = "a quoted value is not closed"
            raise UserError(
                f"{Path(path).name}: line {start}: {reason}",
                loc=Location(path, start, 1),
                hint='a value in quotes ends with a quote; a quote inside it is written twice ("")',
            ) from None
        yield start, fields


def _check_header(columns: list[str], path: str, line: int, delimiter: str) -> None:
    if len(columns) == 1 and delimiter not in columns[0]:
        other = next((c for c in ",\t;" if c != delimiter and c in columns[0]), None)
        if other is not None:
            shown = {"\t": "tabs", ",": "commas", ";": "semicolons"}
            raise UserError(
                f"{Path(path).name}: the header is one column, '{columns[0]}': it is "
                f"separated by {shown[other]}, not {shown[delimiter]}",
                loc=Location(path, line, 1),
                hint="csv() reads commas (or tabs, when the header has no comma), "
                "tsv() tabs; separate the columns with those",
            )
    seen: set[str] = set()
    for column in columns:
        if not column:
            raise UserError(f"{Path(path).name}: the header has an empty column name",
                            loc=Location(path, line, 1))
        if column in seen:
            raise UserError(f"{Path(path).name}: the header names column '{column}' twice",
                            loc=Location(path, line, 1))
        seen.add(column)


def read_nested(kind: str, text: str, path: str) -> Any:
    """The value of a JSON, YAML or TOML file; a syntax error at its line."""
    try:
        return _read_nested(kind, text, path)
    except RecursionError:  # the readers recurse as the value nests
        raise UserError(f"{Path(path).name}: its values nest too deeply to read "
                        "(lists or mappings within one another, hundreds of levels down)",
                        loc=Location(path, 1, 1)) from None


def _read_nested(kind: str, text: str, path: str) -> Any:
    name = Path(path).name
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{name}: invalid JSON: {exc.msg}",
                            loc=Location(path, exc.lineno, exc.colno)) from None
    if kind == "toml":
        loads = _toml_loads()
        try:
            return loads(text)
        except ValueError as exc:
            line, column = _line_col(str(exc))
            raise UserError(f"{name}: invalid TOML: {exc}",
                            loc=Location(path, line, column)) from None
    import yaml

    try:
        return _plain(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{name}: invalid YAML: {problem}",
                        loc=Location(path, line, column)) from None


def _toml_loads() -> Any:
    import importlib

    try:
        return importlib.import_module("tomllib").loads
    except ModuleNotFoundError:  # Python 3.10: the same module, as a package
        return importlib.import_module("tomli").loads


def _line_col(message: str) -> tuple[int, int]:
    found = re.search(r"line (\d+), column (\d+)", message)
    return (int(found[1]), int(found[2])) if found else (1, 1)


def _plain(value: Any) -> Any:
    """YAML's dates and the like as text: config values are plain data."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def load_config_file(path: Path) -> dict[str, Any]:
    """A ``--configfile``: YAML (``.yaml``, ``.yml``), JSON or TOML by its
    suffix (YAML, which reads JSON too, for any other); its top level must
    be a mapping."""
    try:
        text = textfile.read(path)
    except OSError as exc:
        raise UserError(f"--configfile {path}: cannot read it: {exc.strerror or exc}") from None
    value = read_nested(config_file_kind(path), text, str(path))
    if value is None:  # an empty file (or only comments): it sets nothing
        return {}
    if not isinstance(value, dict):
        raise UserError(
            f"--configfile {path}: expected a mapping of config keys to values at the top, "
            f"found {type(value).__name__}",
            loc=Location(str(path), 1, 1),
            hint="for example, in YAML:  samples: [A, B]",
        )
    return value


def config_file_kind(path: Path) -> str:
    return {".json": "json", ".toml": "toml"}.get(path.suffix.lower(), "yaml")


def top_level_places(path: Path) -> dict[str, tuple[Location, Location]]:
    """Where each top-level key of a ``--configfile`` is written, and its
    value: for the errors about one entry. Empty when that cannot be told."""
    try:
        text = textfile.read(path)
    except (OSError, UserError):
        return {}
    name = str(path)
    if config_file_kind(path) == "toml":
        return _toml_places(text, name)
    import yaml  # JSON is YAML too, as far as where its keys are

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(key.value): (_mark(name, key.start_mark), _mark(name, value.start_mark))
        for key, value in node.value
    }


def _mark(name: str, mark: Any) -> Location:
    return Location(name, mark.line + 1, mark.column + 1)


_TOML_KEY = re.compile(r"""^(\s*)(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=\s*""")
_TOML_TABLE = re.compile(r"""^\s*\[+\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))""")


def _toml_places(text: str, name: str) -> dict[str, tuple[Location, Location]]:
    places: dict[str, tuple[Location, Location]] = {}
    in_table = False
    for number, line in enumerate(text.split("\n"), start=1):
        table = _TOML_TABLE.match(line)
        if table is not None:
            in_table = True
            key = next(g for g in table.groups() if g is not None)
            at = Location(name, number, line.index(key) + 1)
            places.setdefault(key, (at, at))
            continue
        pair = _TOML_KEY.match(line)
        if pair is not None and not in_table:
            key = next(g for g in pair.groups()[1:] if g is not None)
            places.setdefault(key, (Location(name, number, len(pair.group(1)) + 1),
                                    Location(name, number, pair.end() + 1)))
    return places


# ---- maps over tables ------------------------------------------------------------


def row_bindings(
    m: Map, rows: Iterable[Any], error: Callable[[str, Location | None], Exception]
) -> list[dict[str, Any]]:
    """For each row of a map's source: the names it binds (``m.columns``,
    or every column); raises ``error(message, loc)`` at the map for a row
    that is not a dict or lacks a column."""
    source = m.source or ""
    out: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise error(
                f"map({source} -> {m.target}): item {number} of '{source}' is "
                f"{type(row).__name__}, not a table row (a map over columns needs a table: "
                "csv(), tsv(), a glob() of several wildcards, or a list of dicts)",
                m.loc,
            )
        if m.all_columns:
            out.append(row)
            continue
        try:
            out.append({column: row[column] for column in m.columns})
        except KeyError as exc:
            columns = ", ".join(str(c) for c in row) or "none"
            raise error(
                f"map({source} -> {m.target}): table '{source}' has no column "
                f"'{exc.args[0]}' (its columns: {columns})",
                m.loc,
            ) from None
    return out


def row_label(prefix: str, bound: dict[str, Any], shown: Callable[[Any], str]) -> str:
    """How a row's jobs are labelled: the map's prefix, then each bound
    column's ``name=value``."""
    values = " ".join(f"{name}={shown(value)}" for name, value in bound.items())
    return f"{prefix} {values}".strip()
