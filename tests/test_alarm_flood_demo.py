"""The demo's alarm flood: a surge on the plant's instruments trips real alarms through the real engine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from waiting import wait_for

from drivers.sim.plant import DemoPlant
from drivers.sim.process import SURGE_DURATION_S, SURGE_PERIOD_S, TankProcess
from hmi.alarms.engine import AlarmEvent, AlarmStatus, EventKind
from hmi.alarms.history import HistoryQuery, read_events
from hmi.alarms.kpi import build_report
from hmi.core.demo import FLOOD_AREA, demo_project, flood_alarms
from hmi.core.station import Station


def test_a_surge_swings_the_readings_high_once_per_period_then_ends() -> None:
    process = TankProcess(seed=3)
    process.start_surge()
    peaks, high = 0, False
    for _ in range(int((SURGE_DURATION_S + 10) / 0.1)):
        now_high = process.inflow > 45 and process.outflow > 55 and process.level > 95
        peaks += now_high and not high
        high = now_high
        process.step(0.1)
    assert peaks == SURGE_DURATION_S / SURGE_PERIOD_S == 5
    assert not process.surging and process.level < 95 and process.inflow < 45
    assert 10 < process.level < 95, (
        "the PLC kept acting on the true level: the tank neither emptied nor spilled"
    )


def test_the_demo_only_alarms_are_on_demo_tags() -> None:
    alarms = flood_alarms()
    assert set(alarms) == {"TANK1.LEVEL.HIHI", "TANK1.INFLOW.SURGE", "TANK1.OUTFLOW.SURGE"}
    assert {a.area for a in alarms.values()} == {FLOOD_AREA}


async def test_the_flood_comes_in_through_the_engine_and_the_report_shows_it(tmp_path: Path) -> None:
    raised: list[AlarmEvent] = []

    def on_event(event: AlarmEvent, _status: AlarmStatus) -> None:
        if event.kind is EventKind.RAISED and event.alarm in flood_alarms():
            raised.append(event)

    async with DemoPlant(seed=5) as plant:
        project = demo_project(plant, tmp_path)
        station = Station(project, project.history.path)
        station.alarms.subscribe(on_event)
        await station.start()
        try:
            await wait_for(lambda: station.runtime.values.get("TANK1.INFLOW") is not None, within=20)
            started = time.time()
            await plant.start_surge(duration=8.0, period=2.0)  # four peaks, three alarms each
            await wait_for(lambda: len(raised) >= 12, within=30)
        finally:
            await station.stop()
    assert {e.alarm for e in raised} == set(flood_alarms())
    rows = list(read_events(project.history.path, HistoryQuery()))
    report = build_report(rows, started - 1, time.time() + 1)
    [flood] = report.floods
    assert flood.count >= 12
    assert {name for name, _n in flood.top} >= set(flood_alarms())
    assert report.by_priority.get("urgent", 0) >= 4


def test_the_demo_menu_starts_the_flood(running_demo: tuple[Any, Any, Any], qtbot: Any) -> None:
    _project, session, window = running_demo
    qtbot.waitUntil(lambda: session.station is not None and session.plant is not None, timeout=30000)
    window.alarm_flood.trigger()
    qtbot.waitUntil(lambda: session.plant.process.surging, timeout=10000)
    strip = window.alarm_strip
    qtbot.waitUntil(
        lambda: strip.shown is not None and strip.shown.definition.area == FLOOD_AREA, timeout=30000
    )
