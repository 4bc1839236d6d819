"""lark's syntax errors -> ``OutflowfileError`` with a message in words.

``syntax_error`` turns the ``UnexpectedInput`` lark raised into an error
located at ``path:line:column``, with a hint where one helps.
"""

from __future__ import annotations

import difflib
import keyword

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from outflowfile.errors import OutflowfileError
from outflowfile.language.directives import DIRECTIVES, POINTERS, TOP_LEVEL_POINTERS
from outflowfile.language.model import Location
from outflowfile.language.source import Source, end_of_code
from outflowfile.language.stagebuild import CONDITION_HINT


def syntax_error(
    exc: UnexpectedInput, source: Source, lines: list[str], path: str
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
    exc: UnexpectedCharacters, source: Source, path: str
) -> OutflowfileError:
    loc = Location(path, exc.line, exc.column)
    # lark declares ``pos_in_stream = None`` on the base class, so its type
    # reads as None; UnexpectedCharacters always sets the int offset.
    start: int = exc.pos_in_stream  # type: ignore[assignment]
    rest = source.text[start : start + 3]
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
    if char.isspace():  # a no-break space, a form feed...: pasted from a document, often
        return "a space outflow does not read as one: write an ordinary space (or a tab)"
    if char.isidentifier():
        return "names are written in ASCII letters, digits and _ (a text in quotes may hold any)"
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
    "INCLUDE": "'include'",
    "AS": "'as'",
    "MAP": "'map'",
    "IF": "'if'",
    "ELSE": "'else'",
    "AND": "'and'",
    "OR": "'or'",
    "NOT": "'not'",
    "COMPARE": "a comparison",
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
_STAGE_WANTED = "expected a stage (a task or workflow name, '(', 'map' or 'if')"
_TOP_KEYWORDS = ("task", "workflow", "config", "include")
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
            line, column = token.line, token.column or 1
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
        return token.line is not None and token.line > self.prev_code[0]

    def position(self, where: str | tuple[int, int]) -> tuple[int, int]:
        if isinstance(where, tuple):
            return where
        if where == _BEFORE or (where == _AUTO and self.on_later_line()):
            return self.prev_code
        line, column = self.token.line, self.token.column
        if self.token.type in ("$END", "_DEDENT") or not line or not column:
            return self.prev_code
        return line, column

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
            if self.kinds[index] in ("TASK", "WORKFLOW", "CONFIG", "INCLUDE"):
                head = index
                break
        if head is None or self.kinds[-1] == "_DEDENT":
            return self.top_level()
        rest = self.stack[head + 1 :]
        if self.kinds[head] == "TASK":
            return self.in_task(rest)
        if self.kinds[head] == "WORKFLOW":
            return self.in_workflow(rest)
        if self.kinds[head] == "INCLUDE":
            return self.in_include()
        return self.in_config(rest)

    def in_include(self) -> _Explained:
        wanted = _expected_words(self.expected)
        if "STRING" in self.expected:
            wanted = "the included file's path (a string)"
        return (
            f"expected {wanted} in the include line, found {self.what}",
            'an include line is include: "path/to/file.of", or with a prefix: '
            'include: "path/to/file.of" as name',
            _AT_TOKEN,
        )

    def generic(self, after: str | None = None) -> _Explained:
        where = f" after {after}" if after else ""
        return (
            f"expected {_expected_words(self.expected)}{where}, found {self.what}",
            None,
            _AT_TOKEN,
        )

    def top_level(self) -> _Explained:
        token = self.token
        message = f"expected 'task', 'workflow', 'config' or 'include', found {self.what}"
        hint = "a line at the left margin starts a task, a workflow, the config block or an include"
        word = str(token)
        if token.type == "NAME" and word in TOP_LEVEL_POINTERS:
            message += ", a Snakemake word"
            hint = TOP_LEVEL_POINTERS[word]
        elif token.type == "NAME" and word in POINTERS and word not in DIRECTIVES:
            message += ", a Snakemake directive"
            hint = f"'{word}:' would go inside a task, and outflow has none: {POINTERS[word]}"
        elif token.type == "NAME":
            close = _closest(word, _TOP_KEYWORDS)
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
            if name not in DIRECTIVES:
                close = _closest(str(name), DIRECTIVES)
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
            if before == "IF" and opener.type == "LPAR":
                return (
                    f"expected a condition in if (...), found {self.what}",
                    CONDITION_HINT,
                    _AUTO,
                )
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
        if last == "AS":
            return (
                f"expected '(' after 'as', found {self.what}",
                "for example: map(samples -> sample) { sort } as (bams = sorted)",
                _AUTO,
            )
        if last == "IF":
            return (
                f"expected '(' and a condition after 'if', found {self.what}",
                "for example: if (reads > 1000) { trim } else { copy }",
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
        token = self.token
        if not rest and str(token) == "file" and token.column == len("config") + 1:
            # "configfile" lexes as the keyword "config" and the name "file".
            return ("expected 'task', 'workflow', 'config' or 'include', found 'configfile', "
                    "a Snakemake word", TOP_LEVEL_POINTERS["configfile"], (token.line or 1, 1))
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


def _closest(word: str, choices: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1)
    return close[0] if close else None
