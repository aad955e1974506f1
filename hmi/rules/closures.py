"""Closures specialised by operator and operand shape, so an evaluation makes few Python calls.

A compiled expression is a tree of closures. Each closure costs a Python call, so the builders here
fold what they can into their parent: the operator itself is written inline (``f(env) + c``, not
``operator.add(...)``), a constant operand is captured as a value, a plain tag read is a subscript
of ``env`` inside the parent (or a C-level ``itemgetter`` where it stands alone), and a window's read
is its bound ``value`` method taking ``env``. Every builder gives exactly what the generic form
would: the same arithmetic in the same order, the same exceptions (KeyError for a tag without a
value, ZeroDivisionError, NotReady from a window).

What a closure reads is bound as a default argument (``lambda env, t=t: env[t] > c``), never as a
free variable: a free variable is a cell object each, which the cyclic garbage collector walks on
every full pass for the whole run (tens of thousands of them for a project of a thousand rules, a
third of the engine's objects), where the defaults are one tuple per closure (and read as a local,
a little faster than a cell). A closure is only ever called with ``env``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

Fn = Callable[..., Any]
"""A closure over the tag values: ``fn(env)`` (its other parameters are its bound defaults)."""

# Shapes of a binary operator's operands: two closures, closure-constant, constant-closure, and
# tag-constant (the commonest leaf of all: ``TANK.LEVEL > 90``, ``IN.A * 2``).
_FF = Callable[[Fn, Fn], Fn]
_FC = Callable[[Fn, Any], Fn]
_CF = Callable[[Any, Fn], Fn]
_TC = Callable[[str, Any], Fn]
_TT = Callable[[str, str], Fn]

_SHAPES: dict[str, tuple[_FF, _FC, _CF, _TC, _TT]] = {
    "+": (
        lambda f, r: lambda env, f=f, r=r: f(env) + r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) + c,
        lambda c, r: lambda env, c=c, r=r: c + r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] + c,
        lambda a, b: lambda env, a=a, b=b: env[a] + env[b],
    ),
    "-": (
        lambda f, r: lambda env, f=f, r=r: f(env) - r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) - c,
        lambda c, r: lambda env, c=c, r=r: c - r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] - c,
        lambda a, b: lambda env, a=a, b=b: env[a] - env[b],
    ),
    "*": (
        lambda f, r: lambda env, f=f, r=r: f(env) * r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) * c,
        lambda c, r: lambda env, c=c, r=r: c * r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] * c,
        lambda a, b: lambda env, a=a, b=b: env[a] * env[b],
    ),
    "/": (
        lambda f, r: lambda env, f=f, r=r: f(env) / r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) / c,
        lambda c, r: lambda env, c=c, r=r: c / r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] / c,
        lambda a, b: lambda env, a=a, b=b: env[a] / env[b],
    ),
    "**": (  # math.pow: a domain error raises instead of giving a complex number
        lambda f, r: lambda env, f=f, r=r: math.pow(f(env), r(env)),
        lambda f, c: lambda env, c=c, f=f: math.pow(f(env), c),
        lambda c, r: lambda env, c=c, r=r: math.pow(c, r(env)),
        lambda t, c: lambda env, c=c, t=t: math.pow(env[t], c),
        lambda a, b: lambda env, a=a, b=b: math.pow(env[a], env[b]),
    ),
    "==": (
        lambda f, r: lambda env, f=f, r=r: f(env) == r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) == c,
        lambda c, r: lambda env, c=c, r=r: c == r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] == c,
        lambda a, b: lambda env, a=a, b=b: env[a] == env[b],
    ),
    "!=": (
        lambda f, r: lambda env, f=f, r=r: f(env) != r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) != c,
        lambda c, r: lambda env, c=c, r=r: c != r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] != c,
        lambda a, b: lambda env, a=a, b=b: env[a] != env[b],
    ),
    "<": (
        lambda f, r: lambda env, f=f, r=r: f(env) < r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) < c,
        lambda c, r: lambda env, c=c, r=r: c < r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] < c,
        lambda a, b: lambda env, a=a, b=b: env[a] < env[b],
    ),
    "<=": (
        lambda f, r: lambda env, f=f, r=r: f(env) <= r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) <= c,
        lambda c, r: lambda env, c=c, r=r: c <= r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] <= c,
        lambda a, b: lambda env, a=a, b=b: env[a] <= env[b],
    ),
    ">": (
        lambda f, r: lambda env, f=f, r=r: f(env) > r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) > c,
        lambda c, r: lambda env, c=c, r=r: c > r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] > c,
        lambda a, b: lambda env, a=a, b=b: env[a] > env[b],
    ),
    ">=": (
        lambda f, r: lambda env, f=f, r=r: f(env) >= r(env),
        lambda f, c: lambda env, c=c, f=f: f(env) >= c,
        lambda c, r: lambda env, c=c, r=r: c >= r(env),
        lambda t, c: lambda env, c=c, t=t: env[t] >= c,
        lambda a, b: lambda env, a=a, b=b: env[a] >= env[b],
    ),
}


OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": math.pow,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
"""Each operator as a C function (the same operation as the inline symbol)."""

Leaf = tuple[Callable[[Any, Any], Any], str, Any]
"""``tag OP constant`` as (operator function, tag, constant): ``op(env[tag], constant)`` inside the
closure of the node above it, a C call instead of a closure's Python call."""


Form = tuple[Any, ...]
"""A node its parent can compute inline, with no call of its own (see ``form``):

- ``("pair", op, leaf, leaf)``: ``op(leaf, leaf)``, e.g. ``A * 2 - B / 3``;
- ``("unary", fn, leaf)``: a C function of a leaf, e.g. ``abs(B - 50)``;
- ``("read", method)``: a window's read, ``method(env)``;
- ``("probe", op, method, constant)``: a window's read against a constant, ``avg(A, 30s) > 60``;
- ``("conj", leaf, leaf)``: ``leaf and leaf``, both comparisons.
"""


class Operand:
    """What a builder needs of an operand: its closure, and whether it is a constant, a plain tag, a
    leaf (``tag OP constant``) or another form its parent may inline."""

    __slots__ = ("constant", "fn", "form", "leaf", "tag", "value")

    def __init__(
        self,
        fn: Fn,
        constant: bool,
        value: Any,
        tag: str | None,
        leaf: Leaf | None = None,
        form: Form | None = None,
    ) -> None:
        self.fn = fn
        self.constant = constant
        self.value = value
        self.tag = tag
        self.leaf = leaf
        self.form = form


def leaf(symbol: str, left: Operand, right: Operand) -> Leaf | None:
    """The leaf ``left SYMBOL right`` is, when it is a tag and a constant (else None)."""
    if left.tag is not None and right.constant:
        return OPERATORS[symbol], left.tag, right.value
    return None


_COMPARISON_SYMBOLS = frozenset(("==", "!=", "<", "<=", ">", ">="))


def form(symbol: str, left: Operand, right: Operand) -> Form | None:
    """The inline form of ``left SYMBOL right`` (None when it has none): a pair of leaves, or a
    window's read compared with a constant."""
    if left.leaf is not None and right.leaf is not None:
        return ("pair", OPERATORS[symbol], left.leaf, right.leaf)
    if symbol in _COMPARISON_SYMBOLS and left.form is not None and left.form[0] == "read" and right.constant:
        return ("probe", OPERATORS[symbol], left.form[1], right.value)
    return None


def binary(symbol: str, left: Operand, right: Operand) -> Fn:
    """``left SYMBOL right`` as one closure, its operands inlined where they are constants or tags."""
    ff, fc, cf, tc, tt = _SHAPES[symbol]
    if left.tag is not None and right.tag is not None:
        return tt(left.tag, right.tag)
    if left.leaf is not None or right.leaf is not None or _unary(left) or _unary(right):
        inlined = _with_leaves(OPERATORS[symbol], left, right)
        if inlined is not None:
            return inlined
    if right.constant:
        return tc(left.tag, right.value) if left.tag is not None else fc(left.fn, right.value)
    if left.constant:
        return cf(left.value, right.fn)
    return ff(left.fn, right.fn)


def _with_leaves(op: Callable[[Any, Any], Any], left: Operand, right: Operand) -> Fn | None:
    """``op(left, right)`` with its leaf operands computed inline (``A * 2 - B / 3`` in one call)."""
    lform, rform = _unary(left), _unary(right)
    if rform is not None and not left.constant:  # clamp(...) + abs(B - 50): abs inline
        lf, (ufn, (uop, ut, uc)) = left.fn, rform
        if left.leaf is not None:
            lop, lt, lc = left.leaf
            return lambda env, op=op, lop=lop, lc=lc, ufn=ufn, lt=lt, uop=uop, uc=uc, ut=ut: op(
                lop(env[lt], lc), ufn(uop(env[ut], uc))
            )
        return lambda env, op=op, lf=lf, ufn=ufn, uop=uop, uc=uc, ut=ut: op(lf(env), ufn(uop(env[ut], uc)))
    if lform is not None and not right.constant:
        rf, (ufn, (uop, ut, uc)) = right.fn, lform
        if right.leaf is not None:
            rop, rt, rc = right.leaf
            return lambda env, op=op, ufn=ufn, rop=rop, rc=rc, uop=uop, uc=uc, rt=rt, ut=ut: op(
                ufn(uop(env[ut], uc)), rop(env[rt], rc)
            )
        return lambda env, op=op, ufn=ufn, rf=rf, uop=uop, uc=uc, ut=ut: op(ufn(uop(env[ut], uc)), rf(env))
    if left.leaf is not None and right.leaf is not None:
        (lop, lt, lc), (rop, rt, rc) = left.leaf, right.leaf
        return lambda env, op=op, lop=lop, lc=lc, rop=rop, rc=rc, lt=lt, rt=rt: op(
            lop(env[lt], lc), rop(env[rt], rc)
        )
    if left.leaf is not None and not right.constant:
        (lop, lt, lc), rf = left.leaf, right.fn
        return lambda env, op=op, lop=lop, lc=lc, rf=rf, lt=lt: op(lop(env[lt], lc), rf(env))
    if right.leaf is not None and not left.constant:
        lf, (rop, rt, rc) = left.fn, right.leaf
        return lambda env, op=op, lf=lf, rop=rop, rc=rc, rt=rt: op(lf(env), rop(env[rt], rc))
    return None


def _unary(operand: Operand) -> tuple[Any, Leaf] | None:
    """``(fn, leaf)`` when the operand is a C function of a leaf (``abs(B - 50)``), else None."""
    f = operand.form
    return (f[1], f[2]) if f is not None and f[0] == "unary" else None


def negate(operand: Operand) -> Fn:
    """``-operand``."""
    tag, fn = operand.tag, operand.fn
    if tag is not None:
        return lambda env, tag=tag: -env[tag]
    return lambda env, fn=fn: -fn(env)


def conj(left: Operand, right: Operand) -> Form | None:
    """The inline form of ``left and right`` when both are comparison leaves (else None)."""
    if left.tag is None and right.tag is None and left.leaf is not None and right.leaf is not None:
        return ("conj", left.leaf, right.leaf)
    return None


def both(left: Operand, right: Operand) -> Fn:
    """``left and right`` as a bool (a bool tag's stored value may be any truthy number)."""
    lf, rf = left.fn, right.fn
    if left.tag is None and right.tag is None:  # both give bools already: no bool() calls
        if left.leaf is not None and right.leaf is not None:  # comparisons: inline
            (lop, lt, lc), (rop, rt, rc) = left.leaf, right.leaf
            return lambda env, lop=lop, lc=lc, rop=rop, rc=rc, lt=lt, rt=rt: (
                lop(env[lt], lc) and rop(env[rt], rc)
            )
        probe = _probe(left)
        if probe is not None and right.leaf is not None:  # avg(A, 30s) > 60 and B < 900
            (pop, pm, pc), (rop, rt, rc) = probe, right.leaf
            return lambda env, pop=pop, pc=pc, rop=rop, rc=rc, pm=pm, rt=rt: (
                pop(pm(env), pc) and rop(env[rt], rc)
            )
        probe = _probe(right)
        if probe is not None and left.leaf is not None:
            (lop, lt, lc), (pop, pm, pc) = left.leaf, probe
            return lambda env, lop=lop, lc=lc, pop=pop, pc=pc, lt=lt, pm=pm: (
                lop(env[lt], lc) and pop(pm(env), pc)
            )
        if left.leaf is not None:
            lop, lt, lc = left.leaf
            return lambda env, lop=lop, lc=lc, rf=rf, lt=lt: lop(env[lt], lc) and rf(env)
        if right.leaf is not None:
            rop, rt, rc = right.leaf
            return lambda env, lf=lf, rop=rop, rc=rc, rt=rt: lf(env) and rop(env[rt], rc)
        return lambda env, lf=lf, rf=rf: lf(env) and rf(env)
    return lambda env, lf=lf, rf=rf: bool(lf(env)) and bool(rf(env))


def either(left: Operand, right: Operand) -> Fn:
    """``left or right`` as a bool."""
    lf, rf = left.fn, right.fn
    if left.tag is None and right.tag is None:
        if left.leaf is not None and right.leaf is not None:
            (lop, lt, lc), (rop, rt, rc) = left.leaf, right.leaf
            return lambda env, lop=lop, lc=lc, rop=rop, rc=rc, lt=lt, rt=rt: (
                lop(env[lt], lc) or rop(env[rt], rc)
            )
        both_leaves = _conj(right)
        if left.leaf is not None and both_leaves is not None:  # A > 95 or (B > 990 and A < 3)
            (lop, lt, lc), ((aop, at, ac), (bop, bt, bc)) = left.leaf, both_leaves
            return lambda env, lop=lop, lc=lc, lt=lt, aop=aop, ac=ac, bop=bop, bc=bc, at=at, bt=bt: (
                lop(env[lt], lc) or (aop(env[at], ac) and bop(env[bt], bc))
            )
        both_leaves = _conj(left)
        if right.leaf is not None and both_leaves is not None:
            ((aop, at, ac), (bop, bt, bc)), (rop, rt, rc) = both_leaves, right.leaf
            return lambda env, rop=rop, rc=rc, aop=aop, ac=ac, bop=bop, bc=bc, rt=rt, at=at, bt=bt: (
                (aop(env[at], ac) and bop(env[bt], bc)) or rop(env[rt], rc)
            )
        if left.leaf is not None:
            lop, lt, lc = left.leaf
            return lambda env, lop=lop, lc=lc, rf=rf, lt=lt: lop(env[lt], lc) or rf(env)
        if right.leaf is not None:
            rop, rt, rc = right.leaf
            return lambda env, lf=lf, rop=rop, rc=rc, rt=rt: lf(env) or rop(env[rt], rc)
        return lambda env, lf=lf, rf=rf: lf(env) or rf(env)
    return lambda env, lf=lf, rf=rf: bool(lf(env)) or bool(rf(env))


def _probe(operand: Operand) -> tuple[Any, Any, Any] | None:
    f = operand.form
    return (f[1], f[2], f[3]) if f is not None and f[0] == "probe" else None


def _conj(operand: Operand) -> tuple[Leaf, Leaf] | None:
    f = operand.form
    return (f[1], f[2]) if f is not None and f[0] == "conj" else None


def call(name: str, function: Callable[..., Any], args: list[Operand]) -> Fn:
    """``function(*args)``: the common plain calls written out, constants captured as values."""
    fns = [arg.fn for arg in args]
    count = len(args)
    if name == "clamp" and args[1].constant and args[2].constant:
        inner = args[0].form
        if inner is not None and inner[0] == "pair":
            return _clamp_pair(inner, args[1].value, args[2].value)
        return _clamp(fns[0], args[1].value, args[2].value)
    if count == 2 and name in ("min", "max"):
        # Two-argument min/max written as the comparison the builtins make (the first argument kept
        # on a tie or a NaN), without the builtins' argument parsing, which costs more than the rest.
        a, b = fns
        if args[1].constant:
            c = args[1].value
            if name == "min":
                return lambda env, c=c, a=a: c if (x := a(env)) > c else x
            return lambda env, c=c, a=a: c if (x := a(env)) < c else x
        if name == "min":
            return lambda env, a=a, b=b: y if (x := a(env)) > (y := b(env)) else x
        return lambda env, a=a, b=b: y if (x := a(env)) < (y := b(env)) else x
    if count == 1:
        (only,) = fns
        if name == "abs" and args[0].leaf is not None:
            op, tag, c = args[0].leaf
            return lambda env, op=op, c=c, tag=tag: abs(op(env[tag], c))
        if name == "abs":
            return lambda env, only=only: abs(only(env))
        return lambda env, function=function, only=only: function(only(env))
    if count == 2:
        a, b = fns
        return lambda env, function=function, a=a, b=b: function(a(env), b(env))
    if count == 3:
        a, b, c = fns
        return lambda env, function=function, a=a, b=b, c=c: function(a(env), b(env), c(env))
    return lambda env, function=function, fns=fns: function(*[fn(env) for fn in fns])


def call_form(name: str, args: list[Operand]) -> Form | None:
    """The inline form of a call (None when it has none): ``abs`` of a leaf."""
    if name == "abs" and len(args) == 1 and args[0].leaf is not None:
        return ("unary", abs, args[0].leaf)
    return None


def _clamp_pair(pair: Form, low: Any, high: Any) -> Fn:
    """``clamp(A OP c OP B OP c, low, high)`` with literal bounds, its pair of leaves inline."""
    _kind, op, (lop, lt, lc), (rop, rt, rc) = pair

    def clamp(
        env: Any, op: Any = op, lop: Any = lop, lt: str = lt, lc: Any = lc,
        rop: Any = rop, rt: str = rt, rc: Any = rc, low: Any = low, high: Any = high,
    ) -> Any:  # fmt: skip
        x = op(lop(env[lt], lc), rop(env[rt], rc))
        if low > x:  # max(x, low)
            x = low
        return high if high < x else x  # min(.., high)

    return clamp


def _clamp(fn: Fn, low: Any, high: Any) -> Fn:
    """``clamp(fn, low, high)`` with literal bounds: exactly ``min(max(x, low), high)`` (functions.clamp)."""

    def clamp(env: Any, fn: Fn = fn, low: Any = low, high: Any = high) -> Any:
        x = fn(env)
        if low > x:  # max(x, low)
            x = low
        return high if high < x else x  # min(.., high)

    return clamp
