"""File patterns (``"counts/{sample}.tsv"``), ``glob(...)`` and shell commands.

Patterns and commands use Python's ``str.format`` syntax: ``{name}``,
``{input.text}``, literal braces doubled (``{{`` and ``}}``). A format spec
means the same in both (``{n:03d}`` gives ``007``): in a command the value is
formatted first, as in a pattern, and the text is then shell-quoted.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # str.format's own field parser
import os
import posixpath
import re
import shlex
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_FORMATTER = string.Formatter()


class PatternError(ValueError):
    """A pattern names something that is not there, or is malformed."""


def fields(pattern: str) -> list[str]:
    """The field names used by a pattern, in order: ``"{input.x} {n}"`` gives
    ``["input.x", "n"]``. Raises ``PatternError`` on a malformed pattern."""
    try:
        return [name for _, name, _, _ in _FORMATTER.parse(pattern) if name is not None]
    except ValueError as exc:
        raise PatternError(f"malformed pattern {pattern!r}: {exc}") from None


def root_field(name: str) -> str:
    """``input.x`` -> ``input``; ``samples[0]`` -> ``samples``."""
    return re.split(r"[.\[]", name, maxsplit=1)[0]


def format_pattern(pattern: str, values: Mapping[str, Any]) -> str:
    """Format a file pattern with the task's parameter values."""
    try:
        return pattern.format_map(values)
    except PatternError:
        raise
    except KeyError as exc:
        raise PatternError(f"pattern {pattern!r} names {exc.args[0]!r}, which is not set") from None
    except (ValueError, IndexError, AttributeError, TypeError) as exc:
        raise PatternError(f"cannot format pattern {pattern!r}: {exc}") from None


class LookupPattern(str):
    """A file pattern with a lookup by an input's value: in
    ``"{fastqs[sample]}"``, where ``sample`` is an input of the task, the key
    is the value of ``sample`` (``str.format`` would take the text
    ``'sample'``). A key that is not an input keeps ``str.format``'s meaning.
    ``loc`` is where the pattern is written, for a key that is missing."""

    inputs: frozenset[str]
    loc: Any

    def __new__(cls, pattern: str, inputs: frozenset[str], loc: Any) -> LookupPattern:
        made = super().__new__(cls, pattern)
        made.inputs = inputs
        made.loc = loc
        return made

    def format_map(self, values: Mapping[str, Any]) -> str:  # type: ignore[override]
        return _LookupFormatter(self).vformat(str(self), (), values)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled with what it needs
        return (LookupPattern, (str(self), self.inputs, self.loc))


class _LookupFormatter(string.Formatter):
    def __init__(self, pattern: LookupPattern) -> None:
        self.pattern = pattern

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = kwargs[first]
        for is_attr, key in rest:
            if is_attr:
                obj = getattr(obj, key)
                continue
            if isinstance(key, str) and key in self.pattern.inputs:
                key = kwargs[key]
            try:
                obj = obj[key]
            except (KeyError, IndexError, TypeError):
                known = ", ".join(repr(k) for k in list(obj)[:10]) if isinstance(obj, dict) else ""
                error = PatternError(
                    f"pattern {str(self.pattern)!r}: {first} has no key {key!r}"
                    + (f" (its keys: {known})" if known else "")
                )
                error.loc = self.pattern.loc  # type: ignore[attr-defined]
                raise error from None
        return obj, first


def with_lookups(pattern: str, inputs: frozenset[str], loc: Any) -> str:
    """``pattern``, as a ``LookupPattern`` when a field of it indexes by the
    name of one of ``inputs`` (``{fastqs[sample]}``)."""
    if "[" not in pattern:
        return pattern
    try:
        names = fields(pattern)
    except PatternError:
        return pattern
    for name in names:
        for key in re.findall(r"\[([^\]]*)\]", name):
            if key in inputs:
                return LookupPattern(pattern, inputs, loc)
    return pattern


class _Quoted:
    """A value as it appears in a shell command: quoted words."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return quote(self.value) if not spec else quote_formatted(self.value, spec)

    def __str__(self) -> str:
        return quote(self.value)


class _Files:
    """``{input}`` (all files, quoted) and ``{input.name}`` (one of them)."""

    def __init__(self, files: Mapping[str, Any]) -> None:
        self._files = files

    def __getattr__(self, name: str) -> _Quoted:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return _Quoted(self._files[name])
        except KeyError:
            raise PatternError(f"no file named {name!r}") from None

    def __format__(self, spec: str) -> str:
        files = list(self._files.values())
        return quote(files) if not spec else quote_formatted(files, spec)


def quote(value: Any) -> str:
    """Shell-quote a value; a list becomes space-separated quoted words."""
    if isinstance(value, (list, tuple)):
        return " ".join(quote(v) for v in value)
    return shlex.quote(os.fspath(value) if isinstance(value, Path) else str(value))


def quote_formatted(value: Any, spec: str) -> str:
    """``{value:spec}`` as a pattern formats it, then shell-quoted; each item
    of a list is formatted so and becomes one quoted word."""
    if isinstance(value, (list, tuple)):
        return " ".join(quote_formatted(v, spec) for v in value)
    return quote(format(value, spec))


def format_command(
    template: str,
    *,
    params: Mapping[str, Any],
    input_files: Mapping[str, Any],
    output_files: Mapping[str, Any],
    cpus: int,
    log: str,
) -> str:
    """Format a ``shell:`` command; every substituted value is shell-quoted."""
    values: dict[str, Any] = {k: _Quoted(v) for k, v in params.items()}
    values["input"] = _Files(input_files)
    values["output"] = _Files(output_files)
    values["cpus"] = cpus
    values["log"] = _Quoted(log)
    try:
        return template.format_map(values)
    except KeyError as exc:
        raise PatternError(f"the command names {{{exc.args[0]}}}, which is not set") from None
    except (ValueError, IndexError, TypeError) as exc:
        raise PatternError(f"cannot format the command: {exc}") from None


def glob_regex(pattern: str) -> tuple[re.Pattern[str], list[str]]:
    """A regex matching paths of ``pattern``, and its wildcard names."""
    parts: list[str] = []
    names: list[str] = []
    for literal, name, _, _ in _FORMATTER.parse(pattern):
        parts.append(re.escape(literal))
        if name is not None:
            if name in names:
                parts.append(f"(?P={name})")
            else:
                names.append(name)
                parts.append(f"(?P<{name}>[^/]+)")
    return re.compile("".join(parts) + r"\Z"), names


def glob_values(pattern: str, workdir: str | os.PathLike[str]) -> list[str]:
    """``glob("data/{sample}.txt")``: the sorted values of the one wildcard
    over the files that exist under ``workdir``."""
    regex, names = glob_regex(pattern)
    if len(names) != 1:
        raise PatternError(
            f"glob({pattern!r}) needs exactly one {{wildcard}}, found {len(names)}"
        )
    found = set()
    for rel in _candidates(pattern, str(workdir)):
        m = regex.match(rel)
        if m:
            found.add(m.group(names[0]))
    return sorted(found)


def glob_rows(pattern: str, workdir: str | os.PathLike[str]) -> list[dict[str, str]]:
    """``glob("data/{sample}_{unit}.fq")``: one row per distinct combination
    of the wildcards' values over the files that exist, sorted (a table)."""
    regex, names = glob_regex(pattern)
    found = set()
    for rel in _candidates(pattern, str(workdir)):
        m = regex.match(rel)
        if m:
            found.add(tuple(m.group(name) for name in names))
    return [dict(zip(names, values, strict=True)) for values in sorted(found)]


def _candidates(pattern: str, workdir: str) -> list[str]:
    """Files (relative paths) that may match a pattern. With wildcards only in
    the file name, one directory listing answers, with no stat per file."""
    head, _, tail = pattern.rpartition("/")
    if "{" not in head.replace("{{", ""):
        directory = head.replace("{{", "{").replace("}}", "}")
        try:
            with os.scandir(os.path.join(workdir, directory)) as entries:
                prefix = f"{directory}/" if directory else ""
                return [prefix + e.name for e in entries if e.is_file()]
        except OSError:
            return []
    wildcard = re.sub(r"\{[^{}]*\}", "*", pattern.replace("{{", "{").replace("}}", "}"))
    base = Path(workdir)
    return [p.relative_to(base).as_posix() for p in base.glob(wildcard) if p.is_file()]


def normalize_pattern(pattern: str) -> str:
    """A pattern with its wildcards renamed, so that ``a/{x}.txt`` and
    ``./a/{y}.txt`` compare equal. Raises ``PatternError`` when malformed."""
    try:
        parts = []
        for literal, name, _, _ in _FORMATTER.parse(pattern):
            parts.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is not None:
                parts.append("{}")
    except ValueError as exc:
        raise PatternError(f"malformed pattern {pattern!r}: {exc}") from None
    return posixpath.normpath("".join(parts))


def escapes_project(pattern: str) -> bool:
    """True for a relative pattern whose ``..`` climb above the directory
    it starts in, each ``{field}`` counting as one directory level."""
    if posixpath.isabs(pattern):
        return False
    try:
        parts = []
        for literal, name, _, _ in _FORMATTER.parse(pattern):
            parts.append(literal)
            if name is not None:
                parts.append("_")
    except ValueError:
        return False  # a malformed pattern, reported by the pattern checks
    path = posixpath.normpath("".join(parts))
    return path == ".." or path.startswith("../")
