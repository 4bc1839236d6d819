"""The type rules of the Outflowfile language.

A declared type is a ``model.TypeRef``; ``None`` means untyped (any value).
These functions answer three questions with the same rules everywhere:

- ``compatible``: may an output of one declared type feed an input of another?
  (the checker, before anything runs)
- ``matches``: is this concrete value of that type? (the engine, at run time)
- ``coerce_text``: what value does ``--config key=TEXT`` give? (the CLI)

Values are data: ``coerce_text`` reads Python literals with
``ast.literal_eval`` and never evaluates code.
"""

from __future__ import annotations

import ast
import difflib
import os
from collections.abc import Callable
from typing import Any

from outflowfile.language.model import TypeRef

# name -> how many generic arguments it accepts: None for any number.
_ARITY: dict[str, int | None] = {
    "int": 0,
    "float": 0,
    "str": 0,
    "bool": 0,
    "bytes": 0,
    "path": 0,
    "any": 0,
    "table": 0,
    "list": 1,
    "set": 1,
    "dict": 2,
    "tuple": None,
}

KNOWN_TYPES: frozenset[str] = frozenset(_ARITY)

#: A row of a table (``csv()``, ``tsv()``, a glob() with several wildcards).
TABLE_ROW = TypeRef("dict", (TypeRef("str"), TypeRef("any")))

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

# Python types that ``describe`` renders under our own names.
_SHOWN_NAMES = {"NoneType": "None", "frozenset": "set"}


def suggest(name: str, candidates: list[str] | set[str] | frozenset[str]) -> str | None:
    """The candidate closest to ``name``, if any is close enough."""
    found = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def type_problem(t: TypeRef) -> tuple[str, str | None] | None:
    """``(message, hint)`` when ``t`` (or one of its arguments) is not a
    valid type, else None."""
    if t.name not in KNOWN_TYPES:
        near = suggest(t.name, KNOWN_TYPES)
        known = ", ".join(sorted(KNOWN_TYPES))
        hint = f"did you mean '{near}'? known types: {known}" if near else f"known types: {known}"
        return f"unknown type '{t.name}'", hint
    arity = _ARITY[t.name]
    if arity is not None and len(t.args) > arity:
        if arity == 0:
            return f"type '{t.name}' takes no arguments, got '{t}'", None
        return f"type '{t.name}' takes at most {arity} argument(s), got '{t}'", None
    for arg in t.args:
        found = type_problem(arg)
        if found:
            return found
    return None


def validate_type(t: TypeRef) -> str | None:
    """Error text for an unknown or malformed type, with a did-you-mean."""
    found = type_problem(t)
    if found is None:
        return None
    message, hint = found
    return f"{message} ({hint})" if hint else message


def _is_any(t: TypeRef | None) -> bool:
    return t is None or t.name == "any"


def compatible(produced: TypeRef | None, expected: TypeRef | None) -> bool:
    """May a value declared ``produced`` feed an input declared ``expected``?

    Untyped or ``any`` on either side always fits. ``int`` feeds ``float``;
    ``path`` and ``str`` feed each other; ``bool`` does not feed ``int``.
    A generic without arguments accepts any arguments (``list[int]`` feeds
    ``list`` and the reverse); with arguments on both sides, they must fit
    pairwise.
    """
    if _is_any(produced) or _is_any(expected):
        return True
    assert produced is not None and expected is not None
    if produced.name != expected.name:
        return (produced.name, expected.name) in {
            ("int", "float"),
            ("path", "str"),
            ("str", "path"),
            ("table", "list"),
            ("list", "table"),
        }
    if not produced.args or not expected.args:
        return True
    if produced.name == "tuple":
        return _tuple_args_compatible(produced.args, expected.args)
    return all(compatible(p, e) for p, e in zip(produced.args, expected.args, strict=False))


def _tuple_args_compatible(produced: tuple[TypeRef, ...], expected: tuple[TypeRef, ...]) -> bool:
    # tuple[T] is a tuple of any length whose items are all T.
    if len(expected) == 1:
        return all(compatible(p, expected[0]) for p in produced)
    if len(produced) == 1:
        return all(compatible(produced[0], e) for e in expected)
    return len(produced) == len(expected) and all(
        compatible(p, e) for p, e in zip(produced, expected, strict=True)
    )


def checker(t: TypeRef | None) -> Callable[[Any], bool] | None:
    """``matches`` for one type, made once: None when every value matches."""
    if _is_any(t):
        return None
    assert t is not None
    return _SCALAR_CHECKS.get(t.name) or (lambda value: matches(value, t))


def matches(value: Any, t: TypeRef | None) -> bool:
    """Is ``value`` of type ``t``? Checks the items of generic containers.

    ``bool`` is not accepted as ``int`` (nor ``float``); ``int`` is accepted as
    ``float``; ``str`` and ``os.PathLike`` are accepted as ``path``.
    """
    if _is_any(t):
        return True
    assert t is not None
    check = _SCALAR_CHECKS.get(t.name)
    if check is not None:
        return check(value)
    if t.name == "list":
        return isinstance(value, list) and _items_match(value, t.args)
    if t.name == "table":
        return isinstance(value, list) and all(isinstance(row, dict) for row in value)
    if t.name == "set":
        return isinstance(value, (set, frozenset)) and _items_match(value, t.args)
    if t.name == "tuple":
        return isinstance(value, tuple) and _tuple_matches(value, t.args)
    if t.name == "dict":
        return isinstance(value, dict) and _dict_matches(value, t.args)
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_SCALAR_CHECKS = {
    "int": _is_int,
    "float": _is_float,
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "bytes": lambda v: isinstance(v, bytes),
    "path": lambda v: isinstance(v, (str, os.PathLike)),
}


def _items_match(items: Any, args: tuple[TypeRef, ...]) -> bool:
    if not args or _is_any(args[0]):
        return True
    return all(matches(item, args[0]) for item in items)


def _tuple_matches(value: tuple[Any, ...], args: tuple[TypeRef, ...]) -> bool:
    if not args:
        return True
    if len(args) == 1:
        return all(matches(item, args[0]) for item in value)
    return len(value) == len(args) and all(matches(v, a) for v, a in zip(value, args, strict=True))


def _dict_matches(value: dict[Any, Any], args: tuple[TypeRef, ...]) -> bool:
    key_type = args[0] if args else None
    value_type = args[1] if len(args) > 1 else None
    return all(matches(k, key_type) and matches(v, value_type) for k, v in value.items())


def describe(value: Any, limit: int = 40) -> str:
    """A value's type for messages, with a short preview: ``str ('abc')``."""
    name = type(value).__name__
    name = _SHOWN_NAMES.get(name, name)
    if value is None:
        return "None"
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{name} ({text})"


def element_type(t: TypeRef | None) -> TypeRef | None:
    """The item type of a homogeneous container: ``list[int]`` gives ``int``;
    ``list``, untyped and non-containers give None."""
    if t is not None and t.name == "table":
        return TABLE_ROW
    if t is None or not t.args:
        return None
    if t.name in ("list", "set") or (t.name == "tuple" and len(t.args) == 1):
        return t.args[0]
    return None


def coerce_text(text: str, t: TypeRef | None) -> Any:
    """The value of ``--config key=TEXT`` for a key declared ``t``.

    Raises ``ValueError("expected int")`` (and the like) when the text is not
    a value of that type.
    """
    if _is_any(t):
        return _literal_or_text(text)
    assert t is not None
    name = t.name
    if name == "int":
        return _coerce_int(text)
    if name == "float":
        return _coerce_float(text)
    if name == "bool":
        return _coerce_bool(text)
    if name in ("str", "path"):
        return text
    if name == "bytes":
        return text.encode("utf-8")
    if name in ("list", "set"):
        return _coerce_sequence(text, t)
    if name in ("tuple", "dict", "table"):
        return _coerce_literal(text, t)
    raise ValueError(f"cannot read a value of unknown type '{t}'")


def _coerce_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("expected int") from None


def _coerce_float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError("expected float") from None


def _coerce_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected bool (true/false, yes/no or 1/0)")


def _parse_literal(text: str) -> tuple[bool, Any]:
    """``(True, value)`` when ``text`` is a Python literal, else ``(False, None)``."""
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _literal_or_text(text: str) -> Any:
    ok, value = _parse_literal(text)
    return value if ok else text


def _coerce_literal(text: str, t: TypeRef) -> Any:
    ok, value = _parse_literal(text)
    if not ok:
        raise ValueError(f"expected {t} (a Python literal such as {_EXAMPLES[t.name]})")
    if not matches(value, t):
        raise ValueError(f"expected {t}, got {describe(value)}")
    return value


_EXAMPLES = {
    "tuple": "(1, 2)",
    "dict": "{'a': 1}",
    "table": "[{'sample': 'A'}]",
    "list": "[1, 2] or a,b,c",
    "set": "{1, 2} or a,b,c",
}


def _coerce_sequence(text: str, t: TypeRef) -> Any:
    """A list or set: a Python literal (``[1, 2]``), or bare comma-separated
    items (``a,b,c``), each read as the element type (str when untyped)."""
    wanted: type = list if t.name == "list" else set
    stripped = text.strip()
    if not stripped:
        return wanted()
    ok, value = _parse_literal(stripped)
    if ok and isinstance(value, (list, set, frozenset)):
        value = wanted(value)
        if not matches(value, t):
            raise ValueError(f"expected {t}, got {describe(value)}")
        return value
    item_type = element_type(t)
    items = []
    for position, part in enumerate(stripped.split(","), start=1):
        part = part.strip()
        try:
            items.append(part if item_type is None else coerce_text(part, item_type))
        except ValueError as exc:
            raise ValueError(f"expected {t}: item {position} {part!r}: {exc}") from None
    return wanted(items)
