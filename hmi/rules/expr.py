"""Compile an expression once, at load: parse (lark), check names and types, build a closure tree.

Nothing is ever handed to Python's ``eval``: the only operations an expression can reach are the
closures built here, over numbers and bools read from a mapping of tag values. The text, the tree's
depth and its size are bounded before anything recursive walks it, so the cost of compiling and of
each evaluation is bounded by the limits. Every problem is reported with its offset in the text,
and compilation goes on after one, so a single check lists them all.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from lark import Token, Tree

from hmi.rules import closures
from hmi.rules.closures import Operand
from hmi.rules.functions import PLAIN, WINDOWS, Kind, WindowFunction, known_names
from hmi.rules.grammar import KEYWORDS
from hmi.rules.parsing import LIMITS, ExprError, Limits, parse, start_of
from hmi.rules.windows import NotReady, Span

Env = Mapping[str, Any]
"""Current value of each tag by name (float for numbers, bool for bools)."""

Evaluate = Callable[[Env], Any]

TIME_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
"""Literal suffixes read as durations, in seconds (``m`` is minutes: there are no lengths in time)."""


@dataclass(frozen=True, slots=True)
class TagType:
    """What an expression needs to know of a tag: its kind and units (empty: unknown)."""

    kind: Kind | None
    """None for a tag an expression cannot use (a string tag)."""
    units: str = ""



class WindowPool:
    """Window instances shared by every expression that asks for the same function of the same tag."""

    def __init__(self) -> None:
        self._windows: dict[tuple[Any, ...], Any] = {}
        self.by_tag: dict[str, list[Any]] = {}

    def get(self, key: tuple[Any, ...], tag: str, build: Callable[[], Any]) -> Any:
        """The window for ``key`` (function, tag, arguments), built the first time it is asked for."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = build()
            self.by_tag.setdefault(tag, []).append(window)
        return window

    def __len__(self) -> int:
        return len(self._windows)

    def items(self) -> list[tuple[tuple[Any, ...], Any]]:
        """Every ``(key, window)``: the key names the function, its tag and its arguments."""
        return list(self._windows.items())


@dataclass(slots=True)
class Expression:
    """A compiled expression: its result kind, the tags it reads, and ``evaluate(env)``.

    ``evaluate`` raises ``NotReady`` while a window has nothing to say or a tag has no value yet,
    and ``ArithmeticError``/``ValueError`` for a division by zero or a domain error.
    """

    text: str
    kind: Kind
    units: str
    inputs: frozenset[str]
    fast: Evaluate
    """The closure tree itself: raises KeyError (not NotReady) for a tag without a value (see NOT_READY)."""
    windows: tuple[tuple[str, Any], ...] = ()
    """The windows it reads, as (tag, window): a tuple, and the empty one shared (no list per expression)."""

    def evaluate(self, env: Env) -> Any:
        """The value for ``env``; NotReady while a window or a tag has no value yet."""
        try:
            return self.fast(env)
        except KeyError:
            raise NotReady from None


@dataclass(slots=True)
class _Node:
    fn: Evaluate
    kind: Kind | None  # None: already reported, check nothing more about it
    units: str = ""
    literal: float | bool | None = None
    literal_units: str | None = None  # the suffix as written, for a literal
    tag: str | None = None  # a plain tag read, inlined by the operators around it
    leaf: closures.Leaf | None = None  # ``tag OP constant``, inlined likewise
    form: closures.Form | None = None  # another shape the node above may compute inline


def _bad() -> _Node:
    return _Node(_fails, None)


def _fails(_env: Env) -> Any:
    raise NotReady


_NUMERIC = re.compile(r"(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
"""The number at the start of a QUANTITY token (its unit, if any, follows)."""


def compile_expression(
    text: str,
    tags: Mapping[str, TagType],
    pool: WindowPool | None = None,
    limits: Limits = LIMITS,
) -> tuple[Expression | None, list[ExprError]]:
    """The compiled expression (None when it has problems) and every problem found."""
    tree, errors = parse(text, limits)
    if tree is None:
        return None, errors
    compiler = _Compiler(tags, pool if pool is not None else WindowPool())
    node = compiler.node(tree)
    errors = compiler.errors
    if errors or node.kind is None:
        return None, sorted(errors, key=lambda e: e.offset)
    windows = tuple(compiler.windows)
    return Expression(text, node.kind, node.units, frozenset(compiler.inputs), node.fn, windows), []


class _Compiler:
    """Turns a checked tree into closures, collecting every problem on the way."""

    def __init__(self, tags: Mapping[str, TagType], pool: WindowPool) -> None:
        self.tags = tags
        self.pool = pool
        self.errors: list[ExprError] = []
        self.inputs: set[str] = set()
        self.windows: list[tuple[str, Any]] = []

    def error(self, at: Tree[Token] | Token | int, message: str) -> _Node:
        self.errors.append(ExprError(at if isinstance(at, int) else start_of(at), message))
        return _bad()

    def node(self, tree: Tree[Token]) -> _Node:
        handler = getattr(self, f"_{tree.data}", None)
        if handler is None:  # a unary plus keeps its operand as it is
            return self.node(_only_tree(tree))
        result: _Node = handler(tree)
        return result

    # -- leaves --------------------------------------------------------------------

    def _number(self, tree: Tree[Token]) -> _Node:
        token = tree.children[0]
        assert isinstance(token, Token)
        text = str(token)
        # The grammar's own number part: an 'e' without exponent digits after it is the unit's ('2em').
        numeric = _NUMERIC.match(text)
        assert numeric is not None  # the QUANTITY token starts with one
        number, suffix = numeric.group(0), text[numeric.end() :]
        value = float(number)
        if not math.isfinite(value):
            return self.error(token, f"the number {text!r} is too large")
        if suffix in TIME_UNITS:
            seconds = value * TIME_UNITS[suffix]
            return _Node(_constant(seconds), Kind.NUMBER, "s", seconds, suffix)
        return _Node(_constant(value), Kind.NUMBER, suffix, value, suffix)

    def _true(self, _tree: Tree[Token]) -> _Node:
        return _Node(_constant(True), Kind.BOOL, literal=True)

    def _false(self, _tree: Tree[Token]) -> _Node:
        return _Node(_constant(False), Kind.BOOL, literal=False)

    def _tag(self, tree: Tree[Token]) -> _Node:
        token = tree.children[0]
        assert isinstance(token, Token)
        name = str(token)
        known = self.tags.get(name)
        if known is None:
            return self.error(token, f"unknown tag {name!r}" + _suggest(name, self.tags))
        if known.kind is None:
            return self.error(token, f"tag {name!r} is a string tag; expressions use numbers and bools")
        self.inputs.add(name)
        # A C-level read where it stands alone; the operators around it inline it as env[name].
        return _Node(itemgetter(name), known.kind, known.units, tag=name)

    # -- operators -----------------------------------------------------------------

    def _neg(self, tree: Tree[Token]) -> _Node:
        operand = self.node(_only_tree(tree))
        if not self._expect(operand, Kind.NUMBER, tree, "'-'"):
            return _bad()
        return _Node(closures.negate(_operand(operand)), Kind.NUMBER, operand.units)

    def _not_(self, tree: Tree[Token]) -> _Node:
        operand = self.node(_only_tree(tree))
        if not self._expect(operand, Kind.BOOL, tree, "'not'"):
            return _bad()
        fn = operand.fn

        def negation(env: Env, fn: Evaluate = fn) -> Any:  # a default, not a cell (see closures)
            return not fn(env)

        return _Node(negation, Kind.BOOL)

    def _and_(self, tree: Tree[Token]) -> _Node:
        left, right = (self.node(child) for child in _trees(tree))
        if not (self._expect(left, Kind.BOOL, tree, "'and'") & self._expect(right, Kind.BOOL, tree, "'and'")):
            return _bad()
        lhs, rhs = _operand(left), _operand(right)
        return _Node(closures.both(lhs, rhs), Kind.BOOL, form=closures.conj(lhs, rhs))

    def _or_(self, tree: Tree[Token]) -> _Node:
        left, right = (self.node(child) for child in _trees(tree))
        if not (self._expect(left, Kind.BOOL, tree, "'or'") & self._expect(right, Kind.BOOL, tree, "'or'")):
            return _bad()
        return _Node(closures.either(_operand(left), _operand(right)), Kind.BOOL)

    def _arith(self, tree: Tree[Token]) -> _Node:
        left_tree, op_token, right_tree = tree.children
        assert isinstance(left_tree, Tree | Token) and isinstance(op_token, Token)
        left = self.node(_as_tree(left_tree))
        right = self.node(_as_tree(right_tree))
        symbol = str(op_token)
        ok = self._expect(left, Kind.NUMBER, op_token, f"'{symbol}'")
        ok = self._expect(right, Kind.NUMBER, op_token, f"'{symbol}'") and ok
        if not ok:
            return _bad()
        units = ""
        if symbol in "+-":
            if not self._same_units(left, right, op_token, symbol):
                return _bad()
            units = left.units or right.units
        return _Node(
            _binary(symbol, left, right), Kind.NUMBER, units, leaf=_leaf(symbol, left, right),
            form=_form(symbol, left, right),
        )  # fmt: skip

    def _compare(self, tree: Tree[Token]) -> _Node:
        left_tree, op_token, right_tree = tree.children
        assert isinstance(op_token, Token)
        left = self.node(_as_tree(left_tree))
        right = self.node(_as_tree(right_tree))
        symbol = str(op_token)
        if left.kind is None or right.kind is None:
            return _bad()
        if left.kind is not right.kind:
            return self.error(op_token, f"type error: '{symbol}' compares a {left.kind} with a {right.kind}")
        if left.kind is Kind.BOOL and symbol not in ("==", "!="):
            return self.error(op_token, f"type error: '{symbol}' needs numbers, not bools")
        if not self._same_units(left, right, op_token, symbol):
            return _bad()
        return _Node(
            _binary(symbol, left, right), Kind.BOOL, leaf=_leaf(symbol, left, right),
            form=_form(symbol, left, right),
        )  # fmt: skip

    def _conditional(self, tree: Tree[Token]) -> _Node:
        condition, then, otherwise = (self.node(child) for child in _trees(tree))
        ok = self._expect(condition, Kind.BOOL, tree, "'if'")
        if then.kind is None or otherwise.kind is None or not ok:
            return _bad()
        if then.kind is not otherwise.kind:
            return self.error(tree, f"type error: 'then' gives a {then.kind} but 'else' a {otherwise.kind}")
        cf, tf, ef = condition.fn, then.fn, otherwise.fn

        def choice(env: Env, cf: Evaluate = cf, tf: Evaluate = tf, ef: Evaluate = ef) -> Any:
            return tf(env) if cf(env) else ef(env)

        return _Node(choice, then.kind, then.units or otherwise.units)

    # -- calls ---------------------------------------------------------------------

    def _call(self, tree: Tree[Token]) -> _Node:
        name_token, *arg_trees = tree.children
        assert isinstance(name_token, Token)
        name = str(name_token)
        args = [_as_tree(arg) for arg in arg_trees]
        if name in PLAIN:
            return self._plain_call(name_token, args)
        if name in WINDOWS:
            return self._window_call(name_token, WINDOWS[name], args)
        if name in self.tags:
            return self.error(name_token, f"{name!r} is a tag, not a function")
        for arg in args:  # still check the arguments, so their problems are reported too
            self.node(arg)
        return self.error(name_token, f"unknown function {name!r}" + _suggest(name, known_names()))

    def _plain_call(self, name_token: Token, args: list[Tree[Token]]) -> _Node:
        function = PLAIN[str(name_token)]
        nodes = [self.node(arg) for arg in args]
        count = len(nodes)
        if count < function.low or (function.high is not None and count > function.high):
            return self.error(name_token, f"{function.name}() takes {_arity(function.low, function.high)}")
        ok = True
        for node in nodes:
            ok = self._expect(node, Kind.NUMBER, name_token, f"{function.name}()") and ok
        if not ok:
            return _bad()
        if function.name == "round" and count == 2:
            digits = nodes[1].literal
            if nodes[1].literal_units != "" or digits not in range(13):
                return self.error(args[1], "round(): digits must be a whole number literal from 0 to 12")
        operands = [_operand(node) for node in nodes]
        fn = closures.call(function.name, function.call, operands)
        return _Node(fn, Kind.NUMBER, nodes[0].units, form=closures.call_form(function.name, operands))

    def _window_call(self, name_token: Token, function: WindowFunction, args: list[Tree[Token]]) -> _Node:
        name = function.name
        high = 1 + len(function.params)
        if not 1 + function.required <= len(args) <= high:
            return self.error(name_token, f"{name}() takes {_arity(1 + function.required, high)}")
        if args[0].data != "tag":
            self.node(args[0])
            return self.error(args[0], f"{name}(): the first argument must be a tag name")
        source = self.node(args[0])
        if source.kind is None:
            return _bad()
        expected = Kind.BOOL if function.bool_input else Kind.NUMBER
        if name != "time_in_state" and source.kind is not expected:
            return self.error(args[0], f"type error: {name}() needs a {expected} tag, not a {source.kind}")
        literals: list[Any] = []
        for param, arg in zip(function.params, args[1:], strict=False):
            value = self._literal_argument(name, param, arg, source)
            if value is None:
                return _bad()
            literals.append(value)
        tag = str(args[0].children[0])
        key = (name, tag, *literals)
        window = self.pool.get(key, tag, lambda: function.build(*literals))
        self.windows.append((tag, window))
        # The bound method itself is the closure (it takes env and ignores it): one call per read.
        return _Node(
            window.value, Kind.NUMBER, _RESULT_UNITS.get(name, source.units), form=("read", window.value)
        )

    def _literal_argument(self, name: str, param: str, arg: Tree[Token], source: _Node) -> Any:
        """A window function's literal argument, or None (reported) when it is not one it takes."""
        if arg.data not in ("number", "true", "false"):
            self.node(arg)
            self.error(arg, f"{name}(): its {param} must be a literal (such as 10m or 20)")
            return None
        node = self.node(arg)
        if param == "state":
            if node.kind is not source.kind:
                self.error(arg, f"type error: {name}(): the state must be a {source.kind} like the tag")
                return None
            return node.literal
        if node.kind is not Kind.NUMBER or not isinstance(node.literal, float) or node.literal <= 0:
            self.error(arg, f"{name}(): its {param} must be a positive duration (10m) or count (20)")
            return None
        if node.literal_units in TIME_UNITS:
            return Span(seconds=node.literal) if param == "span" else node.literal
        if node.literal_units == "" and param == "span" and node.literal.is_integer():
            return Span(count=int(node.literal))
        wanted = "a duration such as 10m" if param == "duration" else "a duration (10m) or a whole count (20)"
        self.error(arg, f"{name}(): its {param} must be {wanted}, not {str(arg.children[0])!r}")
        return None

    # -- checks --------------------------------------------------------------------

    def _expect(self, node: _Node, kind: Kind, at: Tree[Token] | Token, what: str) -> bool:
        if node.kind is None:
            return False
        if node.kind is not kind:
            self.error(at, f"type error: {what} needs a {kind}, not a {node.kind}")
            return False
        return True

    def _same_units(self, left: _Node, right: _Node, at: Token, symbol: str) -> bool:
        if left.units and right.units and left.units != right.units:
            self.error(at, f"unit mismatch: '{symbol}' between {left.units!r} and {right.units!r}")
            return False
        return True


_RESULT_UNITS = {"rate": "", "integral": "", "zscore": "", "starts": "", "run_hours": "h"}
_RESULT_UNITS["time_in_state"] = "s"
"""Units of a window function's result where they are not its input's."""


def _constant(value: Any) -> Evaluate:
    def constant(_env: Env, value: Any = value) -> Any:  # a default, not a cell (see closures)
        return value

    return constant


def _operand(node: _Node) -> Operand:
    constant = node.literal is not None and node.tag is None
    return Operand(node.fn, constant, node.literal, node.tag, node.leaf, node.form)


def _leaf(symbol: str, left: _Node, right: _Node) -> closures.Leaf | None:
    lhs, rhs = _operand(left), _operand(right)
    if lhs.constant and rhs.constant:
        return None  # folded (or left to run time) by _binary
    return closures.leaf(symbol, lhs, rhs)


def _form(symbol: str, left: _Node, right: _Node) -> closures.Form | None:
    lhs, rhs = _operand(left), _operand(right)
    if lhs.constant and rhs.constant:
        return None
    return closures.form(symbol, lhs, rhs)


def _binary(symbol: str, left: _Node, right: _Node) -> Evaluate:
    """``left SYMBOL right``: folded when both are constants, else one specialised closure.

    An inlined read raises KeyError for a tag without a value; ``NOT_READY`` catches both.
    """
    lhs, rhs = _operand(left), _operand(right)
    if lhs.constant and rhs.constant and symbol not in ("/", "**"):  # those may raise: at run time
        op = _ARITHMETIC.get(symbol) or _COMPARISONS[symbol]
        return _constant(op(lhs.value, rhs.value))
    return closures.binary(symbol, lhs, rhs)


NOT_READY = (NotReady, KeyError)
"""What an evaluation raises while a window or a tag has no value yet."""


def _power(base: float, exponent: float) -> float:
    return math.pow(base, exponent)  # a domain error raises instead of giving a complex number


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": _power,
}

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [_as_tree(child) for child in tree.children if not _is_operator(child)]


def _only_tree(tree: Tree[Token]) -> Tree[Token]:
    (child,) = _trees(tree)
    return child


def _is_operator(child: Any) -> bool:
    return isinstance(child, Token) and child.type in ("PLUS", "MINUS")


def _as_tree(child: Any) -> Tree[Token]:
    """Operands are trees; a bare token (never produced by this grammar's aliases) is wrapped."""
    if isinstance(child, Tree):
        return child
    return Tree("number" if child.type == "QUANTITY" else "tag", [child])


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} arguments"
    if low == high:
        return f"{low} argument{'s' if low != 1 else ''}"
    return f"{low} to {high} arguments"


def _suggest(name: str, known: Any) -> str:
    import difflib

    matches = difflib.get_close_matches(name, list(known)[:5000], n=1, cutoff=0.75)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def keyword_clash(name: str) -> bool:
    """True when a tag name cannot be written in an expression (it is a keyword of the language)."""
    return name in KEYWORDS
