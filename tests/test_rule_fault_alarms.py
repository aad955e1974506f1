"""A rule held because its one connection's link was lost is a consequence, not news: its fault alarm
is suppressed by design by the link alarm, on a real Modbus server whose link is cut and restored."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from hmi.alarms.builtin import link_alarm_name
from hmi.alarms.engine import AlarmState
from hmi.core.rule_fault_alarms import rule_fault_alarms
from hmi.core.station import Station
from hmi.project.loader import load_project

PROJECT = """\
name: Fault alarms
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port1}, timeout: 0.3s}}
  plc2: {{driver: modbus, host: 127.0.0.1, port: {port2}, timeout: 0.3s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 100ms}}
{settings}tags:
  A: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  B: {{connection: plc2, address: "hr:0", type: uint16, scan: fast}}
  A_SMOOTH: {{expr: "ewma(A, 3)"}}
  A_TWICE: {{expr: "A_SMOOTH * 2"}}
rules:
  direct: {{when: "A > 50", do: [{{log: "A high"}}]}}
  derived: {{when: "A_TWICE > 100", clear: "A_SMOOTH < 10", do: [{{log: "A high, smoothed"}}]}}
  both: {{when: "A + B > 100", do: [{{log: "sum high"}}]}}
  system_only: {{when: "SYSTEM.RUNTIME.ERRORS > 5", do: [{{log: "errors"}}]}}
  system_and_b: {{when: "SYSTEM.RUNTIME.ERRORS > 5 and B > 1", do: [{{log: "errors and B"}}]}}
"""


def project_at(root: Path, port1: int, port2: int, settings: str = "") -> Path:
    text = textwrap.dedent(PROJECT.format(port1=port1, port2=port2, settings=settings))
    (root / "project.yaml").write_text(text, "utf-8")
    return root


def test_a_rule_on_one_connection_is_suppressed_by_that_links_alarm(tmp_path: Path) -> None:
    alarms = rule_fault_alarms(load_project(project_at(tmp_path, 1502, 1503)))
    parents = {name: alarm.suppress_by for name, alarm in alarms.items()}
    assert parents == {
        "RULE.direct.FAULT": link_alarm_name("plc1"),
        "RULE.derived.FAULT": link_alarm_name("plc1"),  # through two derived tags, clear included
        "RULE.both.FAULT": None,  # two connections: either one's loss holds it; one parent cannot say
        "RULE.system_only.FAULT": None,  # no connection's loss holds it
        "RULE.system_and_b.FAULT": link_alarm_name("plc2"),
    }
    direct, both = alarms["RULE.direct.FAULT"], alarms["RULE.both.FAULT"]
    assert (direct.on_delay, direct.suppress_release) == (1.0, 2.0)  # fast scan: the 2 s floor
    assert (both.on_delay, both.suppress_release) == (0.0, 0.0), "unsuppressed: raised at once"


def test_with_link_alarms_off_no_fault_alarm_is_suppressed(tmp_path: Path) -> None:
    settings = "alarm_settings: {link_alarms: false}\n"
    alarms = rule_fault_alarms(load_project(project_at(tmp_path, 1502, 1503, settings)))
    assert alarms and all(alarm.suppress_by is None for alarm in alarms.values())


async def test_a_lost_link_announces_one_alarm_and_the_rules_it_holds_are_suppressed(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port1, port2 = free_port(), free_port()
    project = load_project(project_at(tmp_path, port1, port2))
    station = Station(project, tmp_path / "history.db")
    statuses = station.alarms.statuses
    link = statuses[link_alarm_name("plc1")]
    direct, both = statuses["RULE.direct.FAULT"], statuses["RULE.both.FAULT"]
    async with modbus_server(port2, device(hr=[1] * 10)):
        async with modbus_server(port1, device(hr=[1] * 10)):
            await station.start()
            try:
                up = "SYSTEM.LINK.plc1.UP"
                await wait_for(lambda: getattr(station.runtime.values.get(up), "value", None) is True, 10)
                rules = station.rules
                assert rules is not None
                await wait_for(lambda: not rules.engine.rules["direct"].held_by, within=10)
            except BaseException:
                await station.stop()
                raise
        try:  # plc1 is gone: its link drops and the rules reading A are held
            await wait_for(lambda: link.state is AlarmState.UNACKED, within=10)
            await wait_for(lambda: direct.alarmed and both.alarmed, within=10)
            assert direct.state is AlarmState.SUPPRESSED, "a consequence of the lost link: not announced"
            assert statuses["RULE.derived.FAULT"].state is AlarmState.SUPPRESSED
            assert both.state is AlarmState.UNACKED, "held by plc1 but reading plc2 too: announced"
            async with modbus_server(port1, device(hr=[1] * 10)):  # the link comes back
                await wait_for(lambda: not direct.alarmed and link.state is AlarmState.RETURNED_UNACKED, 15)
                assert direct.state is AlarmState.SUPPRESSED, "released a little after the link's return"
                await wait_for(lambda: direct.state is AlarmState.NORMAL, within=10)
        finally:
            await station.stop()
    with sqlite3.connect(tmp_path / "history.db") as conn:
        announced = conn.execute(
            "SELECT alarm FROM alarm_events WHERE kind = 'raised' AND state = 'active unacknowledged'"
        ).fetchall()
    assert sorted(name for (name,) in announced) == ["RULE.both.FAULT", link_alarm_name("plc1")]
