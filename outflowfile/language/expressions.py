"""Expressions, the one evaluator of the language: computed defaults
(``rg: str = f"@RG\\tID:{sample}"``, ``language/computing.py``) and run-time
conditions (``if (reads > 1000 and not skip) { ... }``, ``graph/expand.py``)
are both parsed, vetted, typed and evaluated here, so that the same text means
the same thing in either place.

The text is parsed by Python's own parser (``ast.parse``, which only
parses) and walked here by a small interpreter that knows a fixed set of
node kinds: literals, names, f-strings, arithmetic, comparisons, ``and`` /
``or`` / ``not``, ``x if c else y``, indexing and slicing, list / tuple /
dict / set displays, and calls to the functions of ``FUNCTIONS``. Anything
else (attribute access, lambdas, comprehensions, names starting with
``__``, calls to other functions) is refused when the text is parsed, with
its place. Values (from ``--config``, a sample sheet, an upstream job) are
data: they are looked up and combined, never parsed or run.

The API::

    expr = parse_expression('f"{sample}.bam"', loc)   # ExpressionError if refused
    expr.names                                        # free names: {"sample"}
    expr.uses()                                       # each name with its place, as written
    expr.evaluate({"sample": "A"})                    # "A.bam"; EvaluationError
    expr.holds({"n": 4})                              # its truth, as Python's `if` takes it
    expr.spelled()                                    # its text, for messages and views
    infer_type(expr, {"sample": TypeRef("str")})      # (type or None, problems)
"""

from __future__ import annotations

import ast
import operator
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from outflowfile.language.model import Location, TypeRef

# Results larger than this (characters or items, bits of an integer) are
# refused: an expression is a parameter, not a computation.
MAX_SIZE = 1_000_000
MAX_INT_BITS = 100_000


class ExpressionError(Exception):
    """An expression that cannot be used, at ``loc``."""

    def __init__(self, message: str, loc: Location, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint


class EvaluationError(ExpressionError):
    """An expression that failed on the values it was given."""


def _stem(path: str) -> str:
    name = posixpath.basename(path)
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def _suffix(path: str) -> str:
    name = posixpath.basename(path)
    dot = name.rfind(".")
    return name[dot:] if dot > 0 else ""


def _join(items: Any, sep: str = "") -> str:
    return str(sep).join(str(item) for item in items)


@dataclass(frozen=True)
class Function:
    call: Callable[..., Any]
    arity: tuple[int, int]  # least and most positional arguments
    result: str | None  # the result's type name when always the same
    takes: tuple[str, ...] = ()  # kinds the first argument may be: "str", "seq", "num"


#: The functions an expression may call, by name.
FUNCTIONS: dict[str, Function] = {
    "len": Function(len, (1, 1), "int", ("str", "seq")),
    "str": Function(str, (0, 1), "str"),
    "int": Function(int, (0, 1), "int", ("str", "num")),
    "float": Function(float, (0, 1), "float", ("str", "num")),
    "bool": Function(bool, (0, 1), "bool"),
    "abs": Function(abs, (1, 1), None, ("num",)),
    "round": Function(round, (1, 2), None, ("num",)),
    "min": Function(min, (1, 1_000), None),
    "max": Function(max, (1, 1_000), None),
    "sum": Function(sum, (1, 1), None, ("seq",)),
    "sorted": Function(sorted, (1, 1), "list", ("str", "seq")),
    "lower": Function(str.lower, (1, 1), "str", ("str",)),
    "upper": Function(str.upper, (1, 1), "str", ("str",)),
    "replace": Function(str.replace, (3, 3), "str", ("str",)),
    "join": Function(_join, (1, 2), "str", ("seq",)),
    "basename": Function(posixpath.basename, (1, 1), "str", ("str",)),
    "dirname": Function(posixpath.dirname, (1, 1), "str", ("str",)),
    "stem": Function(_stem, (1, 1), "str", ("str",)),
    "suffix": Function(_suffix, (1, 1), "str", ("str",)),
}

_BINARY: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_COMPARE: dict[type, tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", lambda a, b: a in b),
    ast.NotIn: ("not in", lambda a, b: a not in b),
}
_ALLOWED = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.And, ast.Or, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice, ast.List, ast.Tuple,
    ast.Dict, ast.Set, ast.JoinedStr, ast.FormattedValue, ast.Call,
    *_BINARY, *_UNARY, *_COMPARE,
)
_REFUSED = {
    ast.Attribute: ("attribute access ('.{attr}') is not allowed in an expression",
                    "use a function: " + ", ".join(sorted(FUNCTIONS))),
    ast.Lambda: ("a lambda is not allowed in an expression", None),
    ast.ListComp: ("a comprehension is not allowed in an expression", None),
    ast.SetComp: ("a comprehension is not allowed in an expression", None),
    ast.DictComp: ("a comprehension is not allowed in an expression", None),
    ast.GeneratorExp: ("a comprehension is not allowed in an expression", None),
    ast.NamedExpr: ("':=' is not allowed in an expression", None),
    ast.Starred: ("'*' unpacking is not allowed in an expression", None),
    ast.Await: ("'await' is not allowed in an expression", None),
}


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed, vetted expression. ``source`` is its text as written;
    ``loc`` where it starts."""

    source: str
    loc: Location
    tree: ast.expr
    names: frozenset[str]
    # How the parsed text lines up with the file: the column of its first
    # line is shifted by this much.
    shift: int

    def where(self, node: ast.AST) -> Location:
        """The file location of a node of ``tree``."""
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) + 1
        if line == 1:
            column += self.shift
        return Location(self.loc.file, self.loc.line + line - 1, max(column, 1))

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """The value over ``values`` (names to data); ``EvaluationError``
        (located) when it cannot be computed."""
        try:
            return _Evaluator(self, values).eval(self.tree)
        except EvaluationError:
            raise
        except RecursionError:
            raise EvaluationError("the expression is nested too deeply", self.loc) from None

    def holds(self, values: Mapping[str, Any]) -> bool:
        """The value as a condition: Python's truth of it (``if (plot)``
        with a bool, ``if (samples)`` with a list)."""
        return bool(self.evaluate(values))

    def uses(self) -> tuple[NameUse, ...]:
        """The names it reads, each where it is written, in the order
        written (a name called as a function is not read)."""
        called = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        found = [n for n in ast.walk(self.tree) if isinstance(n, ast.Name) and id(n) not in called]
        found.sort(key=lambda n: (n.lineno, n.col_offset))
        return tuple(NameUse(n.id, self.where(n)) for n in found)

    def spelled(self) -> str:
        """Its text in Python's spelling, with the parentheses precedence
        needs (and around a comparison under ``not``, as most write it): the
        same text however it was spaced or quoted."""
        return _spell(self.tree)

    def literal(self) -> tuple[bool, Any]:
        """``(True, value)`` when the expression is a plain literal."""
        try:
            return True, ast.literal_eval(self.tree)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False, None


@dataclass(frozen=True)
class NameUse:
    """A name an expression reads, where it is written."""

    name: str
    loc: Location


_IFEXP, _OR, _AND, _NOT, _COMPARISON, _ATOM = range(6)


def _precedence(node: ast.AST) -> int:
    if isinstance(node, ast.IfExp):
        return _IFEXP
    if isinstance(node, ast.BoolOp):
        return _OR if isinstance(node.op, ast.Or) else _AND
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return _NOT
    return _COMPARISON if isinstance(node, ast.Compare) else _ATOM


def _spell(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return repr(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        least = _NOT if _precedence(node.operand) == _NOT else _ATOM
        return f"not {_within(node.operand, least)}"
    if isinstance(node, ast.Compare):
        parts = [_within(node.left, _ATOM)]
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts += [_COMPARE[type(op)][0], _within(right, _ATOM)]
        return " ".join(parts)
    if isinstance(node, ast.BoolOp):
        own = _precedence(node)
        word = " or " if isinstance(node.op, ast.Or) else " and "
        return word.join(_within(v, own + 1) for v in node.values)
    return ast.unparse(node)


def _within(node: ast.AST, least: int) -> str:
    """``node``'s text, in parentheses where it binds less tightly than ``least``."""
    text = _spell(node)
    return f"({text})" if _precedence(node) < least else text


def parse_expression(text: str, loc: Location) -> Expression:
    """Parse and vet ``text``, written at ``loc``; ``ExpressionError`` says
    where and why it is refused."""
    pad = max(loc.column - 2, 0)
    wrapped = "(" + " " * pad + text + "\n)"
    shift = loc.column - 1 - (pad + 1)
    try:
        tree = ast.parse(wrapped, mode="eval").body
    except SyntaxError as exc:
        line, column = exc.lineno or 1, exc.offset or 1
        last = text.count("\n") + 1
        if line > last:  # at the closing parenthesis the wrapping added: the text's end
            line, column = last, len(text.rsplit("\n", 1)[-1]) + 1 + (pad + 1 if last == 1 else 0)
        column += shift if line == 1 else 0
        raise ExpressionError(
            f"invalid expression: {exc.msg}",
            Location(loc.file, loc.line + line - 1, max(column, 1)),
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"invalid expression: {exc}", loc) from None
    expr = Expression(text.strip(), loc, tree, frozenset(), shift)
    names = _vet(expr)
    return Expression(expr.source, loc, tree, frozenset(names), shift)


def _vet(expr: Expression) -> set[str]:
    """The free names of an expression; refuses what it may not hold."""
    for node in ast.walk(expr.tree):
        refused = _REFUSED.get(type(node))
        if refused is not None:
            message, hint = refused
            attr = getattr(node, "attr", "")
            raise ExpressionError(message.format(attr=attr), expr.where(node), hint)
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(
                f"{type(node).__name__} is not allowed in an expression", expr.where(node)
            )
        if isinstance(node, ast.Name):
            if node.id.startswith("__"):
                raise ExpressionError(
                    f"the name '{node.id}' is not allowed in an expression", expr.where(node)
                )
        elif isinstance(node, ast.Call):
            _vet_call(expr, node)
        elif isinstance(node, ast.Constant) and node.value is Ellipsis:
            raise ExpressionError("'...' is not allowed in an expression", expr.where(node))
    called = {id(n.func) for n in ast.walk(expr.tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(expr.tree) if isinstance(n, ast.Name) and id(n) not in called}


def _vet_call(expr: Expression, node: ast.Call) -> None:
    func = node.func
    known = ", ".join(sorted(FUNCTIONS))
    if isinstance(func, ast.Attribute):
        raise ExpressionError(f"attribute access ('.{func.attr}') is not allowed in an expression",
                              expr.where(func), f"use a function: {known}")
    if isinstance(func, ast.Name) and func.id.startswith("__"):
        raise ExpressionError(f"the name '{func.id}' is not allowed in an expression",
                              expr.where(func))
    if not isinstance(func, ast.Name):
        raise ExpressionError("only a function named directly may be called",
                              expr.where(node), f"functions: {known}")
    function = FUNCTIONS.get(func.id)
    if function is None:
        from outflowfile.language.typerules import suggest

        near = suggest(func.id, set(FUNCTIONS))
        hint = f"did you mean '{near}'? " if near else ""
        raise ExpressionError(f"unknown function '{func.id}'", expr.where(func),
                              f"{hint}functions: {known}")
    if node.keywords:
        raise ExpressionError(f"{func.id}() takes no keyword arguments",
                              expr.where(node.keywords[0].value))
    least, most = function.arity
    if not least <= len(node.args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise ExpressionError(
            f"{func.id}() takes {wanted} argument(s), {len(node.args)} given", expr.where(node)
        )


class _Evaluator:
    """One evaluation: ``eval`` a node over the values."""

    def __init__(self, expr: Expression, values: Mapping[str, Any]) -> None:
        self.expr = expr
        self.values = values

    def fail(self, message: str, node: ast.AST, hint: str | None = None) -> EvaluationError:
        return EvaluationError(message, self.expr.where(node), hint)

    def eval(self, node: ast.AST) -> Any:
        method = getattr(self, f"eval_{type(node).__name__}")
        return method(node)

    def eval_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def eval_Name(self, node: ast.Name) -> Any:
        try:
            return self.values[node.id]
        except KeyError:
            raise self.fail(f"name '{node.id}' is not set", node) from None

    def eval_JoinedStr(self, node: ast.JoinedStr) -> str:
        parts = [str(self.eval(v) if not isinstance(v, ast.Constant) else v.value)
                 for v in node.values]
        return self.sized("".join(parts), node)

    def eval_FormattedValue(self, node: ast.FormattedValue) -> str:
        value = self.eval(node.value)
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        elif node.conversion == ord("s"):
            value = str(value)
        spec = self.eval(node.format_spec) if node.format_spec is not None else ""
        try:
            return format(value, spec)
        except (ValueError, TypeError) as exc:
            raise self.fail(f"cannot format {type(value).__name__} with '{spec}': {exc}",
                            node) from None

    def eval_BinOp(self, node: ast.BinOp) -> Any:
        symbol, apply = _BINARY[type(node.op)]
        left, right = self.eval(node.left), self.eval(node.right)
        self.check_size(symbol, left, right, node)
        try:
            return self.sized(apply(left, right), node)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise self.fail(f"cannot compute {_kind(left)} {symbol} {_kind(right)}: {exc}",
                            node) from None

    def check_size(self, symbol: str, left: Any, right: Any, node: ast.AST) -> None:
        if symbol == "**" and _is_number(left) and _is_number(right):
            size = abs(right) * max(int(abs(left)).bit_length(), 1)
            if size > MAX_INT_BITS:
                raise self.fail("the result of '**' would be too large", node)
        if symbol == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and _is_number(count):
                    if len(seq) * max(count, 0) > MAX_SIZE:
                        raise self.fail("the result of '*' would be too large", node)

    def sized(self, value: Any, node: ast.AST) -> Any:
        if isinstance(value, (str, list, tuple)) and len(value) > MAX_SIZE:
            raise self.fail("the result would be too large", node)
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise self.fail("the result would be too large", node)
        return value

    def eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        operand = self.eval(node.operand)
        try:
            return _UNARY[type(node.op)](operand)
        except TypeError as exc:
            raise self.fail(f"cannot apply it to {_kind(operand)}: {exc}", node) from None

    def eval_BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for part in node.values:
            value = self.eval(part)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def eval_Compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node)
            symbol, apply = _COMPARE[type(op)]
            try:
                if not apply(left, right):
                    return False
            except TypeError:
                raise self.fail(f"cannot compare {_shown(left)} {symbol} {_shown(right)} "
                                f"({_kind(left)} and {_kind(right)})", node) from None
            left = right
        return True

    def eval_IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def eval_Subscript(self, node: ast.Subscript) -> Any:
        value = self.eval(node.value)
        key = self.eval(node.slice)
        if not isinstance(value, (str, list, tuple, dict)):
            raise self.fail(f"cannot index {_kind(value)}", node)
        try:
            return value[key]
        except KeyError:
            keys = ", ".join(repr(k) for k in list(value)[:10])
            raise self.fail(f"no key {key!r} in {_name_of(node.value)}", node,
                            f"its keys: {keys}" if keys else "it is empty") from None
        except IndexError:
            raise self.fail(f"index {key!r} is out of range for {_name_of(node.value)} "
                            f"({len(value)} items)", node) from None
        except TypeError as exc:
            raise self.fail(f"cannot index {_kind(value)} with {_kind(key)}: {exc}",
                            node) from None

    def eval_Slice(self, node: ast.Slice) -> slice:
        def part(n: ast.expr | None) -> Any:
            return None if n is None else self.eval(n)

        return slice(part(node.lower), part(node.upper), part(node.step))

    def eval_List(self, node: ast.List) -> list[Any]:
        return [self.eval(e) for e in node.elts]

    def eval_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return tuple(self.eval(e) for e in node.elts)

    def eval_Set(self, node: ast.Set) -> set[Any]:
        try:
            return {self.eval(e) for e in node.elts}
        except TypeError as exc:
            raise self.fail(f"invalid set: {exc}", node) from None

    def eval_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        out = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                raise self.fail("'**' unpacking is not allowed in an expression", node)
            try:
                out[self.eval(key)] = self.eval(value)
            except TypeError as exc:
                raise self.fail(f"invalid dict key: {exc}", key) from None
        return out

    def eval_Call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # vetted by parse_expression
        name = node.func.id
        args = [self.eval(a) for a in node.args]
        try:
            return self.sized(FUNCTIONS[name].call(*args), node)
        except (TypeError, ValueError, OverflowError, AttributeError) as exc:
            shown = ", ".join(_kind(a) for a in args)
            raise self.fail(f"{name}({shown}) failed: {exc}", node) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _kind(value: Any) -> str:
    return type(value).__name__


def _name_of(node: ast.AST) -> str:
    return f"'{node.id}'" if isinstance(node, ast.Name) else "the value"


# ---- types, for --lint -------------------------------------------------------------


Problem = tuple[str, Location, str | None]


def infer_type(
    expr: Expression, types: Mapping[str, TypeRef | None]
) -> tuple[TypeRef | None, list[Problem]]:
    """The type of an expression's value where it can be told (None: not
    known), and its problems: names ``types`` does not hold (the names an
    expression may use, with their declared types), operations on values
    of the wrong type."""
    typer = _Typer(expr, types)
    result = typer.type_of(expr.tree)
    return result, typer.problems


_NUMERIC = ("int", "float")
_SEQUENCES = ("list", "tuple", "set", "dict", "table", "str")


class _Typer:
    def __init__(self, expr: Expression, types: Mapping[str, TypeRef | None]) -> None:
        self.expr = expr
        self.types = types
        self.problems: list[Problem] = []

    def add(self, message: str, node: ast.AST, hint: str | None = None) -> None:
        self.problems.append((message, self.expr.where(node), hint))

    def type_of(self, node: ast.AST) -> TypeRef | None:
        method = getattr(self, f"type_{type(node).__name__}", None)
        if method is None:
            for child in ast.iter_child_nodes(node):
                self.type_of(child)
            return None
        found: TypeRef | None = method(node)
        if found is not None and found.name == "any":
            return None
        return found

    def type_Constant(self, node: ast.Constant) -> TypeRef | None:
        if node.value is None:
            return None
        return TypeRef(type(node.value).__name__)

    def type_Name(self, node: ast.Name) -> TypeRef | None:
        if node.id not in self.types:
            from outflowfile.language.typerules import suggest

            near = suggest(node.id, set(self.types))
            known = ", ".join(sorted(self.types)) or "none"
            hint = f"did you mean '{near}'? " if near else ""
            self.add(f"unknown name '{node.id}' in an expression", node,
                     f"{hint}it may use the task's inputs and config entries ({known})")
            return None
        found = self.types[node.id]
        return TypeRef("str") if found is not None and found.name == "path" else found

    def type_JoinedStr(self, node: ast.JoinedStr) -> TypeRef:
        for value in node.values:
            self.type_of(value)
        return TypeRef("str")

    def type_BinOp(self, node: ast.BinOp) -> TypeRef | None:
        left, right = self.type_of(node.left), self.type_of(node.right)
        if left is None or right is None:
            return None
        symbol = _BINARY[type(node.op)][0]
        a, b = left.name, right.name
        if a in _NUMERIC and b in _NUMERIC:
            return TypeRef("float" if "float" in (a, b) or symbol == "/" else "int")
        if symbol == "+" and a == b and a in ("str", "list", "tuple"):
            return left
        if symbol == "*" and {a, b} in ({"str", "int"}, {"list", "int"}):
            return left if a != "int" else right
        if symbol == "%" and a == "str":
            return left
        self.add(f"cannot compute {a} {symbol} {b}", node,
                 "convert one side first, for example str(n) or int(text)")
        return None

    def type_UnaryOp(self, node: ast.UnaryOp) -> TypeRef | None:
        operand = self.type_of(node.operand)
        if isinstance(node.op, ast.Not):
            return TypeRef("bool")
        if operand is not None and operand.name not in _NUMERIC + ("bool",):
            self.add(f"cannot negate {operand.name}", node)
            return None
        return operand

    def type_BoolOp(self, node: ast.BoolOp) -> TypeRef | None:
        found = {str(self.type_of(v)) for v in node.values}
        return TypeRef("bool") if found == {"bool"} else None

    def type_Compare(self, node: ast.Compare) -> TypeRef:
        self.type_of(node.left)
        for comparator in node.comparators:
            self.type_of(comparator)
        return TypeRef("bool")

    def type_IfExp(self, node: ast.IfExp) -> TypeRef | None:
        self.type_of(node.test)
        body, orelse = self.type_of(node.body), self.type_of(node.orelse)
        return body if body == orelse else None

    def type_Subscript(self, node: ast.Subscript) -> TypeRef | None:
        value = self.type_of(node.value)
        self.type_of(node.slice)
        if value is None:
            return None
        if value.name not in _SEQUENCES:
            self.add(f"cannot index {value}", node)
            return None
        if isinstance(node.slice, ast.Slice) or value.name == "str":
            return value if value.name != "dict" else None
        if value.name == "dict":
            return value.args[1] if len(value.args) == 2 else None
        if value.name == "table":
            return TypeRef("dict", (TypeRef("str"), TypeRef("any")))
        return value.args[0] if len(value.args) == 1 else None

    def type_List(self, node: ast.List) -> TypeRef:
        for e in node.elts:
            self.type_of(e)
        return TypeRef("list")

    def type_Tuple(self, node: ast.Tuple) -> TypeRef:
        for e in node.elts:
            self.type_of(e)
        return TypeRef("tuple")

    def type_Set(self, node: ast.Set) -> TypeRef:
        for e in node.elts:
            self.type_of(e)
        return TypeRef("set")

    def type_Dict(self, node: ast.Dict) -> TypeRef:
        for part in [*node.keys, *node.values]:
            if part is not None:
                self.type_of(part)
        return TypeRef("dict")

    def type_Call(self, node: ast.Call) -> TypeRef | None:
        assert isinstance(node.func, ast.Name)
        function = FUNCTIONS[node.func.id]
        args = [self.type_of(a) for a in node.args]
        first = args[0] if args else None
        if first is not None and function.takes and not _takes(function.takes, first):
            wants = " or ".join({"seq": "a list", "num": "a number", "str": "a str"}[k]
                                for k in function.takes)
            self.add(f"{node.func.id}() expects {wants}, not {first}", node.args[0])
        if node.func.id in ("min", "max", "abs") and len(args) > 1:
            return args[0] if all(a == args[0] for a in args) else None
        return TypeRef(function.result) if function.result else None


def _takes(kinds: tuple[str, ...], t: TypeRef) -> bool:
    name = t.name
    return (("str" in kinds and name in ("str", "path"))
            or ("seq" in kinds and name in _SEQUENCES)
            or ("num" in kinds and name in _NUMERIC + ("bool",)))
