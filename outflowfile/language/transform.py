"""The lark tree of an Outflowfile -> the model, with directive and value checks.

Called by ``outflowfile.language.parser.parse`` only. Problems found here (unknown or
repeated directives, bad resource values, a task without a body, Python
syntax errors in ``run:`` blocks...) are collected and raised together as one
``OutflowfileError``, in file order.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import warnings
from collections.abc import Callable
from typing import Any

from lark import Token, Tree

from outflowfile.errors import OutflowfileError, ProblemList
from outflowfile.language import stagebuild
from outflowfile.language.defaults import SourceText, default_value
from outflowfile.language.directives import (
    BODY_DIRECTIVES,
    DIRECTIVES,
    ENVIRONMENT_DIRECTIVES,
    KEYWORDS,
    MAP_OPTIONS,
    POINTERS,
    RESOURCE_DIRECTIVES,
)
from outflowfile.language.directivevalues import EXAMPLES as _EXAMPLES
from outflowfile.language.directivevalues import RESOURCE_PARSERS as _RESOURCE_PARSERS
from outflowfile.language.directivevalues import BareName as _BareName
from outflowfile.language.expressions import ExpressionError
from outflowfile.language.model import (
    NO_DEFAULT,
    Body,
    Branch,
    CallBody,
    Choice,
    ConfigEntry,
    FileSpec,
    Glob,
    Include,
    Location,
    Map,
    MapOption,
    Outflowfile,
    Output,
    Param,
    Pipe,
    Reader,
    Resources,
    RunBody,
    ScriptBody,
    ShellBody,
    Stage,
    StageRef,
    Task,
    TypeRef,
    Workflow,
)
from outflowfile.language.patterns import with_lookups
from outflowfile.language.runblocks import RunBlock
from outflowfile.language.tables import READERS

# A node's children, read by position as the grammar lays them out: a Token,
# a Tree, or None for a missing optional part. lark types each as Token | Tree.
Parts = list[Any]


class _Invalid(Exception):
    """A value that cannot be used; becomes one problem at ``loc``."""

    def __init__(self, message: str, loc: Location, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint


def build(tree: Tree, path: str, run_blocks: dict[int, RunBlock], text: str = "") -> Outflowfile:
    """The model of a parsed file (``text``: what was parsed, for the text of
    computed defaults); raises ``OutflowfileError`` on any problem."""
    builder = _Builder(path, run_blocks, SourceText(text))
    with warnings.catch_warnings():
        # Invalid escapes in strings and code ("\d") are the user's business.
        warnings.simplefilter("ignore")
        model = builder.outflowfile(tree)
    builder.problems.raise_if_any()
    if not (model.config or model.tasks or model.workflows or model.includes):
        raise OutflowfileError(
            "Outflowfile is empty: expected a task or workflow",
            loc=Location(path, 1, 1),
            hint="start with 'task NAME(inputs) -> (outputs):' and a 'workflow NAME:'",
        )
    return model


class _Builder:
    def __init__(self, path: str, run_blocks: dict[int, RunBlock], source: SourceText) -> None:
        self.path = path
        self.run_blocks = run_blocks
        self.source = source
        self.problems = ProblemList()
        self.plain_types: dict[str, TypeRef] = {}
        # Run blocks known to compile: a file's identical blocks compile once.
        self.compiled: set[str] = set()

    def loc(self, token: Token) -> Location:
        line, column = token.line, token.column
        assert line is not None and column is not None  # every lexed token has them
        return Location(self.path, line, column)

    def node_loc(self, node: Tree | Token) -> Location:
        """Where a value or stage starts: its first token."""
        while isinstance(node, Tree):
            node = node.children[0]
        return self.loc(node)

    def report(self, problem: _Invalid) -> None:
        self.problems.add(problem.message, problem.loc, problem.hint)

    # ---- the file ---------------------------------------------------------

    def outflowfile(self, tree: Tree) -> Outflowfile:
        model = Outflowfile(self.path)
        for item in tree.children:
            kind = item.data
            try:
                if kind == "config":
                    model.config.extend(self.config_entry(e) for e in item.children[1:])
                elif kind == "workflow":
                    model.workflows.append(self.workflow(item))
                elif kind == "include":
                    model.includes.append(self.include(item))
                else:
                    task = self.task(item)
                    if task is not None:
                        model.tasks.append(task)
            except _Invalid as problem:
                self.report(problem)
        return model

    def include(self, tree: Tree) -> Include:
        children: Parts = tree.children
        path_token, prefix = children[1], children[-1]
        path = self.string(path_token)
        if not isinstance(path, str) or not path.strip():
            raise _Invalid(
                "include: expects the path of a file, as a non-empty text string",
                self.loc(path_token),
                'write it relative to this file: include: "rules/align.of"',
            )
        return Include(path, str(prefix) if prefix is not None else None, self.loc(path_token))

    def config_entry(self, tree: Tree) -> ConfigEntry:
        children: Parts = tree.children
        name, type_, value = children
        if isinstance(value, Tree) and value.data == "reader":
            parts: Parts = value.children
            default: Any = self.reader(parts[0], parts[1])
        else:
            default = self.value(value)
        return ConfigEntry(
            name=str(name),
            type=self.type_ref(type_) if type_ is not None else None,
            default=default,
            loc=self.loc(name),
        )

    def reader(self, name: Token, node: Any) -> Reader:
        path = self.value(node)
        if str(name) not in READERS:
            raise _Invalid(
                _unknown_name(f"unknown reader '{name}(...)'", str(name), READERS),
                self.loc(name),
                "a config entry may read a file: " + ", ".join(f'{r}("...")' for r in READERS),
            )
        if not isinstance(path, str) or not path.strip():
            raise _Invalid(
                f"{name}() expects the path of a file, as a string",
                self.node_loc(node),
                f'for example: samples: table = {name}("samples.{name}")',
            )
        return Reader(str(name), path, self.loc(name))

    def type_ref(self, node: Tree | Token) -> TypeRef:
        """``int`` (a NAME token) or ``dict[str, int]`` (a ``generic`` tree)."""
        if isinstance(node, Token):
            return self.plain_type(str(node))
        name, *args = node.children
        return TypeRef(str(name), tuple(self.type_ref(a) for a in args))

    def plain_type(self, name: str) -> TypeRef:
        """One ``TypeRef`` per plain type name (they are immutable)."""
        found = self.plain_types.get(name)
        if found is None:
            found = self.plain_types[name] = TypeRef(name)
        return found

    # ---- tasks ------------------------------------------------------------

    def task(self, tree: Tree) -> Task | None:
        children: Parts = tree.children
        name_token, params_tree = children[1], children[2]
        if tree.data == "task_single":
            output_name, output_type = children[3].children[0], children[4]
            outputs = [self.output(output_name, output_type)]
            directives = children[5:]
        else:
            returns = children[3]
            outputs = [self.output(*o.children) for o in _present(returns)]
            directives = children[4:]
        name = str(name_token)
        self.check_name(name_token, "a task")
        params = [self.param(p) for p in _present(params_tree)]
        task = _TaskParts(name, self.loc(name_token))
        for directive in directives:
            try:
                self.directive(task, directive)
            except _Invalid as problem:
                self.report(problem)
        if task.body is None:
            if not task.failed_body:
                self.problems.add(
                    f"task '{name}' has no body",
                    self.loc(name_token),
                    "give it one of 'run:' (Python), 'shell: \"command\"', "
                    "'call: package.module:function' or 'script: \"path/to/script.py\"'",
                )
            return None
        inputs = frozenset(p.name for p in params)
        for specs in (task.input_files, task.output_files):
            for spec in specs:
                spec.pattern = with_lookups(spec.pattern, inputs, spec.loc)
        return Task(
            name=name,
            params=params,
            outputs=outputs,
            body=task.body,
            input_files=task.input_files,
            output_files=task.output_files,
            log=task.log,
            resources=task.resources,
            directive_locs=task.directive_locs,
            loc=task.loc,
        )

    def check_name(self, token: Token, what: str) -> None:
        if token in KEYWORDS:
            raise _Invalid(
                f"'{token}' is a keyword and cannot name {what}",
                self.loc(token),
                "choose another name",
            )

    def check_python_name(self, token: Token, what: str) -> None:
        if keyword.iskeyword(token):
            raise _Invalid(
                f"'{token}' is a Python keyword and cannot name {what}",
                self.loc(token),
                "inputs and outputs are Python names in run: blocks; choose another name",
            )

    def param(self, tree: Tree) -> Param:
        children: Parts = tree.children
        name, type_, default = children
        self.check_python_name(name, "an input")
        value = NO_DEFAULT
        if default is not None:
            try:
                value = default_value(default, self.source, self.path, self.token_value)
            except ExpressionError as exc:
                raise _Invalid(exc.message, exc.loc, exc.hint) from None
        return Param(
            name=str(name),
            type=self.type_ref(type_) if type_ is not None else None,
            default=value,
            loc=self.loc(name),
        )

    def output(self, name: Token, type_: Tree | None) -> Output:
        self.check_python_name(name, "an output")
        return Output(
            name=str(name),
            type=self.type_ref(type_) if type_ is not None else None,
            loc=self.loc(name),
        )

    # ---- directives -------------------------------------------------------

    def directive(self, task: _TaskParts, tree: Tree) -> None:
        children: Parts = tree.children
        name_token, *values = children
        values = [v for v in values if v is not None]
        name = str(name_token)
        loc = self.loc(name_token)
        if name not in DIRECTIVES:
            pointer = POINTERS.get(name)
            if pointer is not None:
                raise _Invalid(f"unknown directive '{name}:'", loc, pointer)
            raise _Invalid(
                _unknown_directive(name), loc, "a task's directives are: " + ", ".join(DIRECTIVES)
            )
        first = task.directive_locs.get(name)
        if first is not None:
            raise _Invalid(
                f"duplicate '{name}:' in task '{task.name}' (first given on line {first.line})",
                loc,
                "give each directive once",
            )
        task.directive_locs[name] = loc
        if name in BODY_DIRECTIVES:
            self.body_directive(task, name_token, values)
            return
        if not values:
            raise _Invalid(f"'{name}:' needs a value", loc, _EXAMPLES.get(name))
        _HANDLERS[name](self, task, name_token, values)

    def body_directive(self, task: _TaskParts, name_token: Token, values: list) -> None:
        name = str(name_token)
        loc = self.loc(name_token)
        if task.body_name is not None:
            task.failed_body = True
            raise _Invalid(
                f"task '{task.name}' has two bodies: '{task.body_name}:' on line "
                f"{task.directive_locs[task.body_name].line} and '{name}:' here",
                loc,
                "a task has exactly one of run:, shell:, call: or script:",
            )
        task.body_name = name
        try:
            if name == "run":
                task.body = self.run_body(task, name_token)
            elif name == "shell":
                task.body = self.shell_body(name_token, values)
            elif name == "script":
                task.body = self.script_body(name_token, values)
            else:
                task.body = self.call_body(name_token, values)
        except _Invalid:
            task.failed_body = True
            raise

    def run_body(self, task: _TaskParts, name_token: Token) -> RunBody:
        block = self.run_blocks.get(name_token.line or 0)
        if block is None or not block.code.strip():
            raise _Invalid(
                "'run:' needs a block of Python code",
                self.loc(name_token),
                "write the code on the lines under 'run:', indented deeper",
            )
        if block.wrapped not in self.compiled:
            _compile_check(block, task.name, self.path)
            self.compiled.add(block.wrapped)
        return RunBody(
            block.code, block.first_line, Location(self.path, block.first_line, block.column)
        )

    def shell_body(self, name_token: Token, values: list) -> ShellBody:
        node = self.single(name_token, values)
        command = self.value(node)
        if not isinstance(command, str):
            raise _Invalid(
                "'shell:' expects a command string",
                self.node_loc(node),
                _EXAMPLES["shell"],
            )
        return ShellBody(command, self.node_loc(node))

    def call_body(self, name_token: Token, values: list) -> CallBody:
        node = self.single(name_token, values)
        text = node if isinstance(node, Token) and node.type == "CALLREF" else None
        if text is None and isinstance(node, Token) and node.type == "STRING":
            text = self.value(node)
        module, _, function = (text or "").partition(":")
        if "-" in module and _is_dotted(module.replace("-", "_")) and _is_dotted(function):
            raise _Invalid(
                f"call: '{module}' is not a Python module name: a name with '-' cannot be imported",
                self.node_loc(node),
                f'to run the file as a script, write script: "{module.replace(".", "/")}.py" '
                "(or rename it with '_' and keep call:)",
            )
        if not (module and function and _is_dotted(module) and _is_dotted(function)):
            raise _Invalid(
                "'call:' expects package.module:function",
                self.node_loc(node),
                _EXAMPLES["call"],
            )
        return CallBody(module, function, self.node_loc(node))

    def script_body(self, name_token: Token, values: list) -> ScriptBody:
        node = self.single(name_token, values)
        path = self.value(node) if isinstance(node, Token) and node.type == "STRING" else None
        if not isinstance(path, str) or not path.strip():
            raise _Invalid(
                "'script:' expects the script's path as a string",
                self.node_loc(node),
                _EXAMPLES["script"],
            )
        return ScriptBody(path, self.node_loc(node))

    def single(self, name_token: Token, values: list) -> Any:
        if not values:
            raise _Invalid(
                f"'{name_token}:' needs a value",
                self.loc(name_token),
                _EXAMPLES.get(str(name_token)),
            )
        if len(values) > 1:
            raise _Invalid(f"'{name_token}:' takes one value", self.node_loc(values[1]))
        if isinstance(values[0], Tree) and values[0].data == "filespecs":
            raise _Invalid(
                f"'{name_token}:' does not name files",
                self.node_loc(values[0]),
                _EXAMPLES.get(str(name_token)),
            )
        return values[0]

    def files(self, task: _TaskParts, name_token: Token, values: list) -> None:
        specs = task.input_files if name_token == "input" else task.output_files
        for node in values:
            if not (isinstance(node, Tree) and node.data == "filespecs"):
                raise _Invalid(
                    f"'{name_token}:' expects named files: name = \"pattern\"",
                    self.node_loc(node),
                    f'for example: {name_token}: text = "data/{{sample}}.txt"',
                )
            for spec in node.children:
                if spec is None:
                    continue
                parts: Parts = spec.children
                spec_name, pattern_node = parts
                flags, pattern_node = self.file_flags(name_token, spec_name, pattern_node)
                pattern = self.value(pattern_node)
                if not isinstance(pattern, str):
                    raise _Invalid(
                        f"the pattern of file '{spec_name}' must be a string",
                        self.node_loc(pattern_node),
                        f'for example: {spec_name} = temp("out/{{sample}}.txt")' if flags else None,
                    )
                self.check_python_name(spec_name, "a file")
                specs.append(
                    FileSpec(
                        str(spec_name),
                        pattern,
                        self.loc(spec_name),
                        temp="temp" in flags,
                        protected="protected" in flags,
                    )
                )

    def file_flags(self, directive: Token, spec_name: Token, node: Any) -> tuple[set[str], Any]:
        """The flags wrapped around a file's pattern (``temp(...)``,
        ``protected(...)``) and the pattern's node inside them."""
        flags: set[str] = set()
        while isinstance(node, Tree) and node.data == "flagged_file":
            parts: Parts = node.children
            word, inner = parts
            name = str(word)
            if name not in FILE_FLAGS:
                raise _Invalid(
                    _unknown_name(f"unknown file flag '{name}(...)'", name, FILE_FLAGS),
                    self.loc(word),
                    'an output file may be temp("...") or protected("...")',
                )
            if directive != "output":
                raise _Invalid(
                    f"{name}() marks an output file, not an {directive} file",
                    self.loc(word),
                    f'write it in output:, for example: output: {spec_name} = {name}("...")',
                )
            if flags:
                raise _Invalid(
                    f"file '{spec_name}' cannot be both temp() and protected()",
                    self.loc(word),
                    "a temporary file is removed, a protected one kept: choose one",
                )
            flags.add(name)
            node = inner
        return flags, node

    def log(self, task: _TaskParts, name_token: Token, values: list) -> None:
        node = self.single(name_token, values)
        value = self.value(node)
        if not isinstance(value, str):
            raise _Invalid(
                "'log:' expects a path pattern string", self.node_loc(node), _EXAMPLES["log"]
            )
        task.log = value

    def resource(self, task: _TaskParts, name_token: Token, values: list) -> None:
        name = str(name_token)
        if name == "envmodules" and len(values) > 1:  # envmodules: "a/1", "b/2"
            node, raw = values[0], tuple(self.bare_or_value(v) for v in values)
        else:
            node = self.single(name_token, values)
            raw = self.bare_or_value(node)
        try:
            value = _RESOURCE_PARSERS[name](raw)
        except ValueError as exc:
            raise _Invalid(str(exc), self.node_loc(node), _EXAMPLES.get(name)) from None
        setattr(task.resources, name, value)

    def bare_or_value(self, node: Any) -> Any:
        """A directive value: a Python literal, or a bare name as a string."""
        if isinstance(node, Token) and node.type in ("NAME", "CALLREF"):
            return _BareName(str(node))
        return self.value(node)

    # ---- workflows --------------------------------------------------------

    def workflow(self, tree: Tree) -> Workflow:
        children: Parts = tree.children
        _, name, pipeline = children
        self.check_name(name, "a workflow")
        return Workflow(str(name), self.stage(pipeline), self.loc(name))

    def stage(self, node: Tree | Token) -> Stage:
        if isinstance(node, Token):
            return StageRef(str(node), self.loc(node))
        kind = node.data
        if kind == "pipeline":
            stages = [self.stage(s) for s in node.children]
            return Pipe(stages, stages[0].loc)
        if kind == "group":
            return self.stage(node.children[1])
        if kind == "branch":
            children: Parts = node.children
            paren, *branches = children
            return Branch([self.stage(b) for b in branches if b is not None], self.loc(paren))
        if kind == "choice":
            return self.choice(node)
        return self.map(node)

    def choice(self, tree: Tree) -> Choice:
        children: Parts = tree.children
        if_token, _, cond_node, _, then, _, _, otherwise = children
        try:
            cond = stagebuild.condition(cond_node, self.source, self.path)
        except ExpressionError as exc:
            raise _Invalid(exc.message, exc.loc, exc.hint) from None
        other = None if otherwise is None else self.stage(otherwise)
        return Choice(cond, self.stage(then), other, cond.spelled(), self.loc(if_token))

    def map(self, tree: Tree) -> Map:
        children: Parts = tree.children
        map_token, args, _, body, _, outputs = children
        source = target = None
        columns: tuple[str, ...] | None = None
        options: list[MapOption] = []
        for arg in _present(args):
            first = arg.children[0]
            if arg.data in _MAPPINGS:
                if source is not None:
                    raise _Invalid(
                        "a map has one 'source -> target' mapping",
                        self.loc(first),
                        "map over one list; zip lists upstream to map over pairs",
                    )
                source, target = str(first), str(arg.children[1])
                if arg.data != "mapping":
                    columns, target = self.columns(arg)
                continue
            if any(option.name == first for option in options):
                raise _Invalid(f"duplicate map option '{first}'", self.loc(first))
            options.append(self.map_option(first, arg.children[1]))
        m = Map(
            source, target, self.stage(body), options, self.loc(map_token),
            stagebuild.map_outputs(outputs, self.loc),
        )  # fmt: skip
        if columns is not None:
            m.columns, m.all_columns = columns, not columns
        return m

    def columns(self, arg: Tree) -> tuple[tuple[str, ...], str]:
        """The columns ``map(rows -> (a, b))`` binds (none for ``*``: all),
        and the target as written."""
        if arg.data == "all_columns":
            return (), "*"
        names = [t for t in arg.children[2:] if isinstance(t, Token) and t.type == "NAME"]
        seen: set[str] = set()
        for token in names:
            self.check_python_name(token, "a column binding")
            if token in seen:
                raise _Invalid(f"column '{token}' is named twice", self.loc(token))
            seen.add(str(token))
        written = tuple(str(t) for t in names)
        return written, f"({', '.join(written)})"

    def map_option(self, name: Token, node: Any) -> MapOption:
        if name not in MAP_OPTIONS:
            raise _Invalid(
                _unknown_name(f"unknown map option '{name}'", str(name), MAP_OPTIONS),
                self.loc(name),
                "map options are: " + ", ".join(MAP_OPTIONS),
            )
        value = self.value(node)
        try:
            parsed = _RESOURCE_PARSERS[str(name)](value)
        except ValueError as exc:
            raise _Invalid(str(exc), self.node_loc(node), _EXAMPLES.get(str(name))) from None
        if name in ENVIRONMENT_DIRECTIVES:  # kept as the task's directive keeps it
            value = parsed
        return MapOption(str(name), value, self.loc(name))

    # ---- Python literals --------------------------------------------------

    def value(self, node: Tree | Token) -> Any:
        if isinstance(node, Token):
            return self.token_value(node)
        kind = node.data
        children: Parts = node.children
        items = [c for c in children[1:] if c is not None]
        if kind == "list":
            return [self.value(c) for c in items]
        if kind == "tuple":
            return tuple(self.value(c) for c in items)
        if kind == "paren":
            return self.value(items[0])
        if kind == "dict":
            return self.dict_value(items)
        if kind == "set":
            return self.set_value(children[0], items)
        if kind == "strings":
            return self.strings(children)
        if kind == "glob":
            return self.glob_value(children[0], items[0])
        raise _Invalid(f"expected a value, found {kind}", self.node_loc(node))

    def token_value(self, token: Token) -> Any:
        kind = token.type
        if kind == "STRING":
            return self.string(token)
        if kind == "NUMBER":
            return self.number(token)
        if kind in _CONSTANTS:
            return _CONSTANTS[kind]
        raise _Invalid(
            f"expected a value (a number, a string, True, False, None, a list...), found '{token}'",
            self.loc(token),
        )

    def string(self, token: Token) -> Any:
        text = str(token)
        quote = text[0]
        if quote in "fF" or (quote not in "\"'" and "f" in text[:2].lower()):
            raise _Invalid(
                "an f-string is an expression: it may only be the default of a task input "
                "or a condition",
                self.loc(token),
                'for example: task t(sample: str, rg: str = f"@RG\\tID:{sample}")',
            )
        if quote in "\"'" and "\\" not in text:
            size = 3 if text.startswith(quote * 3) and len(text) >= 6 else 1
            return text[size:-size]
        try:
            return ast.literal_eval(text)
        except (SyntaxError, ValueError) as exc:
            reason = getattr(exc, "msg", None) or str(exc)
            raise _Invalid(f"invalid string: {reason}", self.loc(token)) from None

    def strings(self, tokens: list[Token]) -> str | bytes:
        """Adjacent string literals, joined as Python joins them."""
        parts = [self.string(token) for token in tokens]
        if len({type(part) for part in parts}) > 1:
            raise _Invalid("cannot join bytes and text strings", self.loc(tokens[0]))
        return parts[0][:0].join(parts)

    def number(self, token: Token) -> int | float:
        text = str(token)
        try:
            return int(text, 0)
        except ValueError as exc:
            if "limit" in str(exc):  # Python's cap on the digits of an int it reads
                raise _Invalid(
                    f"number too long: {len(text)} digits", self.loc(token),
                    "a whole number is read from at most 4300 digits",
                ) from None
        if not any(c in text for c in ".eE") or text.lstrip("+-")[:2].lower() in ("0x", "0o", "0b"):
            raise _Invalid(
                f"invalid number '{text}'",
                self.loc(token),
                "a whole number cannot start with 0 (write 0o10 for an octal number)",
            )
        try:
            return float(text)
        except ValueError:
            raise _Invalid(f"invalid number '{text}'", self.loc(token)) from None

    def dict_value(self, pairs: list[Tree]) -> dict:
        out = {}
        for pair in pairs:
            key_node, value_node = pair.children
            key = self.value(key_node)
            try:
                out[key] = self.value(value_node)
            except TypeError:
                raise _Invalid(
                    f"a dict key must be hashable, not {type(key).__name__}",
                    self.node_loc(key_node),
                ) from None
        return out

    def set_value(self, brace: Token, items: list) -> set:
        try:
            return {self.value(c) for c in items}
        except TypeError as exc:
            raise _Invalid(f"invalid set: {exc}", self.loc(brace)) from None

    def glob_value(self, glob: Token, node: Any) -> Glob:
        pattern = self.value(node)
        if not isinstance(pattern, str):
            raise _Invalid(
                "glob() expects a pattern string",
                self.node_loc(node),
                'for example: glob("data/{sample}.txt")',
            )
        return Glob(pattern, self.loc(glob))


class _TaskParts:
    """What the directives of one task have given so far."""

    def __init__(self, name: str, loc: Location) -> None:
        self.name = name
        self.loc = loc
        self.body: Body | None = None
        self.body_name: str | None = None
        self.failed_body = False
        self.input_files: list[FileSpec] = []
        self.output_files: list[FileSpec] = []
        self.log: str | None = None
        self.resources = Resources()
        self.directive_locs: dict[str, Location] = {}


def _present(tree: Tree | None) -> list:
    return [] if tree is None else [c for c in tree.children if c is not None]


def _is_dotted(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _unknown_directive(name: str) -> str:
    return _unknown_name(f"unknown directive '{name}:'", name, DIRECTIVES)


def _unknown_name(message: str, name: str, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    return f"{message}; did you mean '{close[0]}'?" if close else message


def _compile_check(block: RunBlock, task: str, path: str) -> None:
    try:
        compile(block.wrapped, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.lineno or 0) + block.line_offset
        column = exc.offset or 1
        if line < block.first_line:  # reported on the wrapper line
            line, column = block.first_line, block.column
        raise _Invalid(
            f"Python syntax error in run: block of task '{task}': {exc.msg}",
            Location(path, line, max(column, 1)),
        ) from None
    except ValueError as exc:  # e.g. a NUL character
        raise _Invalid(
            f"Python syntax error in run: block of task '{task}': {exc}",
            Location(path, block.first_line, block.column),
        ) from None


_HANDLERS: dict[str, Callable[[_Builder, _TaskParts, Token, list], None]] = {
    "input": _Builder.files,
    "output": _Builder.files,
    "log": _Builder.log,
    **{name: _Builder.resource for name in (*RESOURCE_DIRECTIVES, *ENVIRONMENT_DIRECTIVES)},
}

# What may wrap an output file's pattern (Snakemake's names).
FILE_FLAGS = ("temp", "protected")

_CONSTANTS = {"TRUE": True, "FALSE": False, "NONE": None}

# The forms of map(source -> ...): one item, named columns, all columns.
_MAPPINGS = ("mapping", "columns", "all_columns")
