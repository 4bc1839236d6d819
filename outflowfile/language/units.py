"""Memory sizes and durations as people write them in an Outflowfile.

``mem:`` takes a whole number of megabytes or a string with a unit
(``"500M"``, ``"4G"``, ``"1.5GB"``, ``"2T"``); units are binary, as in Slurm
(``1M`` = 1024**2 bytes). ``time:`` takes a whole number of minutes or a string:
``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``, ``"1h30m"``, or Slurm's clock forms
``"M"``, ``"M:S"``, ``"H:M:S"``, ``"D-H"``, ``"D-H:M"``, ``"D-H:M:S"``.

Every parser raises ``ValueError`` with a message fit to show the user.
"""

from __future__ import annotations

import math
import re

_MEM_UNITS = {
    "": 1024**2,  # a bare number means megabytes
    "b": 1,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
    "p": 1024**5,
}
_MEM_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgtp]?)(i?b)?\s*\Z", re.IGNORECASE)
_MEM_EXAMPLES = 'a number of megabytes, or a size such as "500M", "4G", "1.5GB", "2T"'

_TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TIME_PART_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)", re.IGNORECASE)
_TIME_WORDS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "week": "w", "weeks": "w",
}  # fmt: skip
_CLOCK_RE = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?\Z")
_TIME_EXAMPLES = (
    'a number of minutes, or a duration such as "90s", "30m", "2h", "1d", "1:30:00" or "2-00:00:00"'
)


def parse_mem(value: int | str) -> int:
    """A memory size in bytes: an int is megabytes, a string may carry a unit."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"mem: expected {_MEM_EXAMPLES}, got {value!r}")
    if isinstance(value, int):
        size = value * _MEM_UNITS[""]
    else:
        match = _MEM_RE.match(value)
        if match is None:
            raise ValueError(f"mem: cannot read {value!r} as a size; expected {_MEM_EXAMPLES}")
        number, unit, suffix = match.groups()
        if suffix and not unit and suffix.lower() != "b":
            raise ValueError(f"mem: cannot read {value!r} as a size; expected {_MEM_EXAMPLES}")
        scale = _MEM_UNITS["b" if suffix and not unit else unit.lower()]
        size = math.ceil(float(number) * scale)
    if size <= 0:
        raise ValueError(f"mem: must be more than zero, got {value!r}")
    return size


def parse_time(value: int | str) -> int:
    """A duration in seconds: an int is minutes, a string may carry units."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"time: expected {_TIME_EXAMPLES}, got {value!r}")
    seconds: int | None
    if isinstance(value, int):
        seconds = value * 60
    else:
        text = value.strip()
        seconds = _clock_seconds(text)
        if seconds is None:
            seconds = _unit_seconds(text)
        if seconds is None:
            raise ValueError(
                f"time: cannot read {value!r} as a duration; expected {_TIME_EXAMPLES}"
            )
    if seconds <= 0:
        raise ValueError(f"time: must be more than zero, got {value!r}")
    return seconds


def _clock_seconds(text: str) -> int | None:
    """Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S."""
    match = _CLOCK_RE.match(text)
    if match is None:
        return None
    days, first, second, third = match.groups()
    if days is None:
        if second is None:
            return int(first) * 60  # "90": minutes
        if third is None:
            return int(first) * 60 + int(second)  # "45:00": minutes:seconds
        return int(first) * 3600 + int(second) * 60 + int(third)
    hours = int(days) * 24 + int(first)
    return hours * 3600 + int(second or 0) * 60 + int(third or 0)


def _unit_seconds(text: str) -> int | None:
    """``"90s"``, ``"1.5h"``, ``"1h30m"``, ``"2 days"``."""
    pos, total, found = 0, 0.0, False
    compact = text.replace(" ", "")
    while pos < len(compact):
        match = _TIME_PART_RE.match(compact, pos)
        if match is None:
            return None
        unit = _TIME_WORDS.get(match.group(2).lower())
        if unit is None:
            return None
        total += float(match.group(1)) * _TIME_UNITS[unit]
        pos, found = match.end(), True
    return math.ceil(total) if found else None


def format_mem(size: int) -> str:
    """Bytes as the largest exact unit: ``4294967296`` -> ``"4G"``; sizes below
    a kilobyte, or not a whole number of kilobytes, stay in bytes (``"100B"``)."""
    for unit in ("P", "T", "G", "M", "K"):
        scale = _MEM_UNITS[unit.lower()]
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size}B"


def format_time(seconds: int) -> str:
    """Seconds in Slurm's clock form: ``5400`` -> ``"1:30:00"``,
    ``172800`` -> ``"2-00:00:00"``."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours}:{minutes:02d}:{secs:02d}"
