"""Stored values: exact round trips, canonical digests, no code run on decode."""

from __future__ import annotations

import cmath
import datetime as dt
import decimal
import json
import math
import pathlib
import pickle
import subprocess
import sys
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outflowfile.valuecodec import UnstorableValue, decode, digest, digest_encoded, encode


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        by_key = {encode(k): v for k, v in b.items()}
        return all(same(v, by_key.get(encode(k), object())) for k, v in a.items())
    if isinstance(a, (set, frozenset)):
        return {encode(x) for x in a} == {encode(x) for x in b}
    if isinstance(a, dt.datetime):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    return a == b


def round_trip(value: Any) -> Any:
    text = encode(value)
    assert isinstance(text, str)
    text.encode("ascii")  # storable in any database column
    back = decode(text)
    assert same(value, back), (value, text, back)
    assert encode(back) == text
    return back


EXAMPLES = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    10**5000,
    -(10**5000),
    1.5,
    -0.0,
    float("inf"),
    float("-inf"),
    float("nan"),
    "",
    "héllo \u2603 \ud800",
    [],
    [1, "a", None],
    {},
    {"a": 1, "b": [2, 3]},
    (),
    (1,),
    (1, (2, (3,))),
    set(),
    {1, 2, 3},
    {"b", "a", (1, 2)},
    frozenset(),
    frozenset({1, frozenset({2})}),
    b"",
    b"\x00\xff binary",
    bytearray(b"abc"),
    pathlib.Path("data/x.txt"),
    pathlib.PurePosixPath("/a/b"),
    pathlib.PureWindowsPath(r"C:\data\x.txt"),
    dt.datetime(2024, 2, 29, 13, 5, 7, 123456),
    dt.datetime(2024, 2, 29, 13, 5, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 2, 29, 13, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    dt.datetime(2021, 11, 7, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
    dt.date(1999, 12, 31),
    dt.time(23, 59, 59, 999999),
    dt.time(8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.timedelta(days=-3, seconds=7, microseconds=11),
    1 + 2j,
    complex(float("nan"), float("inf")),
    decimal.Decimal("1.10"),
    decimal.Decimal("-Infinity"),
    {1: "int key", 2.5: "float key", (1, 2): "tuple key", None: "none", False: "bool"},
    {frozenset({1}): {"$": "dict with the tag key"}},
    {"$": "tuple", "v": [1, 2]},  # looks like a tagged value, is a plain dict
    {"$": 1, "other": {"$": {"$": []}}},
    [{"a": ({1, 2}, b"x", pathlib.Path("p"))}, ({"k": (1.5, float("inf"))},)],
]


@pytest.mark.parametrize("value", EXAMPLES, ids=lambda v: type(v).__name__)
def test_round_trip(value: Any) -> None:
    round_trip(value)


def test_encoding_is_canonical_json() -> None:
    assert encode({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    assert encode((1, 2)) == '{"$":"tuple","v":[1,2]}'
    assert encode("é") == '"\\u00e9"'
    json.loads(encode({"x": {1, 2}, "y": float("nan")}))  # strict JSON


@given(st.dictionaries(st.text(), st.one_of(st.text(), st.booleans(), st.none()), max_size=3))
def test_flat_dicts_encode_as_json_dumps(value: dict[str, Any]) -> None:
    # encode spells out one-text-parameter dicts and dumps other flat ones
    # without walking them: both must give what json.dumps gives.
    if "$" in value:
        return
    assert encode(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_digest_ignores_dict_and_set_order() -> None:
    a = {"x": 1, "y": {3, 1, 2}, 5: "five", "z": {"q": frozenset("abc")}}
    b = {"z": {"q": frozenset("cba")}, 5: "five", "y": {2, 3, 1}, "x": 1}
    assert encode(a) == encode(b)
    assert digest(a) == digest(b)
    assert digest({1: "a", "1": "b"}) == digest({"1": "b", 1: "a"})
    assert digest_encoded(encode(a)) == digest(a)
    assert len(digest(a)) == 64


def test_digest_tells_types_apart() -> None:
    distinct = [1, 1.0, True, "1", (1,), [1], {1}, frozenset({1}), b"1", pathlib.Path("1")]
    assert len({digest(v) for v in distinct}) == len(distinct)
    assert digest({"$": 1}) != digest({"$$": 1})


def unstorable(value: Any) -> UnstorableValue:
    with pytest.raises(UnstorableValue) as info:
        encode(value)
    assert isinstance(info.value, TypeError)
    return info.value


def test_unstorable_names_type_and_place() -> None:
    e = unstorable({"a": [1, 2, lambda: 0]})
    assert str(e).startswith("value['a'][2] is a function")
    assert e.path == "['a'][2]" and e.type_name == "function"
    assert e.describe("result").startswith("result['a'][2] is a function")

    assert unstorable([(1, {"k": object()})]).path == "[0][1]['k']"
    assert unstorable({1: {2: print}}).path == "[1][2]"
    assert "key" in str(unstorable({len: 1}))
    assert "item" in str(unstorable({"s": {1, len}}))
    assert unstorable(object()).path == ""
    assert str(unstorable([print])).startswith("value[0] is a built-in function")
    assert str(unstorable(int)).startswith("value is a class")


@pytest.mark.parametrize(
    "value",
    [
        print,
        type,
        sys,
        iter([]),
        (x for x in []),
        {1, 2}.__iter__(),
        Exception("x"),
        range(3),
        slice(1),
        memoryview(b"x"),
    ],
)
def test_unstorable_builtins(value: Any) -> None:
    unstorable(value)


def test_subclasses_are_refused_not_coerced() -> None:
    import collections
    import enum

    class Color(enum.IntEnum):
        RED = 1

    point = collections.namedtuple("point", "x y")
    for value in (Color.RED, point(1, 2), collections.OrderedDict(a=1), collections.Counter("ab")):
        unstorable(value)


def test_unstorable_timezone() -> None:
    class Odd(dt.tzinfo):
        def utcoffset(self, d: Any) -> dt.timedelta:
            return dt.timedelta(0)

    e = unstorable(dt.datetime(2020, 1, 1, tzinfo=Odd()))
    assert "tzinfo" in str(e)


def test_self_containing_value() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert "contains itself" in str(unstorable(loop))


def test_unstorable_value_survives_pickling() -> None:
    e = unstorable({"a": [print]})
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and back.path == e.path


def test_numpy() -> None:
    np = pytest.importorskip("numpy")
    for value in (
        np.float64(1.5),
        np.int8(-3),
        np.uint64(2**64 - 1),
        np.bool_(True),
        np.complex64(1 + 2j),
        np.str_("abc"),
    ):
        back = round_trip(value)
        assert back.dtype == value.dtype
    for array in (
        np.arange(6).reshape(2, 3),
        np.array([1.0, np.nan, -np.inf], dtype=np.float32),
        np.zeros((0, 4)),
        np.array(3.5),
        np.array([True, False]),
        np.array(["a", "bcd"]),
        np.array([[1 + 1j]]),
        np.asfortranarray(np.arange(4.0).reshape(2, 2)),
    ):
        back = decode(encode(array))
        assert type(back) is np.ndarray
        assert back.dtype == array.dtype and back.shape == array.shape
        assert np.array_equal(back, array, equal_nan=array.dtype.kind in "fc")
    assert "dtype" in str(unstorable(np.array([{}], dtype=object)))
    assert "dtype" in str(unstorable(np.datetime64("2020-01-01")))


# --- decoding never runs code ---------------------------------------------------

MALICIOUS = [
    '{"$":"__reduce__","v":["os.system",["echo pwned"]]}',
    '{"$":"py/object","v":"os.system"}',
    '{"py/object":"subprocess.Popen","py/reduce":[{"py/function":"os.system"}]}',
    '{"__reduce__":["os","system"],"args":["touch /tmp/pwned"]}',
    '{"$":"ndarray","dtype":"O","shape":[1],"v":[1]}',
    '{"$":"ndarray","dtype":"<O8","shape":[1],"v":[1]}',
    '{"$":"np","dtype":"[(\'a\', \'O\')]","v":1}',
    '{"$":"np","dtype":"<f8","v":[1,2]}',
    '{"$":"datetime","v":"2020-01-01T00:00:00","tz":"../../../../etc/passwd"}',
    '{"$":"set","v":[[1,2]]}',
    '{"$":"dict","v":[[[1],2]]}',
    '{"$":"dict","v":[[1]]}',
    '{"$":"bytes","v":"not base64!"}',
    '{"$":"float","v":"1e5"}',
    '{"$":"int","v":"0x10"}',
    '{"$":"timedelta","v":[1,2]}',
    '{"$":"tuple"}',
    '{"$":1,"v":2}',
    '{"$":"decimal","v":"__import__(\'os\')"}',
    "NaN",
    "[1,2",
    "",
    '"unterminated',
    "[" * 100000 + "]" * 100000,
]


@pytest.mark.parametrize("text", MALICIOUS)
def test_crafted_text_gives_data_or_value_error(text: str) -> None:
    try:
        value = decode(text)
    except ValueError:
        return
    assert isinstance(value, (dict, list, str, int, float, tuple, set, frozenset, bytes))


def test_decoding_imports_nothing() -> None:
    """In a fresh interpreter, decoding hostile text loads no new module."""
    script = f"""
import sys, json
from outflowfile.valuecodec import decode
texts = json.loads({json.dumps(json.dumps(MALICIOUS[:-1]))})
before = set(sys.modules)
for text in texts:
    try:
        decode(text)
    except ValueError:
        pass
print(sorted(set(sys.modules) - before))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_plain_json_decodes_as_itself() -> None:
    assert decode('{"a":[1,2.5,"x",null,true]}') == {"a": [1, 2.5, "x", None, True]}
    assert decode(' {"a": 1} ') == {"a": 1}


# --- many values ---------------------------------------------------------------
# (Their speed is timed in benchmarks/, not here: no test asserts on wall time.)


def test_100k_small_values_round_trip() -> None:
    values = [{"sample": f"s{i}", "n": i, "scale": 2.5} for i in range(100_000)]
    texts = [encode(v) for v in values]
    assert len(set(texts)) == len(values)
    assert [decode(t) for t in texts] == values


# --- property-based -------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.binary()
    | st.complex_numbers(allow_nan=True)
    | st.decimals(allow_nan=False)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
    | st.times()
    | st.timedeltas()
    | st.builds(pathlib.Path, st.text(alphabet="abc/._-", max_size=20))
)
hashables = st.recursive(
    # NaN keys never equal themselves, so no round trip can be compared.
    scalars.filter(lambda v: not (isinstance(v, (float, complex)) and cmath.isnan(v))),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=4),
    max_leaves=8,
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=5)
        | st.dictionaries(hashables, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@settings(max_examples=200, deadline=None)
@given(values)
def test_round_trip_property(value: Any) -> None:
    round_trip(value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=4) | st.integers(), values, max_size=6), st.randoms())
def test_digest_ignores_insertion_order(d: dict[Any, Any], rnd: Any) -> None:
    items = list(d.items())
    rnd.shuffle(items)
    assert digest(dict(items)) == digest(d)
