"""A failure in one alarm or one runtime listener never affects another.

`hmi check` vets message templates against the fields they may use; whatever template reaches the
engine anyway, the alarm is raised (with a fallback message when formatting fails), its neighbours
on the same tag are evaluated, and every failure is counted in ``SYSTEM.RUNTIME.ERRORS``, which has
an alarm of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from modbus_peer import device, modbus_server
from project_files import BASE, write_project

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind, format_message
from hmi.core.station import RUNTIME_ERRORS_ALARM, Station
from hmi.model import DataType, Sample
from hmi.project.alarm_messages import MESSAGE_FIELDS, template_problem
from hmi.project.config import AlarmDef
from hmi.project.loader import check_project, load_project
from hmi.project.system_tags import RUNTIME_ERRORS

TYPOS = ["{value.1f}", "{valu}", "{value:.1f", "{0}", "{}", "{value[0]}", "{value!z}", "{value:%Y}", "}"]

templates = st.one_of(
    st.sampled_from(TYPOS),
    st.text(alphabet="{}:.!%[]<>^=+-#,0123456789 fdxegsrcbn" + "valuelimitagname", max_size=24),
    st.lists(
        st.one_of(
            st.sampled_from(MESSAGE_FIELDS).map(lambda f: "{" + f + "}"),
            st.tuples(
                st.sampled_from(MESSAGE_FIELDS), st.sampled_from([":.1f", ":d", ":>8", ":x", "!r", ":g"])
            ).map(lambda t: "{" + t[0] + t[1] + "}"),
            st.text(alphabet="abc %()", max_size=5),
        ),
        max_size=4,
    ).map("".join),
)
values_of = {
    DataType.FLOAT64: st.floats(-1e6, 1e6, allow_nan=False),
    DataType.UINT16: st.integers(0, 65535),
    DataType.INT32: st.integers(-(2**31), 2**31 - 1),
}


def _tag_type_and_value() -> st.SearchStrategy[tuple[DataType, Any]]:
    return st.sampled_from(list(values_of)).flatmap(lambda t: values_of[t].map(lambda v: (t, v)))


def _alarm(name: str, message: str, limit: float = 1000.0) -> AlarmDef:
    return AlarmDef(name=name, tag="PUMP.SPEED", type="hi", limit=limit, priority="high", message=message)


@settings(max_examples=300, deadline=None)
@given(templates, _tag_type_and_value())
def test_whatever_the_template_the_alarm_and_its_neighbour_are_raised(template, typed):
    _data_type, value = typed
    engine = AlarmEngine(
        {"BAD": _alarm("BAD", template, limit=-1e12), "HI": _alarm("HI", "speed high ({value})", limit=-1e12)}
    )
    events = []
    engine.subscribe(lambda event, _status: events.append(event))
    engine.on_sample("PUMP.SPEED", Sample.good(value))
    assert engine.statuses["BAD"].state is AlarmState.UNACKED
    assert engine.statuses["HI"].state is AlarmState.UNACKED
    raised = {e.alarm: e.message for e in events if e.kind is EventKind.RAISED}
    assert set(raised) == {"BAD", "HI"}  # both reach the journal
    assert raised["HI"] == f"speed high ({value})"
    assert raised["BAD"].strip() or template.strip() == "", raised
    try:
        expected: str | None = format_message(engine.statuses["BAD"].definition, value)
    except Exception:
        expected = None
    if expected is None:
        assert engine.errors == 1 and template in raised["BAD"]  # the fallback names the template as written
    else:
        assert engine.errors == 0 and raised["BAD"] == expected


@settings(max_examples=300, deadline=None)
@given(templates, _tag_type_and_value())
def test_a_template_hmi_check_accepts_never_fails_at_run_time(template, typed):
    data_type, value = typed
    if template_problem(template, data_type) is not None:
        return
    definition = dataclasses.replace(_alarm("A", template), tag="T")
    format_message(definition, value)  # must not raise


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=templates)
def test_hmi_check_rejects_a_template_that_could_fail_at_its_line(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("p")
    text = (
        BASE + f"alarms:\n  A: {{tag: LEVEL, type: hi, limit: 1,\n      message: {json.dumps(template)}}}\n"
    )
    write_project(root, text)
    errors = [f"{e.file.name}:{e.line}: {e.message}" for e in check_project(root)]
    problem = template_problem(template, DataType.FLOAT32)
    if problem is None:
        assert errors == []
    else:
        assert errors == [f"project.yaml:10: alarm 'A': {problem}"]


@pytest.mark.parametrize("template", TYPOS)
def test_each_typo_of_the_issue_is_refused_by_hmi_check(tmp_path, template):
    write_project(
        tmp_path,
        BASE + f"alarms:\n  A: {{tag: LEVEL, type: hi, limit: 1, message: {json.dumps(template)}}}\n",
    )
    errors = [f"{e.line}: {e.message}" for e in check_project(tmp_path)]
    assert len(errors) == 1 and errors[0].startswith("9: alarm 'A': "), errors
    assert "message" in errors[0] or "template" in errors[0]


def test_a_listener_that_raises_neither_stops_the_others_nor_goes_unseen():
    engine = AlarmEngine({"HI": _alarm("HI", "high {value}", limit=10)})
    seen = []

    def broken(_event: Any, _status: Any) -> None:
        raise RuntimeError("listener bug")

    engine.subscribe(broken)
    engine.subscribe(lambda event, _status: seen.append(event.alarm))
    engine.on_sample("PUMP.SPEED", Sample.good(20))
    assert seen == ["HI"] and engine.errors == 1


PROJECT = """\
name: Isolation
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 1s}}
tags:
  PUMP.SPEED: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
scan_classes: {{fast: 100ms, normal: 1s}}
alarms:
  PUMP.SPEED.HI: {{tag: PUMP.SPEED, type: hi, limit: 1000, priority: high, message: "speed {{value}} > 1000"}}
  PUMP.SPEED.TYPO: {{tag: PUMP.SPEED, type: hi, limit: 100, message: "speed {{value:.0f}}"}}
history: {{commit_interval: 100ms}}
"""


async def _wait(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):  # bounded
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_the_issue_case_on_a_real_plc_a_broken_alarm_and_listener_beside_a_good_alarm(
    tmp_path, free_port
):
    """A template typo that got past the check (forced here), and a listener that raises on every sample:
    the HI alarm still trips at 65535 > 1000, the broken one is raised with a fallback message, and
    SYSTEM.RUNTIME.ERRORS counts the failures and raises its own alarm."""
    port = free_port()
    project = load_project(write_project(tmp_path, textwrap.dedent(PROJECT.format(port=port))))
    typo = dataclasses.replace(project.alarms["PUMP.SPEED.TYPO"], message="speed {value.1f}")
    project = dataclasses.replace(project, alarms={**project.alarms, "PUMP.SPEED.TYPO": typo})
    async with modbus_server(port, device(hr=[65535] + [0] * 49)):
        station = Station(project, project.history.path)
        delivered: list[str] = []

        def broken(_tag: str, _sample: Sample) -> None:
            raise ValueError("a consumer's bug")

        station.runtime.subscribe(broken)
        station.runtime.subscribe(lambda tag, _sample: delivered.append(tag))
        await station.start()
        try:
            statuses = station.alarms.statuses
            await _wait(lambda: statuses["PUMP.SPEED.HI"].state is AlarmState.UNACKED)
            await _wait(lambda: statuses[RUNTIME_ERRORS_ALARM].state is AlarmState.UNACKED)
            assert statuses["PUMP.SPEED.HI"].message == "speed 65535 > 1000"
            assert statuses["PUMP.SPEED.TYPO"].state is AlarmState.UNACKED
            assert "speed {value.1f}" in statuses["PUMP.SPEED.TYPO"].message
            assert "PUMP.SPEED" in delivered  # the listener after the broken one was served
            assert station.runtime.values[RUNTIME_ERRORS].value >= 2  # the typo and the listener
            assert "runtime failures" in statuses[RUNTIME_ERRORS_ALARM].message
        finally:
            await station.stop()
    rows = station.store.read_since("alarms", 0)
    assert {"PUMP.SPEED.HI", "PUMP.SPEED.TYPO"} <= {r["alarm"] for r in rows if r["kind"] == "raised"}


def test_a_sound_project_counts_no_runtime_errors(tmp_path):
    """The counter is zero while nothing fails, so its alarm means something."""

    async def run() -> None:
        project = load_project(write_project(tmp_path, "name: Quiet\n"))
        station = Station(project, Path(tmp_path) / "history.db")
        await station.start()
        try:
            await _wait(lambda: station.runtime.values[RUNTIME_ERRORS].is_good)
            assert station.runtime.values[RUNTIME_ERRORS].value == 0
            assert station.alarms.statuses[RUNTIME_ERRORS_ALARM].state is AlarmState.NORMAL
        finally:
            await station.stop()

    asyncio.run(run())
