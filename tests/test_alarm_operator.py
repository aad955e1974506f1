"""A real PLC, runtime and window: shelving through the summary is journalled, Ctrl+Q asks while urgent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alarm_window import alarm_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from hmi.alarms.engine import AlarmState
from hmi.core.commands import os_user
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

pytestmark = pytest.mark.gui

PROJECT = """\
name: Shelving
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  TEMP: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
alarms:
  LEVEL.HI: {{tag: LEVEL, type: hi, limit: 80, priority: high, message: "Level high ({{value}})"}}
  TEMP.HIHI: {{tag: TEMP, type: hihi, limit: 90, priority: urgent, message: "Temperature very high"}}
history: {{path: history.db, commit_interval: 100ms}}
"""

SCREEN = """\
size: [400, 100]
items:
  - {type: value, id: level, x: 10, y: 10, w: 200, h: 30, tag: LEVEL}
"""


@pytest.fixture
def operator_window(qtbot: Any, tmp_path: Path, free_port: Any) -> Iterator[tuple[MainWindow, GuiSession]]:
    with alarm_window(qtbot, tmp_path, free_port, PROJECT, {"main": SCREEN}) as running:
        yield running


def state_of(session: GuiSession, name: str) -> AlarmState:
    assert session.station is not None
    return session.station.alarms.statuses[name].state


def test_shelving_from_the_summary_is_journalled_and_undone_from_the_shelved_list(
    qtbot: Any, tmp_path: Path, operator_window: Any
) -> None:
    window, session = operator_window
    panel = window.alarm_panel
    assert window.alarm_strip.shown is not None and window.alarm_strip.shown.name == "TEMP.HIHI"
    row = next(i for i, r in enumerate(panel.visible) if r.name == "LEVEL.HI")
    item = panel.table.item(row, 0)
    QTest.mouseClick(
        panel.table.viewport(), Qt.MouseButton.LeftButton, pos=panel.table.visualItemRect(item).center()
    )
    QTest.keyClicks(panel.comment, "level transmitter under repair")
    QTest.mouseClick(panel.shelve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [r.name for r in panel.set_aside.rows] == ["LEVEL.HI"], timeout=10000)
    assert state_of(session, "LEVEL.HI") is AlarmState.SHELVED
    assert [r.name for r in panel.rows] == ["TEMP.HIHI"]

    listed = panel.set_aside.table
    QTest.mouseClick(
        listed.viewport(), Qt.MouseButton.LeftButton, pos=listed.visualItemRect(listed.item(0, 0)).center()
    )
    QTest.mouseClick(panel.set_aside.return_button, Qt.MouseButton.LeftButton)
    # Still above its limit: unshelving re-alarms it, unacknowledged.
    qtbot.waitUntil(lambda: state_of(session, "LEVEL.HI") is AlarmState.UNACKED, timeout=10000)
    qtbot.waitUntil(lambda: not panel.set_aside.isVisible(), timeout=10000)

    window.close()
    session.stop()
    with sqlite3.connect(tmp_path / "history.db") as conn:
        rows = conn.execute(
            "SELECT kind, from_state, state, user, comment FROM alarm_events"
            " WHERE alarm = 'LEVEL.HI' AND kind NOT LIKE 'quality%' ORDER BY seq"
        ).fetchall()
    me = os_user()
    assert rows == [
        ("raised", "normal", "active unacknowledged", "", ""),
        ("shelved", "active unacknowledged", "shelved", me, "level transmitter under repair"),
        ("unshelved", "shelved", "active unacknowledged", me, ""),
    ]


def test_ctrl_q_asks_while_an_urgent_alarm_is_unacknowledged(qtbot: Any, operator_window: Any) -> None:
    window, session = operator_window
    guard = window.quit_guard
    qtbot.waitUntil(lambda: [r.name for r in guard.pressing()] == ["TEMP.HIHI"], timeout=10000)
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: guard.prompt is not None and guard.prompt.isVisible(), timeout=5000)
    assert "TEMP.HIHI" in guard.prompt.text()
    QTest.keyClick(guard.prompt, Qt.Key.Key_Escape)  # Cancel: the HMI stays
    qtbot.waitUntil(lambda: guard.prompt is None, timeout=5000)
    assert window.isVisible() and session.station is not None

    # Acknowledged, nothing urgent waits: Ctrl+Q closes at once.
    window.alarm_panel.table.selectRow(
        next(i for i, r in enumerate(window.alarm_panel.visible) if r.name == "TEMP.HIHI")
    )
    QTest.mouseClick(window.alarm_panel.ack_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: guard.pressing() == [], timeout=10000)
    window.activateWindow()  # the closed question handed the focus back
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert guard.prompt is None


def test_close_anyway_closes(qtbot: Any, operator_window: Any) -> None:
    window, _session = operator_window
    guard = window.quit_guard
    qtbot.waitUntil(lambda: guard.pressing() != [], timeout=10000)
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: guard.prompt is not None and guard.prompt.isVisible(), timeout=5000)
    assert guard.close_button is not None
    QTest.mouseClick(guard.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
