"""Outflowfile text -> ``outflowfile.language.model.Outflowfile``.

``parse(text, path)`` is the only entry point. It raises ``OutflowfileError``
for every problem, located at ``path:line:column`` (1-based); no lark object
or exception ever leaves this module or ``outflowfile.language.transform``.

How it works:

1. A pre-pass over the lines (``_prepare``) finds each ``run:`` block (arbitrary
   Python, which the grammar cannot tokenise), records it by line number and
   blanks it in the text handed to lark, so every other line and column stays
   where it was. It also rejects indentation that mixes tabs and spaces.
2. lark (LALR, built once per process) parses the rest with
   ``grammar/outflowfile.lark``. Its tokens come from
   ``outflowfile.language.lexer.OutflowLexer``: what lark's contextual lexer would
   give, with line breaks turned into ``_INDENT``/``_DEDENT`` tokens (ignored
   inside ``(...)``, ``[...]`` and ``{...}``), about twice as fast. A valid
   file is read by ``outflowfile.language.lalr`` instead: the same lexer and tables in
   one loop, the same tree, faster again; lark reads the rest and its errors.
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
- A ``run:`` block is the code on the ``run:`` line (``run: return x + 1``),
  or else the lines after it indented deeper than ``run:``, plus any line
  that starts inside a triple-quoted string of the block; blank and comment
  lines inside it belong to it, trailing ones do not. ``RunBody.code`` is the
  block dedented, ``RunBody.first_line`` the file line of its first line.
- A file indents with tabs or with spaces, not both.
- ``map(...)`` options keep the literal written (``MapOption("mem", "4G")``),
  checked like the directive of the same name.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib.resources
import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from outflowfile.errors import OutflowfileError
from outflowfile.language import lalr
from outflowfile.language.lexer import IndentError, OutflowLexer
from outflowfile.language.model import Location, Outflowfile

__all__ = ["parse"]


def parse(text: str, path: str) -> Outflowfile:
    """Parse an Outflowfile's text; ``path`` names it in locations."""
    with _collection_paused():
        return _parse(text, path)


def _parse(text: str, path: str) -> Outflowfile:
    from outflowfile.language.transform import build

    source = _Source.of(text)
    prepared = _prepare(source, path)
    tree = _parse_tree(prepared.text, source, path)
    try:
        return build(tree, path, prepared.run_blocks)
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


# ---- source text ------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """The text as lark sees it (``\\r\\n`` -> ``\\n``, a final newline) and its
    lines, with whether each line starts inside a triple-quoted string."""

    text: str
    lines: list[str]
    in_string: list[bool]

    @classmethod
    def of(cls, text: str) -> _Source:
        text = text.replace("\r\n", "\n")
        if not text.endswith("\n"):
            text += "\n"
        lines = text.split("\n")[:-1]
        if '"""' not in text and "'''" not in text:  # no string spans lines
            return cls(text, lines, [False] * len(lines))
        return cls(text, lines, _string_starts(lines))


_QUOTE_OR_COMMENT = re.compile(r"#|'''|\"\"\"|'|\"")
_STRING_END = {
    '"': re.compile(r'(?:[^"\\]|\\.)*"'),
    "'": re.compile(r"(?:[^'\\]|\\.)*'"),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""'),
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''"),
}


def _string_starts(lines: list[str]) -> list[bool]:
    """For each line, whether it starts inside a triple-quoted string (in the
    Outflowfile itself or in a ``run:`` block: both use Python's quoting)."""
    starts = []
    open_quote: str | None = None
    for line in lines:
        starts.append(open_quote is not None)
        if open_quote is None and '"' not in line and "'" not in line:
            continue
        open_quote = _scan_line(line, open_quote)
    return starts


def _scan_line(line: str, open_quote: str | None) -> str | None:
    """The triple quote left open at the end of ``line``, if any."""
    pos = 0
    while True:
        if open_quote is not None:
            end = _STRING_END[open_quote].match(line, pos)
            if end is None:
                return open_quote
            pos, open_quote = end.end(), None
            continue
        found = _QUOTE_OR_COMMENT.search(line, pos)
        if found is None or found.group() == "#":
            return None
        quote = found.group()
        if len(quote) == 3:
            pos, open_quote = found.end(), quote
            continue
        end = _STRING_END[quote].match(line, found.end())
        if end is None:
            return None  # an unterminated one-line string: the lexer reports it
        pos = end.end()


def end_of_code(line: str) -> int:
    """The 1-based column just after the last character of code on ``line``
    (before any trailing comment)."""
    pos, end = 0, 0
    while True:
        found = _QUOTE_OR_COMMENT.search(line, pos)
        if found is None or found.group() == "#":
            stop = len(line) if found is None else found.start()
            code = line[:stop].rstrip()
            return max(len(code), end) + 1
        closing = _STRING_END[found.group()].match(line, found.end())
        if closing is None:
            return len(line.rstrip()) + 1
        pos = end = closing.end()


# ---- the run: pre-pass --------------------------------------------------------


@dataclass
class RunBlock:
    """A ``run:`` block found by the pre-pass. ``line`` is the line of ``run:``.
    ``wrapped`` is the block as the body of a function, its lines in their
    original columns; its line N is line ``N + line_offset`` of the file."""

    line: int
    code: str
    first_line: int
    column: int
    wrapped: str
    line_offset: int


@dataclass
class _Prepared:
    text: str
    run_blocks: dict[int, RunBlock] = field(default_factory=dict)


_RUN_LINE = re.compile(r"([\t ]+)(run[\t ]*:)(.*)\Z")
_TASK_LINE = re.compile(r"task\b")
RUN_FUNCTION = "__outflow_run__"


def _prepare(source: _Source, path: str) -> _Prepared:
    """Find and blank the ``run:`` blocks; check the indentation characters."""
    lines, in_string = source.lines, source.in_string
    out = list(lines)
    blocks: dict[int, RunBlock] = {}
    indenter = _IndentChars(path)
    in_task = seen_code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        code = line.lstrip(" \t")
        if in_string[i] or not code or code[0] == "#":
            i += 1
            continue
        indent = line[: len(line) - len(code)]
        if indent and not seen_code:
            raise OutflowfileError(
                "unexpected indentation",
                loc=Location(path, i + 1, len(indent) + 1),
                hint="the first line starts at the left margin",
            )
        seen_code = True
        if not indent:
            in_task = _TASK_LINE.match(code) is not None
            i += 1
            continue
        indenter.check(indent, i + 1)
        match = _RUN_LINE.match(line) if in_task and code.startswith("run") else None
        if match is None:
            i += 1
            continue
        last = _block_end(lines, in_string, i, len(indent), indenter)
        blocks[i + 1] = _run_block(source, i, last, match, path)
        out[i] = line[: match.end(2)]
        for j in range(i + 1, last + 1):
            out[j] = ""
        i = last + 1
    if not blocks:
        return _Prepared(source.text)
    return _Prepared("\n".join(out) + "\n", blocks)


def _block_end(
    lines: list[str], in_string: list[bool], start: int, width: int, indenter: _IndentChars
) -> int:
    """The index of the last line of the block under line ``start``: the lines
    indented deeper, with blank and comment lines inside it."""
    last = start
    for j in range(start + 1, len(lines)):
        if in_string[j]:
            last = j
            continue
        line = lines[j]
        code = line.lstrip(" \t")
        if not code or code[0] == "#":
            continue
        indent = len(line) - len(code)
        if indent <= width:
            break
        indenter.check(line[:indent], j + 1)
        last = j
    return last


def _run_block(source: _Source, i: int, last: int, match: re.Match[str], path: str) -> RunBlock:
    lines = source.lines
    same_line = match.group(3)
    code_start = match.start(3) + len(same_line) - len(same_line.lstrip())
    inline = same_line.strip()
    if inline and not inline.startswith("#"):
        if last > i:
            raise OutflowfileError(
                "code on the same line as 'run:' cannot continue on indented lines",
                loc=Location(path, i + 2, 1),
                hint="put all of the block's code on the lines under 'run:'",
            )
        spaced = lines[i][: match.start(2)] + " " * len(match.group(2)) + lines[i][match.end(2) :]
        wrapped = f"def {RUN_FUNCTION}():\n{spaced}\n"
        return RunBlock(i + 1, inline.rstrip(), i + 1, code_start + 1, wrapped, i - 1)
    body = lines[i + 1 : last + 1]
    first = next((k for k, text in enumerate(body) if text.strip()), None)
    if first is None:
        return RunBlock(i + 1, "", i + 1, len(match.group(1)) + 1, "", 0)
    code_line = body[first]
    column = len(code_line) - len(code_line.lstrip(" \t")) + 1
    wrapped = f"def {RUN_FUNCTION}():\n" + "\n".join(body) + "\n"
    start = i + 1 + first
    code = _dedent(body[first:], source.in_string[start : last + 1])
    return RunBlock(i + 1, code, start + 1, column, wrapped, i)


def _dedent(body: list[str], in_string: list[bool]) -> str:
    """Remove the common indentation of the code lines, as ``textwrap.dedent``
    would, but leave the lines inside a string alone unless they have it, and
    let comment lines indented less than the code lose all of theirs."""
    margins = [
        text[: len(text) - len(text.lstrip(" \t"))]
        for text, quoted in zip(body, in_string, strict=True)
        if not quoted and text.strip() and not text.lstrip(" \t").startswith("#")
    ]
    margin = _common_prefix(margins)
    out = []
    for text, quoted in zip(body, in_string, strict=True):
        if quoted:
            out.append(text[len(margin) :] if text.startswith(margin) else text)
        elif not text.strip():
            out.append("")
        elif text.startswith(margin):
            out.append(text[len(margin) :])
        elif text.lstrip(" \t").startswith("#"):
            out.append(text.lstrip(" \t"))
        else:
            out.append(text)
    return "\n".join(out).rstrip("\n")


def _common_prefix(items: list[str]) -> str:
    if not items:
        return ""
    low, high = min(items), max(items)
    size = 0
    while size < len(low) and low[size] == high[size]:
        size += 1
    return low[:size]


class _IndentChars:
    """Remembers whether the file indents with tabs or spaces, and complains
    at the first line that does otherwise."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.char: str | None = None
        self.first_line = 0

    def check(self, indent: str, line: int) -> None:
        if self.char is None:
            self.char = indent[0]
            self.first_line = line
        bad = indent.find("\t" if self.char == " " else " ")
        if bad < 0:
            return
        used, other = ("spaces", "tabs") if self.char == " " else ("tabs", "spaces")
        raise OutflowfileError(
            f"inconsistent indentation: this line is indented with {other}, "
            f"but line {self.first_line} is indented with {used}",
            loc=Location(self.path, line, bad + 1),
            hint=f"indent every line with {used} (or every line with {other})",
        )


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


def _parse_tree(text: str, source: _Source, path: str) -> Tree:
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
        error = _syntax_error(exc, source, text.split("\n"), path)
    # Raised here, outside the handlers, so that no lark exception (and the
    # parser state it holds) rides along as the error's __context__.
    raise error


def _syntax_error(
    exc: UnexpectedInput, source: _Source, lines: list[str], path: str
) -> OutflowfileError:
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_characters(exc, source, path)
    if isinstance(exc, UnexpectedToken):
        try:
            message, hint, (line, column) = describe_unexpected_token(exc, lines)
        except Exception:  # noqa: BLE001 - a plainer message beats a crash here
            token = exc.token
            message, hint = f"unexpected {_found(token)}", None
            line, column = max(token.line or 1, 1), max(token.column or 1, 1)
        return OutflowfileError(message, loc=Location(path, line, column), hint=hint)
    line, column = max(getattr(exc, "line", 1), 1), max(getattr(exc, "column", 1), 1)
    return OutflowfileError("unexpected end of the file", loc=Location(path, line, column))


def _unexpected_characters(
    exc: UnexpectedCharacters, source: _Source, path: str
) -> OutflowfileError:
    loc = Location(path, exc.line, exc.column)
    rest = source.text[exc.pos_in_stream : exc.pos_in_stream + 3]
    char = exc.char
    if rest in ('"""', "'''"):
        return OutflowfileError(
            "unterminated triple-quoted string",
            loc=loc,
            hint=f"close it with {rest}",
        )
    if char in "\"'":
        return OutflowfileError(
            "unterminated string",
            loc=loc,
            hint=f"close it with {char} on the same line, or use {char * 3} for several lines",
        )
    if char == "\t" or char == " ":
        return OutflowfileError("unexpected whitespace", loc=loc)
    shown = repr(char) if char.isprintable() else f"character U+{ord(char):04X}"
    return OutflowfileError(f"unexpected {shown}", loc=loc, hint=_hint_for_char(char))


def _hint_for_char(char: str) -> str | None:
    if char == "\\":
        return "a backslash may only end a line (to continue it)"
    if char == "-":
        return "'-' only belongs to '->' and to negative numbers; write a name with '-' in quotes"
    if char in "“”‘’":
        return "use plain quotes: \" or '"
    return None


# ---- syntax errors in words ----------------------------------------------------
#
# lark reports the token it could not use, the terminals it expected and the
# parser's value stack: the unreduced prefix of the construct being read
# (keyword tokens, names, brackets, finished sub-trees). The stack says where
# we are (task header, a directive's value, a map's body...), which is what
# a precise message needs.

_OPENERS = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_CLOSERS = frozenset({"RPAR", "RSQB", "RBRACE"})
_VALUE_STARTS = frozenset(
    {"STRING", "NUMBER", "TRUE", "FALSE", "NONE", "LSQB", "LPAR", "LBRACE", "GLOB"}
)
_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "CALLREF": "package.module:function",
    "TRUE": "True",
    "FALSE": "False",
    "NONE": "None",
    "CONFIG": "'config'",
    "TASK": "'task'",
    "WORKFLOW": "'workflow'",
    "MAP": "'map'",
    "GLOB": "'glob'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COLON": "':'",
    "COMMA": "','",
    "EQUAL": "'='",
    "_ARROW": "'->'",
    "_VBAR": "'|'",
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the block",
    "$END": "the end of the file",
}
_STAGE_WANTED = "expected a stage (a task or workflow name, '(' or 'map')"
_TOP_KEYWORDS = ("task", "workflow", "config")
_AT_TOKEN, _BEFORE, _AUTO = "token", "before", "auto"

# (message, hint, where): where is _AT_TOKEN, _BEFORE, _AUTO or a (line, column).
_Explained = tuple[str, "str | None", "str | tuple[int, int]"]


def describe_unexpected_token(
    exc: UnexpectedToken, lines: list[str]
) -> tuple[str, str | None, tuple[int, int]]:
    """A message, a hint and a (line, column) for a token lark could not use."""
    context = _ErrorContext(exc, lines)
    message, hint, where = context.explain()
    return message, hint, context.position(where)


def _kind(item: object) -> str:
    if isinstance(item, Token):
        return item.type
    if isinstance(item, Tree):
        return str(item.data)
    return type(item).__name__


def _found(token: Token) -> str:
    """The unexpected token, in words."""
    kind = token.type
    if kind in ("NAME", "NUMBER", "CALLREF"):
        return f"'{token}'"
    if kind == "STRING":
        return "a string"
    if kind == "_VBAR":
        return "'|'"
    if kind in _WORDS and not kind.isalpha():
        return _WORDS[kind]
    return f"'{token}'" if token.value else _WORDS.get(kind, kind.lower())


def _expected_words(expected: set[str]) -> str:
    words = []
    if expected & _VALUE_STARTS:
        words.append("a value")
    words += sorted({_WORDS[e] for e in expected - _VALUE_STARTS if e in _WORDS and e != "_NL"})
    if "_NL" in expected:
        words.append(_WORDS["_NL"])
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _is_done(item: object, rules: tuple[str, ...]) -> bool:
    """Whether a stack item is a finished piece: one of ``rules``, or one of
    the lists lark builds for repetitions (``__config_plus_1``)."""
    kind = _kind(item)
    return kind in rules or (isinstance(item, Tree) and kind.startswith("__"))


def _last_open_bracket(items: list) -> int | None:
    """The index of the innermost bracket still open in ``items``."""
    depth = 0
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if not isinstance(item, Token):
            continue
        if item.type in _CLOSERS:
            depth += 1
        elif item.type in _OPENERS:
            if not depth:
                return index
            depth -= 1
    return None


class _ErrorContext:
    def __init__(self, exc: UnexpectedToken, lines: list[str]) -> None:
        self.token: Token = exc.token
        self.expected: set[str] = set(exc.expected)
        self.lines = lines
        state = getattr(exc, "state", None)
        self.stack: list = list(getattr(state, "value_stack", None) or [])
        self.kinds = [_kind(item) for item in self.stack]
        self.prev_code = self._previous_code()
        text_size = sum(len(line) for line in lines) + len(lines) - 1
        at_end = self.token.type == "_DEDENT" and (self.token.start_pos or 0) >= text_size
        self.at_end = at_end or self.token.type == "$END"
        self.what = _WORDS["$END"] if at_end else _found(self.token)

    # ---- where ----------------------------------------------------------

    def _previous_code(self) -> tuple[int, int]:
        """The end of the last code before the unexpected token."""
        token = self.token
        if token.type in ("$END", "_DEDENT") or not token.line:
            line, column = len(self.lines) + 1, 1
        else:
            line, column = token.line, token.column
        if line <= len(self.lines):
            before = self.lines[line - 1][: column - 1]
            if before.strip() and token.type != "_NL":
                return line, len(before.rstrip()) + 1
            if token.type == "_NL":
                return line, min(end_of_code(self.lines[line - 1]), column)
        for number in range(min(line - 1, len(self.lines)), 0, -1):
            text = self.lines[number - 1]
            stripped = text.strip()
            if stripped and not stripped.startswith("#"):
                return number, end_of_code(text)
        return 1, 1

    def on_later_line(self) -> bool:
        token = self.token
        if token.type in ("_NL", "_DEDENT", "$END"):
            return True
        return bool(token.line) and token.line > self.prev_code[0]

    def position(self, where: str | tuple[int, int]) -> tuple[int, int]:
        if isinstance(where, tuple):
            return where
        if where == _BEFORE or (where == _AUTO and self.on_later_line()):
            return self.prev_code
        if self.token.type in ("$END", "_DEDENT") or not self.token.line:
            return self.prev_code
        return self.token.line, self.token.column

    # ---- what -----------------------------------------------------------

    def explain(self) -> _Explained:
        if self.token.type == "_INDENT":
            return (
                "unexpected indentation",
                "only the lines inside a 'config:', 'task' or 'workflow' block are indented",
                _AT_TOKEN,
            )
        head = None
        for index in range(len(self.stack) - 1, -1, -1):
            if self.kinds[index] in ("TASK", "WORKFLOW", "CONFIG"):
                head = index
                break
        if head is None or self.kinds[-1] == "_DEDENT":
            return self.top_level()
        rest = self.stack[head + 1 :]
        if self.kinds[head] == "TASK":
            return self.in_task(rest)
        if self.kinds[head] == "WORKFLOW":
            return self.in_workflow(rest)
        return self.in_config(rest)

    def generic(self, after: str | None = None) -> _Explained:
        where = f" after {after}" if after else ""
        return (
            f"expected {_expected_words(self.expected)}{where}, found {self.what}",
            None,
            _AT_TOKEN,
        )

    def top_level(self) -> _Explained:
        token = self.token
        message = f"expected 'task', 'workflow' or 'config', found {self.what}"
        hint = "a line at the left margin starts a task, a workflow or the config block"
        if token.type == "NAME":
            from outflowfile.language.transform import DIRECTIVES

            close = difflib_close(str(token), _TOP_KEYWORDS)
            if close:
                message += f"; did you mean '{close}'?"
            elif token in DIRECTIVES:
                hint = f"'{token}:' belongs inside a task: indent it under the task's header"
        return message, hint, _AT_TOKEN

    # ---- tasks ----------------------------------------------------------

    def in_task(self, rest: list) -> _Explained:
        kinds = [_kind(item) for item in rest]
        if not rest:
            return f"expected a task name after 'task', found {self.what}", None, _AUTO
        if "_NL" not in kinds:
            return self.task_header(rest, kinds)
        if "_INDENT" not in kinds:
            return self.expected_block("the task header")
        body = rest[kinds.index("_INDENT") + 1 :]
        while body and _is_done(body[0], ("directive", "directive_block")):
            body = body[1:]
        if not body:
            return (
                f"expected a directive (such as 'cpus:' or 'run:') or the end of the task, "
                f"found {self.what}",
                None,
                _AT_TOKEN,
            )
        return self.in_directive(body)

    def expected_block(self, after: str) -> _Explained:
        where = _BEFORE if self.token.type in ("$END", "_DEDENT") else _AT_TOKEN
        return (
            f"expected an indented block after {after}",
            "indent the lines that belong to it",
            where,
        )

    def task_header(self, rest: list, kinds: list[str]) -> _Explained:
        opened = _last_open_bracket(rest)
        last = kinds[-1]
        if opened is not None and rest[opened].type == "LPAR":
            inner = rest[opened + 1 :]
            which = "output list" if "_ARROW" in kinds[:opened] else "parameter list"
            return self.in_list(inner, which, rest[opened])
        if opened is not None:
            return self.in_brackets(rest, opened)
        token = self.token
        if last == "EQUAL":
            return self.expected_value("after '='")
        if last == "COLON" and kinds[-2:-1] == ["NAME"]:
            return f"expected a type after ':', found {self.what}", None, _AUTO
        if last == "_ARROW":
            return (
                f"expected the task's outputs after '->', found {self.what}",
                "for example: -> (total: int, mean: float), or one output: -> total",
                _AUTO,
            )
        if token.type == "_NL" and "COLON" in self.expected:
            return "expected ':' after the task header", None, _BEFORE
        if last == "params" or (last == "RPAR" and "_ARROW" not in kinds):
            return (
                f"expected '->' or ':' after the task's parameters, found {self.what}",
                None,
                _AUTO,
            )
        if len(rest) == 1:
            return (
                f"expected '(' and the task's inputs, '->' or ':' after the task name, "
                f"found {self.what}",
                None,
                _AUTO,
            )
        return f"expected ':' after the task header, found {self.what}", None, _AUTO

    def in_list(self, inner: list, which: str, opener: Token) -> _Explained:
        """Inside the parentheses of a task's parameters or outputs."""
        kinds = [_kind(item) for item in inner]
        opened = _last_open_bracket(inner)
        if opened is not None:
            return self.in_brackets(inner, opened)
        last = kinds[-1] if kinds else "LPAR"
        if self.at_end:
            return self.closing(opener, which, "','")
        if last == "COLON":
            return f"expected a type after ':', found {self.what}", None, _AUTO
        if last == "EQUAL":
            return self.expected_value("after '='")
        if last in ("COMMA", "LPAR"):
            return f"expected a name in the {which}, found {self.what}", None, _AUTO
        return self.closing(opener, which, "','")

    def closing(self, opener: Token, what: str, separators: str) -> _Explained:
        close = _OPENERS[opener.type]
        if self.on_later_line():
            hint = None
            if opener.line != self.prev_code[0]:
                hint = f"the '{opener}' on line {opener.line} is not closed"
            article = "" if close == "}" else "a "
            return f"expected {article}'{close}' to close the {what}", hint, _BEFORE
        return (
            f"expected {separators} or '{close}' in the {what}, found {self.what}",
            None,
            _AT_TOKEN,
        )

    def in_directive(self, body: list) -> _Explained:
        name = body[0]
        after = body[1:]
        kinds = [_kind(item) for item in after]
        if not after:
            from outflowfile.language.transform import DIRECTIVES

            if name not in DIRECTIVES:
                close = difflib_close(str(name), DIRECTIVES)
                code = keyword.iskeyword(name) or not close
                guess = f"; did you mean '{close}:'?" if close and not code else ""
                return (
                    f"expected a directive such as 'cpus:' or 'run:', found '{name}'{guess}",
                    "Python code belongs in an indented block under 'run:'" if code else None,
                    (name.line, name.column),
                )
            return (
                f"expected ':' after the directive name '{name}', found {self.what}",
                f"write it as '{name}: value'",
                _AUTO,
            )
        if "_NL" in kinds:  # the block form: one value per indented line
            ends = [i for i, kind in enumerate(kinds) if kind in ("_NL", "_INDENT")]
            after = [item for item in after[ends[-1] + 1 :] if not _is_done(item, ())]
        else:
            after = after[1:]
        if not after:
            return self.expected_value(f"after '{name}:'")
        return self.after_value(after, f"'{name}:'", str(name))

    def after_value(self, part: list, owner: str, name: str = "") -> _Explained:
        """``part``: what was read of a value (or file list) so far."""
        opened = _last_open_bracket(part)
        if opened is not None:
            return self.in_brackets(part, opened)
        kinds = [_kind(item) for item in part]
        token = self.token
        last = kinds[-1]
        if last in ("EQUAL", "COLON"):
            return self.expected_value(f"after '{part[-1]}'")
        if last == "COMMA":
            return f"expected another file after ',', found {self.what}", None, _AUTO
        if last == "GLOB":
            return "expected '(' after 'glob'", 'for example: glob("data/{sample}.txt")', _AUTO
        hint = None
        previous = part[-1]
        if (
            isinstance(previous, Token)
            and previous.type == "NUMBER"
            and token.type == "NAME"
            and token.line == previous.end_line
            and token.column == previous.end_column
        ):
            hint = f'write a value with a unit as a string: {name or "mem"}: "{previous}{token}"'
        elif name in ("input", "output") and token.type == "NAME":
            hint = "separate the files with ','"
        elif token.type == "STRING" and last == "STRING":
            hint = "write the value as one string"
        elif token.type in ("LPAR", "COLON") and last == "NAME":
            hint = "call: takes package.module:function, with no spaces"
        if self.on_later_line():
            return f"expected the end of the line after the value of {owner}", hint, _BEFORE
        return (
            f"expected the end of the line after the value of {owner}, found {self.what}",
            hint,
            _AT_TOKEN,
        )

    def expected_value(self, after: str) -> _Explained:
        return (
            f"expected a value {after}, found {self.what}",
            "a value is a number, a string, True, False, None, a list [...], "
            "a tuple (...) or a dict {...}",
            _AUTO,
        )

    def in_brackets(self, items: list, opened: int) -> _Explained:
        """Inside a literal's (or a type's) brackets."""
        opener = items[opened]
        inner = items[opened + 1 :]
        before = items[opened - 1] if opened else None
        if opener.type == "LSQB" and isinstance(before, Token) and before.type == "NAME":
            if not inner or _kind(inner[-1]) == "COMMA":
                return f"expected a type, found {self.what}", None, _AUTO
            return self.closing(opener, "type's arguments", "','")
        what = {"LPAR": "tuple", "LSQB": "list", "LBRACE": "dict"}[opener.type]
        if before is not None and _kind(before) == "GLOB":
            what = "glob(...)"
        if self.at_end:
            return self.closing(opener, what, "','")
        if not inner or _kind(inner[-1]) in ("COMMA", "COLON"):
            return self.expected_value(f"in the {what}")
        return self.closing(opener, what, "','")

    # ---- workflows ------------------------------------------------------

    def in_workflow(self, rest: list) -> _Explained:
        kinds = [_kind(item) for item in rest]
        token = self.token
        if not rest:
            return f"expected a workflow name after 'workflow', found {self.what}", None, _AUTO
        name = rest[0]
        if len(rest) == 1:
            return f"expected ':' after the workflow name, found {self.what}", None, _AUTO
        pipeline = rest[2:]
        if pipeline and _kind(pipeline[0]) == "_NL":
            if "_INDENT" not in kinds:
                return (
                    f"expected a pipeline after 'workflow {name}:'",
                    "write it on the same line, or on the indented lines below",
                    _BEFORE if token.type in ("$END", "_DEDENT") else _AT_TOKEN,
                )
            pipeline = pipeline[2:]
        if pipeline and _kind(pipeline[-1]) == "_NL":
            return (
                f"a workflow has one pipeline, found {self.what} after it",
                "join the stages with '|'; a line may start with '|' to continue the pipeline",
                _AT_TOKEN,
            )
        if not pipeline:
            return f"expected a pipeline after 'workflow {name}:', found {self.what}", None, _AUTO
        return self.in_pipeline(pipeline)

    def in_pipeline(self, items: list) -> _Explained:
        opened = _last_open_bracket(items)
        token = self.token
        if opened is not None:
            opener = items[opened]
            before = _kind(items[opened - 1]) if opened else ""
            inner = items[opened + 1 :]
            if before == "MAP" and opener.type == "LPAR":
                return self.map_args(inner, opener)
            if before in ("EQUAL", "COMMA", "LSQB", "LPAR", "LBRACE", "COLON") and not (
                opener.type == "LPAR" and before in ("LPAR", "COMMA") and self.in_stage_list(items)
            ):
                return self.in_brackets(items, opened)
            if opener.type == "LBRACE":
                what = "map body"
            else:
                what = "branch"
            if not self.at_end and (not inner or _kind(inner[-1]) in ("_VBAR", "COMMA")):
                return f"{_STAGE_WANTED}, found {self.what}", None, _AUTO
            if what == "map body":
                return self.closing(opener, what, "'|'")
            return self.closing(opener, what, "'|', ','")
        last = _kind(items[-1])
        if last == "RPAR" and self.closes_map_args(items):
            last = "map_args"
        if last == "_VBAR":
            return f"{_STAGE_WANTED} after '|', found {self.what}", None, _AUTO
        if last == "MAP":
            return (
                f"expected '(' or '{{' after 'map', found {self.what}",
                "for example: map(samples -> sample) { count }",
                _AUTO,
            )
        if last == "map_args":
            return (
                f"expected '{{' and a pipeline after map(...), found {self.what}",
                "for example: map(samples -> sample) { count }",
                _AUTO,
            )
        if token.type in ("NAME", "LPAR", "MAP") and not self.on_later_line():
            return (
                f"expected '|' between stages, found {self.what}",
                "the stages of a pipeline are joined with '|'",
                _AT_TOKEN,
            )
        return f"expected '|' or the end of the line, found {self.what}", None, _AUTO

    def closes_map_args(self, items: list) -> bool:
        """Whether the ')' ending ``items`` closes ``map(...)``."""
        depth = 0
        for index in range(len(items) - 2, -1, -1):
            kind = _kind(items[index])
            if kind in _CLOSERS:
                depth += 1
            elif kind in _OPENERS:
                if not depth:
                    return index > 0 and _kind(items[index - 1]) == "MAP"
                depth -= 1
        return False

    def in_stage_list(self, items: list) -> bool:
        """Whether the '(' at the end of ``items``' brackets opens a branch
        (stages) rather than a tuple (a map option's value)."""
        for item in reversed(items):
            kind = _kind(item)
            if kind == "EQUAL":
                return False
            if kind in ("_VBAR", "MAP", "COLON"):
                return True
        return True

    def map_args(self, inner: list, opener: Token) -> _Explained:
        kinds = [_kind(item) for item in inner]
        last = kinds[-1] if kinds else "LPAR"
        if last == "NAME" and len(inner) >= 2 and kinds[-2] == "_ARROW":
            return self.closing(opener, "map(...)", "','")
        if last == "NAME":
            return (
                f"expected '->' in map(source -> target), found {self.what}",
                "or name=value for an option: map(cpus=2) { ... }",
                _AUTO,
            )
        if last == "_ARROW":
            return (
                f"expected the target name after '->' in map(source -> target), found {self.what}",
                None,
                _AUTO,
            )
        if last in ("LPAR", "COMMA"):
            return (
                f"expected 'source -> target' or an option name=value in map(...), "
                f"found {self.what}",
                None,
                _AUTO,
            )
        opened = _last_open_bracket(inner)
        if opened is not None:
            return self.in_brackets(inner, opened)
        if last == "EQUAL":
            return self.expected_value("after '='")
        if last in ("mapping", "option") or kinds[-2:-1] == ["EQUAL"]:
            return self.closing(opener, "map(...)", "','")
        return self.generic()

    # ---- config ---------------------------------------------------------

    def in_config(self, rest: list) -> _Explained:
        kinds = [_kind(item) for item in rest]
        if not rest:
            return f"expected ':' after 'config', found {self.what}", None, _AUTO
        if kinds == ["COLON"]:
            return (
                f"expected the end of the line after 'config:', found {self.what}",
                "config entries go on the indented lines below 'config:'",
                _AT_TOKEN,
            )
        if "_INDENT" not in kinds:
            return self.expected_block("'config:'")
        entry = rest[kinds.index("_INDENT") + 1 :]
        while entry and _is_done(entry[0], ("config_entry",)):
            entry = entry[1:]
        if not entry:
            return f"expected a config name, found {self.what}", None, _AT_TOKEN
        name = entry[0]
        entry_kinds = [_kind(item) for item in entry]
        if "EQUAL" not in entry_kinds:
            opened = _last_open_bracket(entry)
            if opened is not None:
                return self.in_brackets(entry, opened)
            if entry_kinds[-1] == "COLON":
                return f"expected a type after ':', found {self.what}", None, _AUTO
            return (
                f"expected '=' and a value after config name '{name}'",
                f"for example: {name}: int = 2",
                _AUTO,
            )
        value = entry[entry_kinds.index("EQUAL") :]
        if len(value) == 1:
            return self.expected_value(f"for config name '{name}'")
        return self.after_value(value, f"config name '{name}'")


def difflib_close(word: str, choices: tuple[str, ...]) -> str | None:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None
