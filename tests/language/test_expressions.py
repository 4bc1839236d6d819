"""The expression evaluator (issue 18): what it computes, what it refuses
(with the place), and the condition form another part of the language
uses."""

from __future__ import annotations

import pytest

from outflowfile.language.expressions import (
    EvaluationError,
    ExpressionError,
    infer_type,
    parse_expression,
)
from outflowfile.language.model import Location, TypeRef

AT = Location("Outflowfile", 4, 20)


def value(text: str, **names: object) -> object:
    return parse_expression(text, AT).evaluate(names)


def refused(text: str) -> tuple[str, Location]:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, AT).evaluate({"x": "s", "d": {}})
    return info.value.message, info.value.loc


def test_what_it_computes() -> None:
    assert value('f"@RG\\tID:{s}\\tSM:{s}"', s="A") == "@RG\tID:A\tSM:A"
    assert value("n * 2 + 1", n=3) == 7
    assert value("d[k]", d={"a": 1}, k="a") == 1
    assert value("xs[-1]", xs=[1, 2]) == 2
    assert value("s[:2]", s="abc") == "ab"
    assert value("'big' if n > 3 else 'small'", n=4) == "big"
    assert value("n in (1, 2) and not flag", n=1, flag=False) is True
    assert value("f'{n:03d}-{x!r}'", n=7, x="a") == "007-'a'"
    assert value("stem(p) + suffix(p)", p="a/b.fq.gz") == "b.fq.gz"
    assert value("basename(p)", p="a/b.fq") == "b.fq"
    assert value("dirname(p)", p="a/b.fq") == "a"
    assert value("join(sorted(xs), ',')", xs=["b", "a"]) == "a,b"
    assert value("min(8, max(xs))", xs=[3, 9]) == 8
    assert value("round(x / 3, 2)", x=1) == 0.33
    assert value("int(t) + len(t)", t="12") == 14


def test_what_it_refuses_and_where() -> None:
    assert refused("x.upper()") == (
        "attribute access ('.upper') is not allowed in an expression", AT)
    assert refused("__import__('os')")[0] == (
        "the name '__import__' is not allowed in an expression")
    assert refused("__builtins__")[0] == "the name '__builtins__' is not allowed in an expression"
    assert refused("open('f')")[0] == "unknown function 'open'"
    assert refused("eval('1')")[0] == "unknown function 'eval'"
    assert refused("[c for c in x]")[0] == "a comprehension is not allowed in an expression"
    assert refused("lambda: 1")[0] == "a lambda is not allowed in an expression"
    assert refused("len(x, 2)")[0] == "len() takes 1 argument(s), 2 given"
    assert refused("2 ** 10 ** 10")[0] == "the result of '**' would be too large"
    assert refused("'a' * 10 ** 7")[0] == "the result of '*' would be too large"
    assert refused("x +  ") == (
        "invalid expression: invalid syntax", Location("Outflowfile", 4, 25))
    assert refused("d['k']") == ("no key 'k' in 'd'", AT)


def test_values_are_data() -> None:
    # A value that reads like code is only ever a value.
    assert value("s + '!'", s="__import__('os').system('false')") == (
        "__import__('os').system('false')!")
    assert value("f'{s}'", s="{s.__class__}") == "{s.__class__}"


def test_a_failure_names_its_place() -> None:
    with pytest.raises(EvaluationError) as info:
        parse_expression("1 + d[k]", AT).evaluate({"d": {"a": 1}, "k": "b"})
    assert info.value.loc == Location("Outflowfile", 4, 24)
    assert info.value.hint == "its keys: 'a'"


def test_condition() -> None:
    expr = parse_expression("n > 3 and not (n == 9) or 'b' in xs", AT)
    assert expr.names == frozenset({"n", "xs"})
    assert [(u.name, u.loc.column) for u in expr.uses()] == [("n", 20), ("n", 35), ("xs", 53)]
    assert expr.holds({"n": 4, "xs": []}) is True
    assert expr.holds({"n": 9, "xs": []}) is False
    # Python's truth, as `if` takes it: `if (plot)`, `if (samples)`.
    assert parse_expression("xs", AT).holds({"xs": [1]}) is True
    assert parse_expression("xs", AT).holds({"xs": []}) is False
    # One spelling however it is written, for messages, views and the choice's identity.
    assert expr.spelled() == "n > 3 and not (n == 9) or 'b' in xs"
    assert parse_expression('(n>3)  and "x"==s', AT).spelled() == "n > 3 and 'x' == s"
    assert parse_expression("not (a or b)", AT).spelled() == "not (a or b)"
    assert parse_expression("(a if c else b) < len(xs) + 1", AT).spelled() == (
        "(a if c else b) < len(xs) + 1")


def test_types_for_lint() -> None:
    s, i = TypeRef("str"), TypeRef("int")
    assert infer_type(parse_expression('f"{x}"', AT), {"x": i}) == (s, [])
    assert infer_type(parse_expression("len(x) * 2", AT), {"x": s}) == (i, [])
    found, problems = infer_type(parse_expression("x + 1", AT), {"x": s})
    assert found is None and [p[0] for p in problems] == ["cannot compute str + int"]
    found, problems = infer_type(parse_expression("y", AT), {"x": s})
    assert problems[0][0] == "unknown name 'y' in an expression"
    found, problems = infer_type(parse_expression("len(x)", AT), {"x": i})
    assert problems[0][0] == "len() expects a str or a list, not int"
