"""One write check for everyone: hmi check (screen buttons), the setpoint feedback and the runtime agree.

They agree because they are one function; these tests pin the cases that used to
disagree, and a property test holds the three call sites to the same answers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmi.core.write_check import coerce_for_write, write_problem
from hmi.model import DataType, TagDef, WriteError
from hmi.model.symbol_props import ButtonProps, WriteAction
from hmi.project.loader import check_project
from hmi.project.screens import ScreenContext, _button_issues
from hmi.ui.write_feedback import setpoint_validator

PROJECT = """\
name: Agreement
connections:
  plc1: {driver: modbus, host: 127.0.0.1}
tags:
  FLAG: {connection: plc1, address: "co:0", type: bool, writable: true}
  COUNT: {connection: plc1, address: "hr:0", type: uint16, writable: true}
  BIG: {connection: plc1, address: "hr:4", type: int64, writable: true}
"""


def project_with_button(root: Path, tag: str, value: str) -> Path:
    (root / "project.yaml").write_text(PROJECT, "utf-8")
    (root / "screens").mkdir(exist_ok=True)
    action = f"{{write: {{tag: {tag}, value: {value}}}}}"
    item = f"{{type: button, id: b, x: 0, y: 0, w: 50, h: 20, props: {action}}}"
    screen = f"size: [400, 300]\nitems:\n- {item}\n"
    (root / "screens" / "main.yaml").write_text(screen, "utf-8")
    return root


def hmi_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "check", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def writable(type_: DataType, limits: tuple[float, float] | None = None, **kw: Any) -> TagDef:
    return TagDef("T", "plc1", "hr:0", type_, writable=True, limits=limits, **kw)


def test_a_button_writing_70000_to_a_uint16_is_a_file_line_error_of_hmi_check(tmp_path: Path) -> None:
    result = hmi_check(project_with_button(tmp_path, "COUNT", "70000"))
    assert result.returncode == 2
    main = tmp_path / "screens" / "main.yaml"
    assert f"{main}:3: item 'b': write to 'COUNT' refused: 70000 does not fit uint16" in result.stdout
    with pytest.raises(WriteError, match="70000 does not fit uint16"):
        coerce_for_write(writable(DataType.UINT16), 70000)


@pytest.mark.parametrize(("yaml_value", "expected"), [("1", True), ("0", False), ("true", True)])
def test_a_bool_button_is_accepted_by_hmi_check_as_the_runtime_accepts_it(
    tmp_path: Path, yaml_value: str, expected: bool
) -> None:
    assert check_project(project_with_button(tmp_path, "FLAG", yaml_value)) == []
    as_loaded = {"1": 1, "0": 0, "true": True}[yaml_value]  # what the YAML loader hands over
    assert coerce_for_write(writable(DataType.BOOL), as_loaded) is expected


def test_hmi_check_accepts_the_int64_button_and_the_runtime_keeps_it_exact(tmp_path: Path) -> None:
    assert check_project(project_with_button(tmp_path, "BIG", str(2**60 + 1))) == []
    for given_value in (2**60 + 1, "1152921504606846977", " 1152921504606846977 ", "1152921504606846977.0"):
        result = coerce_for_write(writable(DataType.INT64), given_value)
        assert result == 2**60 + 1 and type(result) is int
    assert coerce_for_write(writable(DataType.UINT64), str(2**64 - 1)) == 2**64 - 1
    with pytest.raises(WriteError, match="does not fit uint64"):
        coerce_for_write(writable(DataType.UINT64), str(2**64))
    with pytest.raises(WriteError, match="does not fit int64"):
        coerce_for_write(writable(DataType.INT64), "1e30")


def test_huge_text_is_refused_without_building_the_number() -> None:
    with pytest.raises(WriteError, match="does not fit int64"):
        coerce_for_write(writable(DataType.INT64), "1e999999999")
    with pytest.raises(WriteError, match="does not fit int32"):
        coerce_for_write(writable(DataType.INT32), "9" * 5000)


# --- property: the three call sites are one function ------------------------------------------------

TYPES = st.sampled_from(list(DataType))
LIMIT = st.one_of(st.integers(-(2**65), 2**65), st.floats(allow_nan=False, allow_infinity=False))
LIMITS = st.one_of(st.none(), st.tuples(LIMIT, LIMIT).map(sorted).map(tuple))
WORDS = st.sampled_from(
    ["on", "OFF", "true", "no", "start", "maybe", "", " 12,5 ", "1e3", "nan", "-inf", "0x10", "1_000"]
)
VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    WORDS,
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=12),
)


def _runtime_answer(tag: TagDef, value: Any) -> tuple[bool, Any]:
    try:
        return True, coerce_for_write(tag, value)
    except WriteError as error:
        return False, str(error)


@settings(max_examples=400, deadline=None)
@given(type_=TYPES, limits=LIMITS, value=VALUES, writable_tag=st.booleans())
def test_hmi_check_the_setpoint_feedback_and_the_runtime_agree(
    type_: DataType, limits: tuple[float, float] | None, value: Any, writable_tag: bool
) -> None:
    tag = TagDef("T", "plc1", "hr:0", type_, writable=writable_tag, limits=limits, units="rpm")
    accepted, outcome = _runtime_answer(tag, value)
    problem = write_problem(tag, value)
    assert (problem is None) == accepted
    if not accepted:
        assert outcome == f"T: {problem}"

    if writable_tag:  # a read-only target is the binding rule's error in hmi check, not the value's
        context = ScreenContext(tags={"T": tag}, declared_tags={"T"}, screen_names=set())
        props = ButtonProps(write=WriteAction(tag="T", value=value))
        issues = _button_issues(("items", 0), "'b'", props, context)
        assert (issues == []) == accepted
        if issues:
            assert issues[0].message.endswith(f"refused: {problem}")

    if isinstance(value, str) and value.strip():
        # The setpoint entry is handed the operator's text; its feedback is the runtime's answer.
        fed, feedback = setpoint_validator({"T": tag}, "T")(value)
        assert (feedback == "") == accepted
        if accepted:
            assert fed == outcome and type(fed) is type(outcome)
        else:
            assert feedback == problem
