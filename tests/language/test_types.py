"""The type rules: validation, compatibility, runtime matching, coercion."""

from __future__ import annotations

from pathlib import Path

import pytest

from outflowfile.language.model import TypeRef
from outflowfile.language.typerules import (
    KNOWN_TYPES,
    coerce_text,
    compatible,
    describe,
    element_type,
    matches,
    validate_type,
)


def T(name: str, *args: TypeRef) -> TypeRef:
    return TypeRef(name, tuple(args))


INT, FLOAT, STR, BOOL, PATH, ANY = T("int"), T("float"), T("str"), T("bool"), T("path"), T("any")
LIST, DICT, TUPLE, SET = T("list"), T("dict"), T("tuple"), T("set")


def test_known_types() -> None:
    assert KNOWN_TYPES == {
        "int", "float", "str", "bool", "list", "dict", "tuple", "set", "bytes", "path", "any",
        "table",
    }  # fmt: skip


@pytest.mark.parametrize(
    "t", [INT, LIST, T("list", INT), T("dict", STR, FLOAT), T("tuple", INT, STR, BOOL)]
)
def test_validate_type_accepts(t: TypeRef) -> None:
    assert validate_type(t) is None


def test_validate_type_unknown_with_suggestion() -> None:
    message = validate_type(T("strr"))
    assert message is not None
    assert message.startswith("unknown type 'strr'")
    assert "did you mean 'str'?" in message


def test_validate_type_unknown_argument() -> None:
    message = validate_type(T("list", T("integer")))
    assert message is not None and "unknown type 'integer'" in message


def test_validate_type_too_many_arguments() -> None:
    assert validate_type(T("int", STR)) == "type 'int' takes no arguments, got 'int[str]'"
    message = validate_type(T("list", INT, STR))
    assert message is not None and "at most 1" in message


@pytest.mark.parametrize(
    "produced, expected",
    [
        (None, INT),
        (INT, None),
        (ANY, INT),
        (STR, ANY),
        (INT, INT),
        (INT, FLOAT),
        (PATH, STR),
        (STR, PATH),
        (T("list", INT), LIST),
        (LIST, T("list", INT)),
        (T("list", INT), T("list", FLOAT)),
        (T("list", PATH), T("list", STR)),
        (T("dict", STR, INT), T("dict", STR, FLOAT)),
        (T("tuple", INT, INT), T("tuple", INT)),
    ],
)
def test_compatible(produced: TypeRef | None, expected: TypeRef | None) -> None:
    assert compatible(produced, expected)


@pytest.mark.parametrize(
    "produced, expected",
    [
        (BOOL, INT),
        (FLOAT, INT),
        (INT, STR),
        (TUPLE, LIST),
        (SET, LIST),
        (LIST, INT),
        (INT, LIST),
        (T("list", STR), T("list", INT)),
        (T("tuple", INT, STR), T("tuple", INT, STR, STR)),
    ],
)
def test_incompatible(produced: TypeRef, expected: TypeRef) -> None:
    assert not compatible(produced, expected)


@pytest.mark.parametrize(
    "value, t",
    [
        (3, INT),
        (3, FLOAT),
        (3.5, FLOAT),
        ("a", STR),
        ("a/b.txt", PATH),
        (Path("a/b.txt"), PATH),
        (True, BOOL),
        (b"x", T("bytes")),
        ([1, 2], LIST),
        ([1, 2], T("list", INT)),
        ([1, 2.5], T("list", FLOAT)),
        ([], T("list", INT)),
        ({"a": 1}, T("dict", STR, INT)),
        ((1, "a"), T("tuple", INT, STR)),
        ((1, 2, 3), T("tuple", INT)),
        ({1, 2}, T("set", INT)),
        (object(), ANY),
        (None, None),
        ([[1], [2]], T("list", T("list", INT))),
    ],
)
def test_matches(value: object, t: TypeRef | None) -> None:
    assert matches(value, t)


@pytest.mark.parametrize(
    "value, t",
    [
        (True, INT),
        (False, FLOAT),
        (3.0, INT),
        ("3", INT),
        (1, BOOL),
        (3, STR),
        (3, PATH),
        ((1, 2), LIST),
        ([1, "a"], T("list", INT)),
        ([True], T("list", INT)),
        ({"a": "b"}, T("dict", STR, INT)),
        ((1, 2), T("tuple", INT, STR)),
        ((1, 2, 3), T("tuple", INT, INT)),
        ([1], SET),
        ("abc", T("bytes")),
    ],
)
def test_does_not_match(value: object, t: TypeRef) -> None:
    assert not matches(value, t)


def test_describe() -> None:
    assert describe("abc") == "str ('abc')"
    assert describe(3) == "int (3)"
    assert describe(None) == "None"
    long = describe("x" * 100)
    assert long.startswith("str ('xxx") and long.endswith("...)") and len(long) < 60


def test_element_type() -> None:
    assert element_type(T("list", INT)) == INT
    assert element_type(T("set", STR)) == STR
    assert element_type(LIST) is None
    assert element_type(None) is None
    assert element_type(INT) is None
    assert element_type(T("dict", STR, INT)) is None


@pytest.mark.parametrize(
    "text, t, value",
    [
        ("15", INT, 15),
        (" -3 ", INT, -3),
        ("2.5", FLOAT, 2.5),
        ("2", FLOAT, 2.0),
        ("true", BOOL, True),
        ("Yes", BOOL, True),
        ("1", BOOL, True),
        ("false", BOOL, False),
        ("no", BOOL, False),
        ("0", BOOL, False),
        ("hello world", STR, "hello world"),
        ("'quoted'", STR, "'quoted'"),
        ("data/x.txt", PATH, "data/x.txt"),
        ("[1, 2]", LIST, [1, 2]),
        ("a,b,c", LIST, ["a", "b", "c"]),
        ("a, b", LIST, ["a", "b"]),
        ("x", LIST, ["x"]),
        ("", LIST, []),
        ("1,2,3", T("list", INT), [1, 2, 3]),
        ("[1, 2]", T("list", INT), [1, 2]),
        ("{'a': 1}", DICT, {"a": 1}),
        ("(1, 'a')", TUPLE, (1, "a")),
        ("1, 2", TUPLE, (1, 2)),
        ("a,b", SET, {"a", "b"}),
        ("42", None, 42),
        ("[1, 'x']", None, [1, "x"]),
        ("abc", None, "abc"),
        ("data/x.txt", None, "data/x.txt"),
        ("7", ANY, 7),
    ],
)
def test_coerce_text(text: str, t: TypeRef | None, value: object) -> None:
    result = coerce_text(text, t)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    "text, t, message",
    [
        ("abc", INT, "expected int"),
        ("2.5", INT, "expected int"),
        ("x", FLOAT, "expected float"),
        ("maybe", BOOL, "expected bool"),
        ("1,x", T("list", INT), "expected list[int]: item 2 'x': expected int"),
        ("[1, 'x']", T("list", INT), "expected list[int], got list"),
        ("[1, 2]", DICT, "expected dict, got list"),
        ("{'a': 1", DICT, "expected dict (a Python literal"),
        ("__import__('os')", TUPLE, "expected tuple"),
    ],
)
def test_coerce_text_errors(text: str, t: TypeRef, message: str) -> None:
    with pytest.raises(ValueError) as info:
        coerce_text(text, t)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("t", [None, ANY, STR, PATH, LIST])
def test_coerce_never_runs_code(t: TypeRef | None, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    try:
        value = coerce_text(text, t)
    except ValueError:
        value = None
    assert not marker.exists()
    if value is not None:
        assert value == text or value == [p.strip() for p in text.split(",")]


def test_coerce_import_stays_text() -> None:
    assert coerce_text("__import__('os')", None) == "__import__('os')"
    assert coerce_text("__import__('os')", STR) == "__import__('os')"
    with pytest.raises(ValueError):
        coerce_text("__import__('os')", INT)


def test_coerce_deeply_nested_literal_is_an_error_not_a_crash() -> None:
    text = "[" * 100_000 + "]" * 100_000
    assert coerce_text(text, None) == text
