"""Config resolution: defaults, glob(...), and --config overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from outflowfile.errors import UserError
from outflowfile.language.config import parse_overrides, resolve_config
from outflowfile.language.model import NO_DEFAULT, ConfigEntry, Glob, Location, Outflowfile, TypeRef


def loc(line: int) -> Location:
    return Location("Outflowfile", line, 5)


def model(*entries: ConfigEntry) -> Outflowfile:
    return Outflowfile(path="Outflowfile", config=list(entries))


def entry(name: str, type_name: str | None, default: object, line: int = 2) -> ConfigEntry:
    t = TypeRef(type_name) if type_name else None
    return ConfigEntry(name, t, default, loc(line))


TUTORIAL = model(entry("multiplier", "int", 2, 2), entry("n", "int", 6, 3))


def test_parse_overrides() -> None:
    assert parse_overrides(["n=3", "name=a=b", "empty=", "n=4"]) == {
        "n": "4",
        "name": "a=b",
        "empty": "",
    }


@pytest.mark.parametrize("item", ["n", "=3", ""])
def test_parse_overrides_needs_key_and_equals(item: str) -> None:
    with pytest.raises(UserError) as info:
        parse_overrides([item])
    assert info.value.message == f"--config {item}: expected KEY=VALUE"


def test_defaults(tmp_path: Path) -> None:
    assert resolve_config(TUTORIAL, {}, tmp_path) == {"multiplier": 2, "n": 6}


def test_override_is_coerced_to_the_declared_type(tmp_path: Path) -> None:
    assert resolve_config(TUTORIAL, {"multiplier": "15"}, tmp_path) == {"multiplier": 15, "n": 6}


def test_override_of_the_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(TUTORIAL, {"multiplier": "abc"}, tmp_path)
    assert info.value.message == "--config multiplier=abc: expected int"
    assert info.value.loc is None


def test_unknown_key_suggests_the_nearest(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(TUTORIAL, {"multipler": "3"}, tmp_path)
    problem = info.value.problems[0]
    assert problem.message == "--config multipler=3: unknown config key 'multipler'"
    assert problem.hint == "did you mean 'multiplier'? known keys: multiplier, n"


def test_unknown_key_without_a_close_match(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(TUTORIAL, {"zzz": "3"}, tmp_path)
    assert info.value.problems[0].hint == "known keys: multiplier, n"


def test_unknown_key_without_any_config(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(model(), {"n": "3"}, tmp_path)
    assert info.value.problems[0].hint == "the Outflowfile has no config: block"


def test_every_bad_override_is_reported(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(TUTORIAL, {"multiplier": "x", "n": "y", "q": "1"}, tmp_path)
    messages = [p.message for p in info.value.problems]
    assert messages == [
        "--config q=1: unknown config key 'q'",
        "--config multiplier=x: expected int",
        "--config n=y: expected int",
    ]


def test_untyped_entries(tmp_path: Path) -> None:
    m = model(entry("a", None, None), entry("b", None, "x"))
    assert resolve_config(m, {"a": "[1, 2]", "b": "hello"}, tmp_path) == {"a": [1, 2], "b": "hello"}


@pytest.mark.parametrize(("default", "text", "value"), [
    ("1.10", "1.10", "1.10"),  # the example: not the float 1.1
    ("x", "7", "7"),
    ("x", "[1, 2]", "[1, 2]"),
    ("x", "None", "None"),
    (5, "7", 7),
    (5, " 08 ", 8),
    (2.5, "3", 3.0),
    (2.5, "1e3", 1000.0),
    (True, "0", False),
    (False, "yes", True),
    (b"x", "y", b"y"),
    (["a", "b"], "c,d", ["c", "d"]),
    (["a", "b"], "['c']", ["c"]),
    ([1, 2], "3,4", [3, 4]),
    ([1, "a"], "3,4", ["3", "4"]),  # mixed items: the list alone is kept
    ([1, "a"], "[3, 'b']", [3, "b"]),
    ([], "[1]", [1]),
    ({"a"}, "b,c", {"b", "c"}),
    ((1, 2), "(3,)", (3,)),
    ({"k": 1}, "{'j': 2}", {"j": 2}),
    (None, "1.10", 1.1),  # a default of None says nothing: any value
    (None, "text", "text"),
])
def test_an_untyped_entry_keeps_its_defaults_type(
    tmp_path: Path, default: object, text: str, value: object
) -> None:
    got = resolve_config(model(entry("v", None, default)), {"v": text}, tmp_path)["v"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(("default", "text", "expected"), [
    (5, "x", "expected int"),
    (5, "1.5", "expected int"),
    (5, "[1, 2]", "expected int"),
    (2.5, "many", "expected float"),
    (True, "maybe", "expected bool"),
    (["a"], "[1]", "expected list[str], got list ([1])"),
    ([1], "a,b", "expected list[int]: item 1 'a': expected int"),
    ((1, 2), "x", "expected tuple"),
    ({"k": 1}, "[1]", "expected dict, got list ([1])"),
])
def test_a_value_not_of_the_defaults_type_is_an_error_naming_the_entry(
    tmp_path: Path, default: object, text: str, expected: str
) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(model(entry("count", None, default)), {"count": text}, tmp_path)
    assert info.value.message.startswith(f"--config count={text}: {expected}")
    hint = info.value.problems[0].hint or ""
    assert hint.startswith("config 'count' has no declared type, so it keeps the type of its "
                           "default")
    assert "declare it 'count: any' to take any value" in hint


def test_any_takes_what_an_untyped_entry_took_before(tmp_path: Path) -> None:
    m = model(entry("a", "any", 1))
    assert resolve_config(m, {"a": "[1, 2]"}, tmp_path) == {"a": [1, 2]}
    assert resolve_config(m, {"a": "1.10"}, tmp_path) == {"a": 1.1}


def test_override_never_runs_code(tmp_path: Path) -> None:
    m = model(entry("a", None, None), entry("s", "str", ""))
    values = resolve_config(m, {"a": "__import__('os')", "s": "__import__('os')"}, tmp_path)
    assert values == {"a": "__import__('os')", "s": "__import__('os')"}
    with pytest.raises(UserError) as info:
        resolve_config(TUTORIAL, {"n": "__import__('os').getpid()"}, tmp_path)
    assert info.value.message == "--config n=__import__('os').getpid(): expected int"


def test_list_overrides(tmp_path: Path) -> None:
    m = model(entry("samples", "list", []))
    assert resolve_config(m, {"samples": "a,b"}, tmp_path) == {"samples": ["a", "b"]}
    assert resolve_config(m, {"samples": "['a', 1]"}, tmp_path) == {"samples": ["a", 1]}


def glob_model(pattern: str, type_name: str | None = "list") -> Outflowfile:
    return model(entry("samples", type_name, Glob(pattern, loc(2))))


def test_glob_default(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    for name in ("b.txt", "a.txt", "c.csv"):
        (tmp_path / "data" / name).write_text("x")
    (tmp_path / "data" / "dir.txt").mkdir()
    values = resolve_config(glob_model("data/{sample}.txt"), {}, tmp_path)
    assert values == {"samples": ["a", "b"]}


def test_glob_default_without_matches(tmp_path: Path) -> None:
    assert resolve_config(glob_model("data/{sample}.txt"), {}, tmp_path) == {"samples": []}


def test_glob_overridden(tmp_path: Path) -> None:
    values = resolve_config(glob_model("data/{sample}.txt", None), {"samples": "x,y"}, tmp_path)
    assert values == {"samples": ["x", "y"]}


def test_bad_glob_is_located(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        resolve_config(glob_model("data/*.txt"), {}, tmp_path)
    assert "needs exactly one {wildcard}" in info.value.message
    assert info.value.loc == loc(2)


def test_entry_without_default_needs_an_override(tmp_path: Path) -> None:
    m = model(entry("n", "int", NO_DEFAULT))
    with pytest.raises(UserError) as info:
        resolve_config(m, {}, tmp_path)
    assert info.value.message == "config 'n' has no default value"
    assert info.value.problems[0].hint == "set it with --config n=VALUE"
    assert resolve_config(m, {"n": "3"}, tmp_path) == {"n": 3}


def test_duplicate_entries_first_wins(tmp_path: Path) -> None:
    m = model(entry("n", "int", 1), entry("n", "int", 2))
    assert resolve_config(m, {}, tmp_path) == {"n": 1}
