"""Rules in a whole station on a real Modbus server: a bearing wearing out, caught before its trip.

The vibration register climbs step by step on the server; a derived EWMA of it crosses the rule's
level before the raw value reaches the protection trip. The rule raises a maintenance event and
lowers the speed setpoint through the command path: the server's register shows the new speed, the
history holds it, the rule journal records the write with the rule as its actor. A second rule that
divides by zero is disabled and alarmed while the runtime carries on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from hmi.core.station import Station
from hmi.historian.reader import HistoryReader
from hmi.model import Quality
from hmi.project.loader import load_project
from hmi.rules.events import RuleState
from hmi.rules.journal import maintenance_events

PROJECT = """\
name: Wearing pump
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s}}
history: {{commit_interval: 100ms}}
tags:
  PUMP1.VIBRATION: {{connection: plc1, address: "hr:0", type: uint16, scan: fast, scale: {{gain: 0.1}},
                    units: mm/s}}
  PUMP1.SPEED_SP: {{connection: plc1, address: "hr:10", type: uint16, writable: true, rule_writable: true,
                   limits: [0, 1500], scan: fast, units: rpm}}
  PUMP1.VIB_EWMA: {{expr: "ewma(PUMP1.VIBRATION, 4)", units: mm/s}}
alarms:
  PUMP1.VIB.TRIP: {{tag: PUMP1.VIBRATION, type: hihi, limit: 11, priority: urgent}}
rules:
  pump1_wear:
    when: "PUMP1.VIB_EWMA > 7"
    clear: "PUMP1.VIB_EWMA < 5"
    do:
      - {{raise: maintenance, message: "Pump 1 bearing wear suspected", priority: high}}
      - {{write: PUMP1.SPEED_SP, value: "min(PUMP1.SPEED_SP, 1200)", min: 600, rate_limit: 600/s}}
  pump1_broken:
    when: "PUMP1.VIBRATION / (PUMP1.SPEED_SP - PUMP1.SPEED_SP) > 1"
    do: [{{log: "never reached"}}]
"""

FC_WRITE_REGISTER, FC_READ_HOLDING = 6, 3


async def test_bearing_wear_is_caught_before_the_trip_and_the_speed_reaches_the_plc(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), encoding="utf-8")
    project = load_project(tmp_path)
    hr = [0] * 50
    hr[0], hr[10] = 20, 1500
    async with modbus_server(port, device(hr=hr)) as server:
        station = Station(project, tmp_path / "history.db")
        await station.start()
        try:
            runtime, rules = station.runtime, station.rules
            assert rules is not None
            await wait_for(lambda: runtime.values["PUMP1.VIB_EWMA"].quality is Quality.GOOD, within=10)
            for raw in range(20, 125, 5):  # 2.0 -> 12.0 mm/s, one step per poll or so: bounded
                await server.async_setValues(1, FC_WRITE_REGISTER, 0, [raw])
                await wait_for(lambda raw=raw: runtime.values["PUMP1.VIBRATION"].value == raw / 10, within=5)
            await wait_for(lambda: runtime.values["PUMP1.SPEED_SP"].value == 1200, within=10)
            assert list(await server.async_getValues(1, FC_READ_HOLDING, 10, 1)) == [1200]
            engine = rules.engine
            assert engine.rules["pump1_wear"].status().state is RuleState.ACTIVE
            broken = engine.rules["pump1_broken"].status()
            assert broken.state is RuleState.ERROR and "ZeroDivisionError" in broken.last_error
            assert station.alarms.statuses["RULE.pump1_broken.FAULT"].active
            # the runtime carried on after the broken rule: the last step arrived and was seen
            assert runtime.values["PUMP1.VIBRATION"].value == 12.0
            await asyncio.sleep(0.3)  # two commit intervals: the journals reach the file
        finally:
            await station.stop()

    followed = station.store.read_since("rule_events", 0)  # what a sync cursor follows
    marked = [row for row in followed if row["kind"] == "maintenance"]
    assert (
        marked
        and marked[0]["sync"] == 1
        and [row["seq"] for row in followed] == sorted(r["seq"] for r in followed)
    )
    with sqlite3.connect(tmp_path / "history.db") as conn:
        maintenance = maintenance_events(conn)
        trips = conn.execute(
            "SELECT ts FROM alarm_events WHERE alarm = 'PUMP1.VIB.TRIP' AND kind = 'raised'"
        ).fetchall()
        writes = conn.execute(
            "SELECT rule, tag, old, new, actor FROM rule_events WHERE kind = 'write' ORDER BY seq"
        ).fetchall()
    assert [(m["rule"], m["message"]) for m in maintenance] == [
        ("pump1_wear", "Pump 1 bearing wear suspected")
    ]
    assert trips, "the ramp reached the protection trip"
    assert maintenance[0]["ts"] < trips[0][0], "the maintenance alert came before the trip"
    assert tuple(writes[-1]) == ("pump1_wear", "PUMP1.SPEED_SP", 1500.0, 1200, "pump1_wear")
    history = [row.value for row in HistoryReader(tmp_path / "history.db").iter_rows("PUMP1.SPEED_SP")]
    assert 1200 in history and history[0] == 1500
    derived = [row for row in HistoryReader(tmp_path / "history.db").iter_rows("PUMP1.VIB_EWMA")]
    assert derived and max(row.value for row in derived if row.value is not None) > 7


SEEDED = """\
name: Restarted
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 0.2s}}
history: {{commit_interval: 50ms}}
tags:
  FLOW: {{connection: plc1, address: "hr:0", type: float32}}
  FLOW.AVG: {{expr: "avg(FLOW, 1h)"}}
  FLOW.TOTAL: {{expr: "integral(FLOW, 1h, 1d)"}}
"""


async def test_windows_are_seeded_from_history_at_start(tmp_path: Path, free_port: Callable[[], int]) -> None:
    """A restart does not blind a window: the last hour of history is in it before any live sample."""
    import time

    (tmp_path / "project.yaml").write_text(SEEDED.format(port=free_port()), encoding="utf-8")
    project = load_project(tmp_path)
    first = Station(project, tmp_path / "history.db")
    await first.start()
    now = time.time()
    from hmi.model import Sample

    first.history.extend(("FLOW", Sample.good(float(i), now - 600 + i * 10)) for i in range(50))
    await asyncio.sleep(0.2)
    await first.stop()

    second = Station(project, tmp_path / "history.db")
    await second.start()  # the PLC is absent: no live sample arrives
    try:
        assert second.rules is not None and second.rules.seeded_rows >= 50
        windows = second.rules.engine.pool.by_tag["FLOW"]
        average = next(w for w in windows if type(w).__name__ == "MovingAverage")
        assert average.value() == sum(range(50)) / 50
    finally:
        await second.stop()
