"""System tags (``SYSTEM.``...) behave like every other tag: checked references, history, alarms, screens."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from modbus_peer import server_process, wait_for
from project_files import BASE, line_of, messages, write_project

from hmi.alarms.engine import AlarmState
from hmi.core.station import DISK_FULL_ALARM, Station
from hmi.historian.reader import HistoryReader
from hmi.model import DataType, Quality, Reason
from hmi.project.loader import check_project, load_project

SCREEN = """\
title: Status
size: [400, 200]
items:
  - {type: value, id: link, x: 10, y: 10, w: 200, h: 40, tag: SYSTEM.LINK.plc1.UP}
  - {type: value, id: disk, x: 10, y: 60, w: 200, h: 40, tag: SYSTEM.HISTORY.DISK_FULL}
  - {type: value, id: typo, x: 10, y: 110, w: 200, h: 40, tag: SYSTEM.LINK.plcX.UP}
"""


def test_screens_and_alarms_on_system_tags_validate_and_a_link_typo_is_a_file_line_error(
    tmp_path: Path,
) -> None:
    text = """\
    alarms:
      PLC1.DOWN: {tag: SYSTEM.LINK.plc1.UP, type: lo, limit: 0.5, priority: high}
      DISK: {tag: SYSTEM.HISTORY.BACKLOG, type: hi, limit: 100000}
      TYPO: {tag: SYSTEM.LINK.plcX.UP, type: lo, limit: 0.5}
      STATE: {tag: SYSTEM.LINK.plc1.STATE, type: hi, limit: 0.5}
    """
    assert messages(tmp_path, textwrap.dedent(text)) == [
        "11: alarm 'TYPO': unknown tag 'SYSTEM.LINK.plcX.UP' (did you mean 'SYSTEM.LINK.plc1.UP'?)",
        "12: alarm 'STATE': tag 'SYSTEM.LINK.plc1.STATE' is string; limit alarms need a number",
    ]
    write_project(tmp_path, BASE, {"status": SCREEN})
    [error] = check_project(tmp_path)
    screen_file = tmp_path / "screens" / "status.yaml"
    assert (error.file, error.line) == (screen_file, line_of(screen_file, "plcX"))
    assert "unknown tag 'SYSTEM.LINK.plcX.UP'" in error.message


def test_the_loaded_project_carries_the_system_tags_apart_from_the_engineers(tmp_path: Path) -> None:
    screen = "\n".join(line for line in SCREEN.splitlines() if "plcX" not in line)
    write_project(tmp_path, BASE, {"status": screen})
    project = load_project(tmp_path)
    assert project.tags.keys() == {"LEVEL", "RUN"}
    assert {"SYSTEM.HISTORY.DISK_FULL", "SYSTEM.LINK.plc1.UP", "SYSTEM.LINK.ua1.STATE"} <= set(
        project.system_tags
    )
    up = project.tag("SYSTEM.LINK.plc1.UP")
    assert up is not None and (up.connection, up.source, up.type) == (None, "system", DataType.BOOL)
    assert [item.tag for item in project.screens["status"].items] == [
        "SYSTEM.LINK.plc1.UP",
        "SYSTEM.HISTORY.DISK_FULL",
    ]


def test_an_engineer_cannot_define_a_tag_under_system(tmp_path: Path) -> None:
    text = '  SYSTEM.MINE: {connection: plc1, address: "hr:5", type: uint16}\n'
    assert messages(tmp_path, text) == [
        "8: tag 'SYSTEM.MINE': names under 'SYSTEM.' are reserved for the station's own tags, "
        "which need no definition"
    ]


def test_a_bool_takes_a_limit_alarm_as_a_switch_only(tmp_path: Path) -> None:
    text = """\
    alarms:
      STOPPED: {tag: RUN, type: lo, limit: 0.5}
      NEVER: {tag: RUN, type: hi, limit: 1}
    """
    assert messages(tmp_path, textwrap.dedent(text)) == [
        "10: alarm 'NEVER': tag 'RUN' is bool; limit alarms need a number"
    ]


PROJECT = """\
name: Link watch
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms, normal: 1s}}
history: {{commit_interval: 200ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:3", type: uint16, scan: fast}}
alarms:
  PLC1.DOWN: {{tag: SYSTEM.LINK.plc1.UP, type: lo, limit: 0.5, priority: high, message: "PLC 1 link down"}}
"""


async def test_a_dead_plc_drops_its_link_tag_raises_the_alarm_and_history_keeps_both(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), encoding="utf-8")
    project = load_project(tmp_path)
    station = Station(project, tmp_path / "history.db")
    values, alarm = station.runtime.values, station.alarms.statuses["PLC1.DOWN"]
    try:
        async with server_process(port) as server:
            await station.start()
            await wait_for(lambda: values["SYSTEM.LINK.plc1.UP"].value is True, within=10)
            await wait_for(lambda: values["SYSTEM.HISTORY.DISK_FULL"].is_good, within=3)
            assert alarm.state is AlarmState.NORMAL
            assert values["SYSTEM.HISTORY.DISK_FULL"].value is False
            assert values["SYSTEM.LINK.plc1.STATE"].value == "connected"
            server.kill()
        await wait_for(lambda: alarm.state is AlarmState.UNACKED, within=5)
        link = values["SYSTEM.LINK.plc1.UP"]
        assert link.is_good and link.value is False, "a lost link is a good 'false', not a bad value"
        assert values["SYSTEM.LINK.plc1.STATE"].value in ("backing off", "connecting")
        assert alarm.message == "PLC 1 link down"
        await wait_for(lambda: station.history.stats()["pending"] == 0, within=5)
    finally:
        await station.stop()

    reader = HistoryReader(station.history_path)
    try:
        up = [(row.value, row.quality) for row in reader.iter_rows("SYSTEM.LINK.plc1.UP")]
        good = [value for value, quality in up if quality is Quality.GOOD]
        assert good[-2:] == [1.0, 0.0], up
        assert up[-1] == (0.0, Quality.BAD), "a stopped station's link tag ends not connected"
        last = reader.last("SYSTEM.LINK.plc1.UP")
        assert last is not None and last.reason == Reason.NOT_CONNECTED.value
        disk = list(reader.iter_rows("SYSTEM.HISTORY.DISK_FULL"))
        assert disk and disk[0].value == 0.0 and disk[0].quality is Quality.GOOD
        assert reader.count("SYSTEM.HISTORY.OK") > 0
    finally:
        reader.close()


async def test_the_built_in_disk_full_alarm_is_an_alarm_on_the_system_tag(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text("name: Empty\n", encoding="utf-8")
    station = Station(load_project(tmp_path), tmp_path / "history.db")
    definition = station.alarms.statuses[DISK_FULL_ALARM].definition
    assert definition.tag == "SYSTEM.HISTORY.DISK_FULL" and definition.priority == "urgent"
    assert "SYSTEM.HISTORY.DISK_FULL" in station.runtime.tags


@pytest.mark.gui
def test_the_demo_pump_screen_shows_the_link_and_disk_state(running_demo: Any, qtbot: Any) -> None:
    _project, _session, window = running_demo
    window.context.show_tags("test watch list", ["SYSTEM.LINK.plc1.UP"])  # awaited before its screen shows
    qtbot.waitUntil(lambda: window.latest.get("SYSTEM.LINK.plc1.UP") is not None, timeout=20000)
    window.show_screen("pump1")
    link = window.screen_view.items_by_id["status_link_plc1"]
    disk = window.screen_view.items_by_id["status_disk_full"]
    qtbot.waitUntil(lambda: link.value_text() == "ON", timeout=20000)
    qtbot.waitUntil(lambda: disk.value_text() == "OFF", timeout=5000)
    assert window.latest["SYSTEM.LINK.plc1.UP"].is_good
