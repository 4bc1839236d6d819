"""The text of a file the user wrote: an Outflowfile, an included file, a
sample sheet, a config or options file.

A leading UTF-8 byte order mark (what some Windows editors write) is no part
of the text; bytes that are not UTF-8 are an error at their line and column,
not a codec's message about a byte offset.
"""

from __future__ import annotations

from pathlib import Path

from outflowfile.errors import UserError
from outflowfile.language.model import Location

BOM = "\ufeff"


def decode(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text without a leading byte order mark; a located
    ``UserError`` (``name`` is the file shown) at the first byte that is not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(data, exc, name) from None
    return text[1:] if text.startswith(BOM) else text


def read(path: Path | str, name: str | None = None) -> str:
    """The text of ``path`` (see ``decode``); ``OSError`` as ``open`` raises it."""
    with open(path, "rb") as file:
        data = file.read()
    return decode(data, str(path) if name is None else name)


def not_utf8(data: bytes, exc: UnicodeDecodeError, name: str) -> UserError:
    before = data[: exc.start]
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    column = len(before[start:].decode("utf-8", errors="replace")) + 1
    return UserError(
        f"{Path(name).name} is not UTF-8 text: byte 0x{data[exc.start]:02x} here cannot be read",
        loc=Location(name, line, column),
        hint="save the file as UTF-8 (an editor's 'encoding' setting; iconv -f latin1 -t utf-8)",
    )
