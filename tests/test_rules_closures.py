"""The specialised closures compute what the plain reading of the expression does, shape by shape.

Random expressions over tags and constants (every operator, every operand shape the builders
special-case: tag, constant, tag-op-constant leaf, nested) are compiled and compared with a reference
evaluation of the same tree written here with the operator functions; a value, or the same kind of
exception, on both sides.
"""

from __future__ import annotations

import math
import operator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmi.rules.expr import TagType, WindowPool, compile_expression
from hmi.rules.functions import Kind
from hmi.rules.windows import NotReady

TAGS = {
    "A": TagType(Kind.NUMBER),
    "B": TagType(Kind.NUMBER),
    "C": TagType(Kind.NUMBER),
    "F": TagType(Kind.BOOL),
}
ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": math.pow}
COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt}
COMPARE[">="] = operator.ge
FINITE = st.sampled_from([0.0, -0.0, 1.0, -2.5, 3.0, 50.0, 1000.0, 1e300])
SPECIAL = st.sampled_from([math.inf, -math.inf, math.nan])
VALUES = st.one_of(FINITE, FINITE, FINITE, SPECIAL)  # mostly finite: a NaN everywhere would hide a swap


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


CALLS = {"abs": (1, abs), "min": (2, min), "max": (2, max), "clamp": (3, _clamp)}


TAG = st.sampled_from(["A", "B", "C"]).map(lambda t: ("tag", t))
NUM = FINITE.map(lambda v: ("num", v))


def numbers(depth: int) -> st.SearchStrategy:
    leaves = st.one_of(TAG, NUM)
    # tag OP constant: the leaf shape the builders inline into the node above it
    leaf = st.tuples(st.just("arith"), st.sampled_from(sorted(ARITH)), TAG, NUM)
    if depth == 0:
        return st.one_of(leaves, leaf)
    sub = numbers(depth - 1)
    return st.one_of(
        leaves,
        leaf,
        st.tuples(st.just("arith"), st.sampled_from(sorted(ARITH)), sub, sub),
        st.tuples(st.just("neg"), sub),
        st.sampled_from(sorted(CALLS)).flatmap(
            lambda name: st.tuples(
                st.just("call"),
                st.just(name),
                st.lists(sub, min_size=CALLS[name][0], max_size=CALLS[name][0]),
            )
        ),
    )


def conditions(depth: int) -> st.SearchStrategy:
    operators = st.sampled_from(sorted(COMPARE))
    compare = st.one_of(
        st.tuples(st.just("cmp"), operators, TAG, NUM),
        st.tuples(st.just("cmp"), operators, numbers(1), numbers(1)),
    )
    leaves = st.one_of(compare, st.just(("tag", "F")))
    if depth == 0:
        return leaves
    sub = conditions(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(st.sampled_from(["and", "or"]), sub, sub),
        st.tuples(st.just("not"), sub),
    )


def text(tree: tuple) -> str:
    kind = tree[0]
    if kind == "tag":
        return tree[1]
    if kind == "num":
        return (
            repr(tree[1])
            if tree[1] >= 0 and not (tree[1] == 0 and math.copysign(1, tree[1]) < 0)
            else (f"({tree[1]!r})")
        )
    if kind in ("arith", "cmp"):
        return f"({text(tree[2])} {tree[1]} {text(tree[3])})"
    if kind == "neg":
        return f"(-{text(tree[1])})"
    if kind == "call":
        return f"{tree[1]}({', '.join(text(arg) for arg in tree[2])})"
    if kind == "not":
        return f"(not {text(tree[1])})"
    return f"({text(tree[1])} {kind} {text(tree[2])})"


def reference(tree: tuple, env: dict):
    kind = tree[0]
    if kind == "tag":
        return env[tree[1]]
    if kind == "num":
        return tree[1]
    if kind == "arith":
        return ARITH[tree[1]](reference(tree[2], env), reference(tree[3], env))
    if kind == "cmp":
        return COMPARE[tree[1]](reference(tree[2], env), reference(tree[3], env))
    if kind == "neg":
        return -reference(tree[1], env)
    if kind == "call":
        return CALLS[tree[1]][1](*[reference(arg, env) for arg in tree[2]])
    if kind == "not":
        return not reference(tree[1], env)
    if kind == "and":
        return bool(reference(tree[1], env)) and bool(reference(tree[2], env))
    return bool(reference(tree[1], env)) or bool(reference(tree[2], env))


def outcome(fn, *args):
    try:
        result = fn(*args)
    except (ArithmeticError, ValueError) as error:
        return ("raises", type(error).__name__)
    if isinstance(result, float) and math.isnan(result):
        return ("nan",)
    if isinstance(result, float) and result == 0.0:
        return ("value", result, math.copysign(1.0, result))  # -0.0 and 0.0 told apart
    return ("value", result)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(numbers(3), conditions(2)), VALUES, VALUES, VALUES, st.booleans())
def test_compiled_closures_agree_with_the_plain_evaluation(tree, a, b, c, flag):
    source = text(tree)
    expression, errors = compile_expression(source, TAGS)
    assert not errors, (source, errors)
    env = {"A": a, "B": b, "C": c, "F": flag}
    assert outcome(expression.evaluate, env) == outcome(reference, tree, env), (source, env)


# Every operand shape the builders tell apart, as trees: a tag, a constant, a leaf (tag OP constant),
# a constant OP tag, a call, a nested node.
NUMBER_SHAPES = [
    ("tag", "A"),
    ("tag", "C"),
    ("num", 2.5),
    ("arith", "*", ("tag", "B"), ("num", 3.0)),
    ("arith", "/", ("tag", "A"), ("num", 4.0)),
    ("arith", "-", ("num", 3.0), ("tag", "B")),
    ("call", "abs", [("tag", "C")]),
    ("arith", "+", ("arith", "-", ("tag", "A"), ("tag", "B")), ("num", 1.0)),
    # a pair of leaves and a C function of a leaf: the forms a parent computes inline
    ("arith", "-", ("arith", "*", ("tag", "A"), ("num", 2.0)), ("arith", "/", ("tag", "B"), ("num", 3.0))),
    ("call", "abs", [("arith", "-", ("tag", "B"), ("num", 50.0))]),
]
BOOL_SHAPES = [
    ("tag", "F"),
    ("cmp", ">", ("tag", "A"), ("num", 1.0)),
    ("cmp", "<", ("num", 1.0), ("tag", "B")),
    ("not", ("tag", "F")),
    ("cmp", "<=", ("call", "abs", [("tag", "C")]), ("tag", "A")),
    ("and", ("cmp", ">", ("tag", "B"), ("num", 0.0)), ("cmp", "<", ("tag", "A"), ("num", 3.0))),
]
ENVS = [
    {"A": a, "B": b, "C": c, "F": f}
    for a, b, c, f in [
        (2.0, -1.0, 0.5, True),
        (-3.0, 4.0, -7.0, False),
        (0.0, 0.0, 2.0, True),
        (1.0, 2.5, 1e300, False),
    ]
]


def _agree(tree: tuple) -> None:
    source = text(tree)
    expression, errors = compile_expression(source, TAGS)
    assert not errors, (source, errors)
    for env in ENVS:
        assert outcome(expression.evaluate, env) == outcome(reference, tree, env), (source, env)


def test_every_operator_over_every_pair_of_operand_shapes():
    for left in NUMBER_SHAPES:
        for right in NUMBER_SHAPES:
            for symbol in ARITH:
                _agree(("arith", symbol, left, right))
            for symbol in COMPARE:
                _agree(("cmp", symbol, left, right))
        _agree(("neg", left))
        _agree(("call", "abs", [left]))
        for right in NUMBER_SHAPES:
            for name in ("min", "max"):
                _agree(("call", name, [left, right]))
            _agree(("call", "clamp", [left, ("num", 0.0), ("num", 2.0)]))
            _agree(("call", "clamp", [left, ("num", 2.0), ("num", 0.0)]))  # low above high: min(max())
            _agree(("call", "clamp", [left, right, ("num", 2.0)]))
    for left in BOOL_SHAPES:
        for right in BOOL_SHAPES:
            _agree(("and", left, right))
            _agree(("or", left, right))


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("avg(A, 3) > 1 and B < 2", lambda m, b: m > 1 and b < 2),
        ("B < 2 and avg(A, 3) > 1", lambda m, b: b < 2 and m > 1),
        ("avg(A, 3) >= 1.5 or B < 2", lambda m, b: m >= 1.5 or b < 2),
        ("not (avg(A, 3) < 1) and B != 0", lambda m, b: (not m < 1) and b != 0),
    ],
)
def test_a_window_read_against_a_constant_agrees_with_the_window_itself(source, plain):
    pool = WindowPool()
    expression, errors = compile_expression(source, TAGS, pool)
    assert not errors, errors
    (window,) = pool.by_tag["A"]
    with pytest.raises(NotReady):  # an empty window: not ready, through the inlined read too
        expression.evaluate({"A": 0.0, "B": 0.0})
    series = [0.5, 2.0, 1.0, 3.0, -1.0, 1.5]
    for step, (a, b) in enumerate(zip(series, [1.0, 3.0, 0.0, 1.5, 2.5, 1.9], strict=True)):
        window.add(float(step), a, True)
        mean = sum(series[max(0, step - 2) : step + 1]) / min(step + 1, 3)
        assert expression.evaluate({"A": a, "B": b}) == plain(mean, b), (source, step)
