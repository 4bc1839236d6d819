"""Outflowfile text -> ``outflowfile.language.model.Outflowfile``.

``parse(text, path)`` is the only entry point. It raises ``OutflowfileError``
for every problem, located at ``path:line:column`` (1-based); no lark object
or exception ever leaves the language stage.

How it works:

1. ``outflowfile.language.source`` reads the lines and where triple-quoted
   strings span them; the pre-pass of ``outflowfile.language.runblocks`` finds
   each ``run:`` block (arbitrary Python, which the grammar cannot tokenise),
   records it by line number and blanks it in the text handed to lark, so
   every other line and column stays where it was. It also rejects
   indentation that mixes tabs and spaces.
2. lark (LALR, built once per process) parses the rest with
   ``grammar/outflowfile.lark``. Its tokens come from
   ``outflowfile.language.lexer.OutflowLexer``: what lark's contextual lexer would
   give, with line breaks turned into ``_INDENT``/``_DEDENT`` tokens (ignored
   inside ``(...)``, ``[...]`` and ``{...}``), about twice as fast. A valid
   file is read by ``outflowfile.language.lalr`` instead: the same lexer and tables in
   one loop, the same tree, faster again; lark reads the rest and its errors,
   which ``outflowfile.language.syntaxerrors`` puts in words.
3. ``outflowfile.language.transform.build`` turns the tree into the model, checking
   directive names and values and compiling each distinct ``run:`` block.

Grammar decisions worth knowing:

- A pipeline of one stage is that stage: ``workflow w: a`` has a ``StageRef``
  as its pipeline, ``a | b`` a ``Pipe`` of two stages. Parentheses around one
  pipeline only group it (``(a | b)`` is that ``Pipe``); a comma makes a
  ``Branch`` (``(a, b)``, and ``(a,)`` is a branch of one).
- A pipeline may span lines: a line may end with ``|``, the next line may
  start with ``|``, and line breaks inside ``(...)``/``{...}`` are ignored.
  A backslash at the end of a line also continues it.
- A ``run:`` block: see ``outflowfile.language.runblocks``.
- A file indents with tabs or with spaces, not both.
- ``map(...)`` options keep the literal written (``MapOption("mem", "4G")``),
  checked like the directive of the same name.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib.resources
from collections.abc import Iterator

from lark import Lark, Tree
from lark.exceptions import UnexpectedInput

from outflowfile.errors import OutflowfileError
from outflowfile.language import lalr
from outflowfile.language.lexer import IndentError, OutflowLexer
from outflowfile.language.model import Location, Outflowfile
from outflowfile.language.runblocks import prepare
from outflowfile.language.source import Source
from outflowfile.language.syntaxerrors import syntax_error
from outflowfile.language.transform import build

__all__ = ["parse"]


def parse(text: str, path: str) -> Outflowfile:
    """Parse an Outflowfile's text; ``path`` names it in locations."""
    with _collection_paused():
        return _parse(text, path)


def _parse(text: str, path: str) -> Outflowfile:
    source = Source.of(text)
    prepared = prepare(source, path)
    tree = _parse_tree(prepared.text, source, path)
    try:
        return build(tree, path, prepared.run_blocks, prepared.text)
    except RecursionError:
        raise OutflowfileError(
            "the Outflowfile is nested too deeply to read", loc=Location(path, 1, 1)
        ) from None


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Parsing allocates a few objects per character, none of them in cycles;
    the cyclic garbage collector's passes over them cost a third of the time.
    When the pause ends the tokens and the tree are gone (freed with
    ``_parse``'s frame) and the model is moved out of the collector's way."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        _promote_young_objects()
        if was_enabled:
            gc.enable()


def _promote_young_objects() -> None:
    """Move the objects made while the collector was paused (the model) to its
    oldest generation: the next young collection would otherwise walk all of
    them to get there (0.03 s for 5,000 tasks). Freezing and unfreezing does
    it in constant time. Skipped if the program has frozen objects itself,
    which unfreezing would undo."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


# ---- lark -----------------------------------------------------------------------


@functools.cache
def _lark() -> Lark:
    grammar = importlib.resources.files("outflowfile.language.grammar") / "outflowfile.lark"
    return Lark(
        grammar.read_text(encoding="utf-8"),
        parser="lalr",
        lexer=OutflowLexer,
        maybe_placeholders=True,
        propagate_positions=False,
        cache=True,
    )


@functools.cache
def _tables() -> lalr.Tables:
    return lalr.tables_of(_lark())


def _parse_tree(text: str, source: Source, path: str) -> Tree:
    """The lark tree of ``text`` (``source`` with its run: blocks blanked):
    by the fused loop of ``outflowfile.language.lalr`` if it can, else by lark."""
    with contextlib.suppress(lalr.Fallback):
        return lalr.tree(_tables(), text)
    try:
        return _lark().parse(text)
    except IndentError as exc:
        error = OutflowfileError(
            "this line's indentation does not match any enclosing block",
            loc=Location(path, exc.line, exc.column),
            hint="indent it exactly as much as a line above it at the same level",
        )
    except UnexpectedInput as exc:
        error = syntax_error(exc, source, text.split("\n"), path)
    # Raised here, outside the handlers, so that no lark exception (and the
    # parser state it holds) rides along as the error's __context__.
    raise error
