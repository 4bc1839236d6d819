"""Values that can be stored and read back without ever running code.

Task outputs and inputs are stored in the cache database as canonical JSON:
sorted keys, no whitespace, ASCII only. What JSON lacks is written as a
*tagged object* ``{"$": tag, "v": payload}``:

=================  ===========================================================
tag                payload
=================  ===========================================================
``tuple``          list of items
``set``            list of items, sorted by their canonical encoding
``frozenset``      same as ``set``
``bytes``          base64 text (``bytearray`` likewise)
``path``           text; also ``pureposixpath``, ``purewindowspath``
``datetime``       ISO text; ``"tz"``: IANA zone name for a ``ZoneInfo``,
                   ``"fold": 1`` when set
``date``/``time``  ISO text
``timedelta``      ``[days, seconds, microseconds]``
``float``          ``"nan"``, ``"inf"`` or ``"-inf"``
``complex``        ``[real, imag]``
``decimal``        text
``int``            hexadecimal text, for integers too long for JSON's digits
``dict``           ``[[key, value], ...]`` sorted by the key's encoding: a dict
                   with a non-``str`` key, or one that has a ``"$"`` key
``np``             numpy scalar: ``"dtype"`` (e.g. ``"<f8"``) and the value
``ndarray``        numpy array: ``"dtype"``, ``"shape"`` and nested lists
=================  ===========================================================

Types are exact: subclasses (``IntEnum``, namedtuples, ``OrderedDict``) are
refused rather than silently turned into their base type. Decoding only builds
these fixed types; an unknown tag or a malformed payload is a ``ValueError``.
Numpy support covers bool, integer, float, complex and unicode dtypes; numpy
is imported only to decode a value that holds numpy data.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import pathlib
import sys
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

TAG = "$"

# Integers beyond this are written in hex: Python refuses to turn integers of
# more than 4300 digits into decimal text (the CVE-2020-10735 limit).
_BIG_INT = 10**4000
_NEG_BIG_INT = -_BIG_INT

# Types whose values are their own JSON form.
_PLAIN = frozenset({str, bool, type(None)})

_STORABLE = (
    "None, bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, "
    "frozenset, decimal.Decimal, pathlib paths, datetime/date/time/timedelta and "
    "numpy numbers and arrays"
)

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False, check_circular=False
)


def _make_dump() -> Callable[[Any], str]:
    """JSON text of a JSON-native structure, as fast as the json module allows.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which costs
    more than encoding a small value; build it once instead.
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:
        return _ENCODER.encode
    c_encode = c_make_encoder(
        None,  # markers: no cycle check, _native has already walked the value
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,  # indent
        ":",  # key separator
        ",",  # item separator
        True,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )
    return lambda native: "".join(c_encode(native, 0))


_dump = _make_dump()
_quote = json.encoder.encode_basestring_ascii


def canonical_json(native: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces, ASCII) of a structure that
    is already JSON-native: str keys, finite floats, no cycles. What
    ``json.dumps(native, sort_keys=True, separators=(",", ":"))`` gives, faster."""
    return _dump(native)


class UnstorableValue(TypeError):
    """A value holds something that cannot be stored in the cache.

    ``path`` is where inside the value (``"['a'][2]"``, empty for the value
    itself) and ``type_name`` what was found there, so a caller can say
    ``output result['a'][2] of task t is a function``.
    """

    def __init__(self, type_name: str, path: str = "", detail: str = "") -> None:
        self.type_name = type_name
        self.path = path
        self.detail = detail
        super().__init__(self._text())

    def _text(self, name: str = "value") -> str:
        article = "an" if self.type_name[:1] in "aeiou" else "a"
        text = f"{name}{self.path} is {article} {self.type_name}, which cannot be stored"
        if self.detail:
            return f"{text} ({self.detail})"
        return f"{text}; storable values are {_STORABLE}"

    def describe(self, name: str) -> str:
        """The message with ``name`` (an output or input name) instead of ``value``."""
        return self._text(name)

    def __reduce__(self) -> tuple[Any, ...]:
        # Executors send exceptions between processes.
        return (UnstorableValue, (self.type_name, self.path, self.detail))

    def inside(self, step: str) -> UnstorableValue:
        """The same problem, one container further out."""
        return UnstorableValue(self.type_name, step + self.path, self.detail)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_FRIENDLY_NAMES = {
    "builtin_function_or_method": "built-in function",
    "method-wrapper": "method",
    "type": "class",
}


def _type_name(value: Any) -> str:
    t = type(value)
    if t.__module__ in ("builtins", "__main__"):
        return _FRIENDLY_NAMES.get(t.__qualname__, t.__qualname__)
    return f"{t.__module__}.{t.__qualname__}"


# --- encoding: Python value -> JSON-native structure --------------------------------


def _tagged(tag: str, payload: Any) -> dict[str, Any]:
    return {TAG: tag, "v": payload}


def _native(value: Any) -> Any:
    """The JSON-native form of ``value``; raises UnstorableValue."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is int:
        if _NEG_BIG_INT < value < _BIG_INT:
            return value
        return _tagged("int", format(value, "x"))
    if t is float:
        if value - value == 0.0:  # finite
            return value
        return _tagged("float", "nan" if value != value else ("inf" if value > 0 else "-inf"))
    if t is list:
        try:
            return [x if type(x) in _PLAIN else _native(x) for x in value]
        except UnstorableValue:
            raise _locate(value) from None
    if t is dict:
        return _native_dict(value)
    if t is tuple:
        try:
            return {TAG: "tuple", "v": [x if type(x) in _PLAIN else _native(x) for x in value]}
        except UnstorableValue:
            raise _locate(value) from None
    encoder = _ENCODERS.get(t)
    if encoder is not None:
        return encoder(value)
    return _native_other(value)


def _locate(items: list[Any] | tuple[Any, ...]) -> UnstorableValue:
    """Find which item of a sequence failed (only on the error path)."""
    for i, x in enumerate(items):
        try:
            _native(x)
        except UnstorableValue as e:
            return e.inside(f"[{i}]")
    raise AssertionError("no item failed")  # pragma: no cover


def _native_dict(value: dict[Any, Any]) -> Any:
    out: dict[str, Any] = {}
    for k, x in value.items():
        if type(k) is not str:
            return _native_pairs(value)
        try:
            out[k] = x if type(x) in _PLAIN else _native(x)
        except UnstorableValue as e:
            raise e.inside(f"[{_short(k)}]") from None
    if TAG in out:
        return _native_pairs(value)
    return out


def _native_pairs(value: dict[Any, Any]) -> dict[str, Any]:
    pairs = []
    for k, x in value.items():
        try:
            nk = _native(k)
        except UnstorableValue as e:
            raise UnstorableValue(e.type_name, f" key {_short(k)}", e.detail) from None
        try:
            pairs.append([nk, _native(x)])
        except UnstorableValue as e:
            raise e.inside(f"[{_short(k)}]") from None
    pairs.sort(key=lambda p: _dump(p[0]))
    return _tagged("dict", pairs)


def _native_set(tag: str) -> Callable[[Any], Any]:
    def encode(value: Any) -> Any:
        items = []
        for x in value:
            try:
                items.append(_native(x))
            except UnstorableValue as e:
                raise e.inside(f" item {_short(x)}") from None
        items.sort(key=_dump)
        return _tagged(tag, items)

    return encode


def _native_bytes(tag: str) -> Callable[[Any], Any]:
    return lambda value: _tagged(tag, base64.b64encode(value).decode("ascii"))


def _native_datetime(value: dt.datetime) -> Any:
    out = _tagged("datetime", value.isoformat())
    tz = value.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        out["tz"] = tz.key
        out["v"] = value.replace(tzinfo=None).isoformat()
    elif tz is not None and type(tz) is not dt.timezone:
        raise UnstorableValue(
            "datetime",
            detail=f"its tzinfo is a {_type_name(tz)}; use zoneinfo or datetime.timezone",
        )
    if value.fold:
        out["fold"] = 1
    return out


def _native_time(value: dt.time) -> Any:
    if value.tzinfo is not None and type(value.tzinfo) is not dt.timezone:
        raise UnstorableValue(
            "time", detail=f"its tzinfo is a {_type_name(value.tzinfo)}; use datetime.timezone"
        )
    out = _tagged("time", value.isoformat())
    if value.fold:
        out["fold"] = 1
    return out


def _native_other(value: Any) -> Any:
    """numpy values, or UnstorableValue."""
    t = type(value)
    if t.__module__ == "numpy" and "numpy" in sys.modules:
        np = sys.modules["numpy"]
        if isinstance(value, np.ndarray) and t is np.ndarray:
            return _native_ndarray(value)
        if isinstance(value, np.generic):
            return _native_npscalar(value)
    raise UnstorableValue(_type_name(value))


_NUMPY_KINDS = "biufcU"


def _numpy_dtype(value: Any) -> str:
    if value.dtype.kind not in _NUMPY_KINDS:
        raise UnstorableValue(
            _type_name(value),
            detail=f"numpy dtype {value.dtype} is not stored; "
            "bool, integer, float, complex and str dtypes are",
        )
    return str(value.dtype.str)


def _native_npscalar(value: Any) -> Any:
    return {TAG: "np", "dtype": _numpy_dtype(value), "v": _native(value.item())}


def _native_ndarray(value: Any) -> Any:
    dtype = _numpy_dtype(value)
    items = value.tolist()
    plain = value.dtype.kind in "biuU" or (
        value.dtype.kind == "f" and bool(sys.modules["numpy"].isfinite(value).all())
    )
    return {
        TAG: "ndarray",
        "dtype": dtype,
        "shape": list(value.shape),
        "v": items if plain else _native(items),
    }


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    set: _native_set("set"),
    frozenset: _native_set("frozenset"),
    bytes: _native_bytes("bytes"),
    bytearray: _native_bytes("bytearray"),
    pathlib.PosixPath: lambda v: _tagged("path", str(v)),
    pathlib.WindowsPath: lambda v: _tagged("path", str(v)),
    pathlib.PurePosixPath: lambda v: _tagged("pureposixpath", str(v)),
    pathlib.PureWindowsPath: lambda v: _tagged("purewindowspath", str(v)),
    dt.datetime: _native_datetime,
    dt.date: lambda v: _tagged("date", v.isoformat()),
    dt.time: _native_time,
    dt.timedelta: lambda v: _tagged("timedelta", [v.days, v.seconds, v.microseconds]),
    complex: lambda v: _tagged("complex", [_native(v.real), _native(v.imag)]),
    decimal.Decimal: lambda v: _tagged("decimal", str(v)),
}


def encode(value: Any) -> str:
    """Canonical JSON text for ``value``; raises UnstorableValue."""
    if type(value) is dict:  # a job's parameters, mostly
        if len(value) == 1:  # one text parameter (a map's item): spelled out
            for k, x in value.items():
                if type(x) is str and type(k) is str and k != TAG:
                    return "{" + _quote(k) + ":" + _quote(x) + "}"
        if _flat(value):
            return _dump(value)
    try:
        return _dump(_native(value))
    except RecursionError:
        raise UnstorableValue(
            _type_name(value), detail="it contains itself or is nested too deeply"
        ) from None


def _flat(value: dict[Any, Any]) -> bool:
    """A dict that is its own JSON form: str keys (none of them the tag),
    str, bool or None values."""
    for k, x in value.items():
        if type(k) is not str or type(x) not in _PLAIN:
            return False
    return TAG not in value


def digest(value: Any) -> str:
    """sha256 hex of the canonical encoding: equal values of equal types, equal digests."""
    return hashlib.sha256(encode(value).encode("ascii")).hexdigest()


def unstorable_output(task: str, outputs: dict[str, Any]) -> str | None:
    """Why one of a task's outputs cannot be stored, naming it; or None."""
    for name, value in outputs.items():
        try:
            encode(value)
        except UnstorableValue as exc:
            return (
                f"task {task!r} output {name!r} cannot be stored in the cache: "
                f"{exc.describe(name)}"
            )
    return None


def digest_encoded(text: str) -> str:
    """The digest of a value from its encoding (as stored), without decoding it."""
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# --- decoding: JSON text -> Python value --------------------------------------------


def _payload_str(obj: dict[str, Any]) -> str:
    v = obj["v"]
    if type(v) is not str:
        raise ValueError(f"{obj[TAG]!r} payload must be text")
    return v


def _payload_list(obj: dict[str, Any]) -> list[Any]:
    v = obj["v"]
    if type(v) is not list:
        raise ValueError(f"{obj[TAG]!r} payload must be a list")
    return v


def _decode_float(obj: dict[str, Any]) -> float:
    v = _payload_str(obj)
    if v not in ("nan", "inf", "-inf"):
        raise ValueError(f"bad float {v!r}")
    return float(v)


def _decode_dict(obj: dict[str, Any]) -> dict[Any, Any]:
    out = {}
    for pair in _payload_list(obj):
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("dict payload must hold [key, value] pairs")
        out[pair[0]] = pair[1]
    return out


def _decode_datetime(obj: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(_payload_str(obj))
    if "tz" in obj:
        value = value.replace(tzinfo=ZoneInfo(obj["tz"]))
    if obj.get("fold"):
        value = value.replace(fold=1)
    return value


def _decode_time(obj: dict[str, Any]) -> dt.time:
    value = dt.time.fromisoformat(_payload_str(obj))
    return value.replace(fold=1) if obj.get("fold") else value


def _decode_timedelta(obj: dict[str, Any]) -> dt.timedelta:
    days, seconds, micro = _payload_list(obj)
    if not all(type(x) is int for x in (days, seconds, micro)):
        raise ValueError("timedelta payload must be three integers")
    return dt.timedelta(days=days, seconds=seconds, microseconds=micro)


def _decode_complex(obj: dict[str, Any]) -> complex:
    re, im = _payload_list(obj)
    if type(re) is not float or type(im) is not float:
        raise ValueError("complex payload must be two floats")
    return complex(re, im)


def _decode_decimal(obj: dict[str, Any]) -> decimal.Decimal:
    try:
        return decimal.Decimal(_payload_str(obj))
    except decimal.InvalidOperation:
        raise ValueError("bad decimal") from None


def _numpy_for(obj: dict[str, Any]) -> tuple[Any, Any]:
    dtype = obj["dtype"]
    if (
        type(dtype) is not str
        or len(dtype) < 3
        or dtype[0] not in "<>|="
        or dtype[1] not in _NUMPY_KINDS
        or not dtype[2:].isdigit()
    ):
        raise ValueError(f"bad numpy dtype {dtype!r}")
    try:
        import numpy as np
    except ImportError:
        raise ValueError("this stored value holds numpy data, and numpy is not installed") from None
    return np, np.dtype(dtype)


def _decode_np(obj: dict[str, Any]) -> Any:
    v = obj["v"]
    if type(v) not in (bool, int, float, complex, str):
        raise ValueError("numpy scalar payload must be a number or text")
    _, dtype = _numpy_for(obj)
    return dtype.type(v)


def _decode_ndarray(obj: dict[str, Any]) -> Any:
    np, dtype = _numpy_for(obj)
    shape = obj["shape"]
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("bad ndarray shape")
    return np.array(obj["v"], dtype=dtype).reshape(shape)


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "tuple": lambda o: tuple(_payload_list(o)),
    "set": lambda o: set(_payload_list(o)),
    "frozenset": lambda o: frozenset(_payload_list(o)),
    "bytes": lambda o: base64.b64decode(_payload_str(o), validate=True),
    "bytearray": lambda o: bytearray(base64.b64decode(_payload_str(o), validate=True)),
    "path": lambda o: pathlib.Path(_payload_str(o)),
    "pureposixpath": lambda o: pathlib.PurePosixPath(_payload_str(o)),
    "purewindowspath": lambda o: pathlib.PureWindowsPath(_payload_str(o)),
    "datetime": _decode_datetime,
    "date": lambda o: dt.date.fromisoformat(_payload_str(o)),
    "time": _decode_time,
    "timedelta": _decode_timedelta,
    "float": _decode_float,
    "complex": _decode_complex,
    "decimal": _decode_decimal,
    "int": lambda o: int(_payload_str(o), 16),
    "dict": _decode_dict,
    "np": _decode_np,
    "ndarray": _decode_ndarray,
}


def _object_hook(obj: dict[str, Any]) -> Any:
    if TAG not in obj:
        return obj
    tag = obj[TAG]
    if tag == "tuple" and type(obj.get("v")) is list:
        return tuple(obj["v"])
    decoder = _DECODERS.get(tag) if type(tag) is str else None
    if decoder is None:
        raise ValueError(f"unknown tag {tag!r} in a stored value")
    try:
        return decoder(obj)
    except ValueError:
        raise
    except (KeyError, TypeError, OverflowError, ArithmeticError) as e:
        # A payload that encode() never writes, e.g. an unhashable set item.
        raise ValueError(f"malformed {tag!r} value: {e}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not canonical JSON")


_DECODER = json.JSONDecoder(object_hook=_object_hook, parse_constant=_refuse_constant)
# The scanner itself: JSONDecoder.decode adds two regex matches for surrounding
# whitespace, which canonical text never has.
_scan = _DECODER.scan_once  # type: ignore[attr-defined]  # set in __init__; typeshed omits it


def decode(text: str) -> Any:
    """The value that ``encode`` turned into ``text``; ValueError if it is not one."""
    try:
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            # Surrounding whitespace (not canonical, still fine) or not JSON at all.
            return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("stored value is nested too deeply") from None
    return value
