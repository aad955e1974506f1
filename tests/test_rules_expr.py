"""The expression language: semantics, checks, and properties on random input (no crash, hang or escape)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from project_files import write_project

from hmi.rules.expr import TagType, compile_expression
from hmi.rules.functions import Kind
from hmi.rules.parsing import LIMITS, parse
from hmi.rules.windows import NotReady

TAGS = {
    "PUMP1.TEMP": TagType(Kind.NUMBER, "°C"),
    "PUMP1.VIBRATION": TagType(Kind.NUMBER, "mm/s"),
    "PUMP1.RUN": TagType(Kind.BOOL),
    "A": TagType(Kind.NUMBER),
    "B": TagType(Kind.NUMBER),
    "LABEL": TagType(None),
}
ENV = {"PUMP1.TEMP": 71.5, "PUMP1.VIBRATION": 3.0, "PUMP1.RUN": True, "A": 2.0, "B": -3.0}
EVAL_ERRORS = (NotReady, ArithmeticError, ValueError)


def value(text: str, env=ENV):
    expression, errors = compile_expression(text, TAGS)
    assert not errors, errors
    return expression.evaluate(env)


def problems(text: str) -> list[str]:
    return [error.message for error in compile_expression(text, TAGS)[1]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ** 3 ** 2", 512.0),
        ("-2 ** 2", -4.0),
        ("A - B - 1", 4.0),
        ("A / 4", 0.5),
        ("min(A, B, 7)", -3.0),
        ("max(A, B)", 2.0),
        ("abs(B)", 3.0),
        ("clamp(PUMP1.TEMP, 0°C, 60°C)", 60.0),
        ("round(PUMP1.TEMP)", 72.0),
        ("round(2.345, 2)", 2.35),
        ("if PUMP1.RUN then A else B", 2.0),
        ("if not PUMP1.RUN then A else B", -3.0),
        ("PUMP1.TEMP > 70 and PUMP1.VIBRATION < 4", True),
        ("PUMP1.TEMP > 80°C or PUMP1.RUN == false", False),
        ("5m == 300", True),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        ("1e3 + .5", 1000.5),
    ],
)
def test_semantics(text, expected):
    assert value(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PUMP1.TEMPP > 1", "unknown tag 'PUMP1.TEMPP' (did you mean 'PUMP1.TEMP'?)"),
        ("mean(A, 10m)", "unknown function 'mean'"),
        ("A(1)", "'A' is a tag, not a function"),
        ("PUMP1.RUN + 1", "type error: '+' needs a number, not a bool"),
        ("A > true", "type error: '>' compares a number with a bool"),
        ("A and PUMP1.RUN", "type error: 'and' needs a bool, not a number"),
        ("if A then 1 else 2", "type error: 'if' needs a bool, not a number"),
        ("if PUMP1.RUN then 1 else false", "type error: 'then' gives a number but 'else' a bool"),
        ("PUMP1.TEMP > 3 rpm", "syntax error: unexpected 'rpm' (expected"),
        ("PUMP1.TEMP > 3rpm", "unit mismatch: '>' between '°C' and 'rpm'"),
        ("LABEL > 1", "tag 'LABEL' is a string tag; expressions use numbers and bools"),
        ("avg(A + 1, 10m)", "avg(): the first argument must be a tag name"),
        ("avg(A, B)", "avg(): its span must be a literal (such as 10m or 20)"),
        ("avg(A, 2.5)", "avg(): its span must be a duration (10m) or a whole count (20), not '2.5'"),
        ("rate(A)", "rate() takes 2 to 3 arguments"),
        ("starts(A)", "type error: starts() needs a bool tag, not a number"),
        ("clamp(A, 1)", "clamp() takes 3 arguments"),
        ("round(A, 1.5)", "round(): digits must be a whole number literal from 0 to 12"),
        ("1 +", "syntax error: the expression ends too soon"),
        ("A $ B", "syntax error: unexpected character '$'"),
        ("1 < 2 < 3", "syntax error: unexpected '<'"),
        ("", "empty expression"),
    ],
)
def test_problems(text, message):
    found = problems(text)
    assert any(message in problem for problem in found), found


def test_every_problem_of_an_expression_is_reported_at_its_offset():
    text = "foo(A) + PUMP1.TEMPP + (PUMP1.RUN * 2)"
    errors = compile_expression(text, TAGS)[1]
    assert [(e.offset, e.message.split(" (")[0]) for e in errors] == [
        (0, "unknown function 'foo'"),
        (9, "unknown tag 'PUMP1.TEMPP'"),
        (34, "type error: '*' needs a number, not a bool"),
    ]


def test_division_by_zero_raises_at_evaluation_not_at_compile():
    expression, errors = compile_expression("A / (B + 3)", TAGS)
    assert not errors
    with pytest.raises(ZeroDivisionError):
        expression.evaluate(ENV)


def test_a_domain_error_raises_instead_of_giving_a_complex_number():
    with pytest.raises(ValueError):
        value("B ** 0.5")


def test_a_tag_without_a_value_is_not_ready():
    with pytest.raises(NotReady):
        value("A + 1", env={})


def test_limits_bound_length_depth_and_size():
    assert problems("1 +" * 1000 + "1") == [f"longer than {LIMITS.length} characters"]
    assert "nested deeper" in problems("abs(" * 60 + "1" + ")" * 60)[0]
    assert "nested deeper" in problems(" + ".join(["A"] * 300))[0]
    assert "more than" in problems("max(" + ", ".join(["A"] * 450) + ")")[0]
    assert value("(" * 200 + "1" + ")" * 200) == 1.0  # parentheses alone make no tree


# ---------------------------------------------------------------------------- properties

PIECES = [
    "and ",
    "or ",
    "not ",
    "if ",
    "then ",
    "else ",
    "min(",
    "avg(",
    "PUMP1.TEMP",
    "true",
    "__",
    "'",
    "\\",
]
ALPHABET = st.sampled_from([*"AB()+-*/<>=!., 0123456789emsh", *PIECES])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=200), st.lists(ALPHABET, max_size=80).map("".join)))
@example("0EE0")  # a number with a unit that starts like an exponent: once a ValueError
@example("2e+")
@example("1e3EE")
def test_random_text_never_crashes_or_escapes(text):
    """Any text compiles or is refused with located problems; a compiled one evaluates to a value or a
    known error, touching nothing but the values it is given."""
    expression, errors = compile_expression(text, TAGS)
    for error in errors:
        assert 0 <= error.offset <= len(text) and error.message
    if expression is None:
        assert errors
        return
    env = Guarded(ENV)
    try:
        result = expression.evaluate(env)
    except EVAL_ERRORS:
        return
    assert isinstance(result, bool | float)
    assert env.read <= set(ENV)


class Guarded(dict):
    """An environment that records every name read (and only allows reads)."""

    def __init__(self, values):
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)


def numbers(depth: int):
    leaf = st.one_of(
        st.sampled_from(["A", "B"]),  # tags without units: any mix is well-formed
        st.floats(0, 1e6, allow_nan=False).map(repr),
        st.sampled_from(["avg(A, 10m)", "ewma(B, 20)", "rate(B, 1h, 1m)", "zscore(A, 5)"]),
    )
    if depth == 0:
        return leaf
    sub, cond = numbers(depth - 1), conditions(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "**"]), sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub.map(lambda s: f"-{s}"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(sub, min_size=2, max_size=4)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        sub.map(lambda s: f"abs({s})"),
        st.tuples(sub, sub, sub).map(lambda t: f"clamp({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(cond, sub, sub).map(lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"),
    )


def conditions(depth: int):
    leaf = st.sampled_from(["PUMP1.RUN", "true", "false"])
    if depth == 0:
        return leaf
    sub, num = conditions(depth - 1), numbers(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(num, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), num).map(lambda t: " ".join(t)),
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda s: f"not ({s})"),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(numbers(3), conditions(3)))
def test_random_well_formed_trees_compile_and_evaluate(text):
    expression, errors = compile_expression(text, TAGS)
    if errors:  # only a size limit may refuse a well-formed tree
        assert all("deeper" in e.message or "parts" in e.message or "longer" in e.message for e in errors)
        return
    try:
        result = expression.evaluate(ENV)
    except EVAL_ERRORS:
        return
    assert isinstance(result, bool) if expression.kind is Kind.BOOL else isinstance(result, float)
    assert expression.kind is Kind.BOOL or math.isfinite(result) or math.isinf(result) or math.isnan(result)


def test_a_tree_is_parsed_without_recursion_whatever_its_depth():
    tree, errors = parse("-" * 1500 + "1")
    assert tree is None and "nested deeper" in errors[0].message


# ---------------------------------------------------------------------------- hmi check

RULES_PROJECT = """\
name: Rules Plant
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}
tags:
  PUMP1.VIBRATION: {connection: plc1, address: "hr:0", type: float32, units: mm/s}
  PUMP1.TEMP: {connection: plc1, address: "hr:2", type: float32}
  PUMP1.RUN: {connection: plc1, address: "co:0", type: bool}
  PUMP1.SPEED_SP: {connection: plc1, address: "hr:10", type: uint16, writable: true, rule_writable: true}
rules:
  pump1_wear:
    when: "ewma(PUMP1.VIBRATON, 10m) > 7.1 and (rate(PUMP1.TEMP, 30m) > 0.5"
    for: 2m
    do:
      - {raise: maintenance, message: "Pump 1 bearing wear suspected"}
      - {write: PUMP1.SPEED_SP, value: "min(PUMP1.SPEED_SP, 1200) + PUMP1.RUN", rate_limit: 50/min}
  pump1_hot:
    when: "PUMP1.TEMPERATURE > 80"
    do: [{log: hot}]
"""


def test_hmi_check_prints_a_syntax_error_an_unknown_tag_and_a_type_error_at_line_and_column(tmp_path):
    write_project(tmp_path, RULES_PROJECT)
    result = subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 2, result.stdout + result.stderr
    path = tmp_path / "project.yaml"
    out = result.stdout
    assert f"{path}:11:76: rule 'pump1_wear': when: syntax error: the expression ends too soon" in out
    assert f"{path}:15:67: rule 'pump1_wear': value: type error: '+' needs a number, not a bool" in out
    assert f"{path}:17:12: rule 'pump1_hot': when: unknown tag 'PUMP1.TEMPERATURE'" in out
    assert all(line.startswith(f"{path}:") for line in out.splitlines())  # one line per error
    # and for people, on stderr, each expression with a caret under the place
    lines = result.stderr.splitlines()
    at = lines.index("    min(PUMP1.SPEED_SP, 1200) + PUMP1.RUN")
    assert lines[at + 1].index("^") - lines[at].index("m") == len("min(PUMP1.SPEED_SP, 1200) ")


def test_check_refuses_a_cycle_between_derived_tags_and_a_write_to_a_tag_not_rule_writable(tmp_path):
    from hmi.project.loader import check_project

    write_project(
        tmp_path,
        RULES_PROJECT.split("rules:")[0]
        + """\
  PUMP1.RUN_SP: {connection: plc1, address: "hr:11", type: uint16, writable: true}
  PUMP1.MODE: {connection: plc1, address: "hr:12", type: uint16, rule_writable: true}
  X: {expr: "Y + 1"}
  Y: {expr: "X * 2"}
rules:
  r1:
    when: "PUMP1.TEMP > 1"
    do: [{write: PUMP1.RUN_SP, value: 1}]
""",
    )
    messages = [error.message for error in check_project(tmp_path)]
    assert any("cycle between derived tags: X -> Y -> X" in m or "Y -> X -> Y" in m for m in messages), (
        messages
    )
    assert any("tag 'PUMP1.RUN_SP' is not marked rule_writable: true" in m for m in messages), messages
    assert "tag 'PUMP1.MODE': rule_writable needs writable: true" in messages, messages
