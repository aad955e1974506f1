"""``type: expr`` alarms: ``when:`` in the rules language, judged on each input's change; ``hmi check``."""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server, wait_for
from project_files import BASE, write_project

from hmi.alarms.engine import AlarmEngine, AlarmEvent, AlarmState, EventKind
from hmi.app.cli import main
from hmi.core.alarm_expressions import AlarmExpressions
from hmi.core.station import Station
from hmi.model import Quality, Reason, Sample
from hmi.project.loader import load_project

ALARM_LINE = BASE.count("\n") + 2
DRY = '  PUMP.DRY: {tag: RUN, type: expr, when: "RUN and LEVEL < 5", priority: high}\n'


def engine_of(root: Path) -> tuple[AlarmEngine, list[AlarmEvent]]:
    write_project(root, BASE + "alarms:\n" + DRY)
    project = load_project(root)
    engine = AlarmEngine(project.alarms, expression=AlarmExpressions(project.alarms, project.tags))
    events: list[AlarmEvent] = []
    engine.subscribe(lambda event, _status: events.append(event))
    return engine, events


def test_an_input_that_is_not_the_alarm_tag_raises_and_clears_it(tmp_path: Path) -> None:
    engine, events = engine_of(tmp_path)
    status = engine.statuses["PUMP.DRY"]
    engine.on_samples([("RUN", Sample.good(True)), ("LEVEL", Sample.good(20.0))])
    assert status.state is AlarmState.NORMAL and events == []
    engine.on_sample("LEVEL", Sample.good(3.0))  # only LEVEL changed: the alarm is on RUN
    assert status.state is AlarmState.UNACKED and [e.kind for e in events] == [EventKind.RAISED]
    engine.on_sample("RUN", Sample.good(False))
    assert status.state is AlarmState.RETURNED_UNACKED and events[-1].kind is EventKind.CLEARED


def test_a_bad_input_holds_the_alarm_and_shows_bad_quality(tmp_path: Path) -> None:
    engine, events = engine_of(tmp_path)
    status = engine.statuses["PUMP.DRY"]
    engine.on_samples([("RUN", Sample.good(True)), ("LEVEL", Sample.good(3.0))])
    assert status.state is AlarmState.UNACKED
    engine.on_sample("LEVEL", Sample.bad(Reason.COMM_FAILURE))
    assert status.bad_quality and status.state is AlarmState.UNACKED
    assert events[-1].kind is EventKind.QUALITY_BAD and "LEVEL" in events[-1].message
    engine.on_sample("RUN", Sample.good(False))  # held: a bad input, nothing judged
    assert status.state is AlarmState.UNACKED
    engine.on_sample("LEVEL", Sample.good(30.0))
    assert not status.bad_quality and status.state is AlarmState.RETURNED_UNACKED
    assert [e.kind for e in events][-2:] == [EventKind.QUALITY_GOOD, EventKind.CLEARED]


def test_nothing_is_judged_before_every_input_has_a_value(tmp_path: Path) -> None:
    engine, events = engine_of(tmp_path)
    engine.on_sample("LEVEL", Sample.good(1.0))
    assert engine.statuses["PUMP.DRY"].state is AlarmState.NORMAL and events == []


@pytest.mark.parametrize(
    "when, at, message",
    [
        ("RUN and (LEVEL < 5", "", "alarm 'PUMP.DRY': when: syntax error"),
        ("RUN and LEVL < 5", "LEVL", "alarm 'PUMP.DRY': when: unknown tag 'LEVL'"),
        ("LEVEL + 1", "", "alarm 'PUMP.DRY': when: must be true or false"),
        ("avg(LEVEL, 1m) < 5", "", "alarm 'PUMP.DRY': when: window functions need history"),
    ],
)
def test_hmi_check_reports_the_expression_at_file_line_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], when: str, at: str, message: str
) -> None:
    """The line always; the column of the place when the checker names one (an unknown tag)."""
    line = DRY.replace("RUN and LEVEL < 5", when)
    write_project(tmp_path, BASE + "alarms:\n" + line)
    assert main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr()
    found = [line for line in (out.out + out.err).splitlines() if message in line]
    assert found, out.out + out.err
    assert f"project.yaml:{ALARM_LINE}:" in found[0]
    if at:
        column = line.index(when) + when.index(at) + 1
        assert f"project.yaml:{ALARM_LINE}:{column}:" in found[0], found[0]


def test_an_expr_alarm_checks_clean(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "alarms:\n" + DRY)
    assert main(["check", str(tmp_path)]) == 0


PLANT = """\
name: Expression alarm
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  RUN: {{connection: plc1, address: "co:0", type: bool, scan: fast}}
alarms:
  PUMP.DRY: {{tag: RUN, type: expr, when: "RUN and LEVEL < 5", priority: high}}
"""
FC_WRITE_REGISTER = 6


async def test_a_station_raises_and_clears_an_expr_alarm_on_plc_values(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PLANT.format(port=port)), encoding="utf-8")
    async with modbus_server(port, device(hr=[50] * 10, co=[True] * 10)) as server:
        station = Station(load_project(tmp_path), tmp_path / "history.db")
        await station.start()
        try:
            status = station.alarms.statuses["PUMP.DRY"]
            await wait_for(lambda: station.runtime.values["LEVEL"].quality is Quality.GOOD, within=10)
            await server.async_setValues(1, FC_WRITE_REGISTER, 0, [2])
            await wait_for(lambda: status.active, within=10)
            await server.async_setValues(1, FC_WRITE_REGISTER, 0, [40])
            await wait_for(lambda: not status.active, within=10)
            await asyncio.sleep(0.2)  # a few commit intervals: the journal reaches the file
        finally:
            await station.stop()
    with sqlite3.connect(tmp_path / "history.db") as conn:
        rows = conn.execute("SELECT kind FROM alarm_events WHERE alarm = 'PUMP.DRY' ORDER BY seq")
        kinds = [row[0] for row in rows]
    assert kinds == ["raised", "cleared"]
