"""The alarm types on a running station against a real Modbus server: deviation, discrete, bad quality.

And suppression by design by a PLC bit: the alarm is journalled while suppressed and announced
when the bit drops with the condition still there.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from hmi.alarms.engine import AlarmState, EventKind
from hmi.core.station import Station
from hmi.project.loader import load_project

FC_WRITE_REGISTERS = 16
FC_WRITE_COILS = 15

PROJECT = """\
name: Alarm types
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  TEMP: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  TEMP_SP: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
  PUMP.TRIPPED: {{connection: plc1, address: "co:0", type: bool, scan: fast}}
  PLANT.STOPPED: {{connection: plc1, address: "co:1", type: bool, scan: fast}}
alarms:
  TEMP.DEV: {{tag: TEMP, type: deviation, setpoint: TEMP_SP, limit: 5, deadband: 1, priority: high,
             cause: "Cooling valve stuck", consequence: "Product off-spec", action: "Open the bypass"}}
  PUMP.TRIP: {{tag: PUMP.TRIPPED, type: discrete, normal: false, suppress_when: PLANT.STOPPED}}
  TEMP.BAD: {{tag: TEMP, type: bad_quality, priority: low}}
"""


async def test_deviation_discrete_suppression_and_bad_quality_on_a_live_station(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), "utf-8")
    project = load_project(tmp_path)
    assert project.alarms["TEMP.DEV"].action == "Open the bypass"
    events: list[tuple[str, EventKind]] = []
    async with modbus_server(port, device(hr=[60, 60] + [0] * 48, co=[False, True] + [False] * 48)) as server:
        station = Station(project, project.history.path)
        station.alarms.subscribe(lambda event, _status: events.append((event.alarm, event.kind)))
        await station.start()
        try:
            statuses = station.alarms.statuses
            dev, trip, bad = statuses["TEMP.DEV"], statuses["PUMP.TRIP"], statuses["TEMP.BAD"]
            values = station.runtime.values
            await wait_for(lambda: dev.value == 60 and values["PLANT.STOPPED"].value, within=10)
            assert dev.state is AlarmState.NORMAL

            await server.async_setValues(1, FC_WRITE_REGISTERS, 1, [50])  # the setpoint moves away
            await wait_for(lambda: dev.state is AlarmState.UNACKED, within=10)
            await server.async_setValues(1, FC_WRITE_REGISTERS, 0, [54])  # within the band again
            await wait_for(lambda: dev.state is AlarmState.RETURNED_UNACKED, within=10)

            await server.async_setValues(1, FC_WRITE_COILS, 0, [True])  # tripped while the plant is stopped
            await wait_for(lambda: trip.alarmed, within=10)
            assert trip.state is AlarmState.SUPPRESSED and trip not in station.alarms.shown()
            await server.async_setValues(1, FC_WRITE_COILS, 1, [False])  # the plant runs: announced
            await wait_for(lambda: trip.state is AlarmState.UNACKED, within=10)
        finally:
            await station.stop()
    assert bad.state is AlarmState.NORMAL  # the values were good all along
    changes = (EventKind.SUPPRESSED, EventKind.RAISED, EventKind.UNSUPPRESSED)
    trip_events = [kind for alarm, kind in events if alarm == "PUMP.TRIP" and kind in changes]
    assert trip_events == list(changes), "journalled while suppressed, announced when it ended"


async def test_a_lost_link_raises_the_bad_quality_alarm(tmp_path: Path, free_port: Callable[[], int]) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), "utf-8")
    project = load_project(tmp_path)
    async with modbus_server(port, device(hr=[60, 60] + [0] * 48)):
        station = Station(project, project.history.path)
        await station.start()
        try:
            await wait_for(lambda: station.alarms.statuses["TEMP.DEV"].value == 60, within=10)
            bad = station.alarms.statuses["TEMP.BAD"]
            assert bad.state is AlarmState.NORMAL
        except BaseException:
            await station.stop()
            raise
    try:
        await wait_for(lambda: bad.state is AlarmState.UNACKED, within=15)  # the server is gone
    finally:
        await station.stop()
