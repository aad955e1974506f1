"""A real PLC, runtime and window: the mark beside the value, the horn and F12, history, click-through."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alarm_window import alarm_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from hmi.ui.alarm_horn import HornState
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession
from widgets.alarm_mark import MarkState

pytestmark = pytest.mark.gui

PROJECT = """\
name: Marks
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  TEMP: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
alarms:
  LEVEL.HI: {{tag: LEVEL, type: hi, limit: 80, priority: high, message: "Level high", screen: main}}
  TEMP.HI: {{tag: TEMP, type: hi, limit: 90, priority: low, message: "Temperature high", screen: other}}
history: {{path: history.db, commit_interval: 100ms}}
"""

MAIN = """\
size: [400, 100]
items:
  - {type: value, id: level, x: 10, y: 10, w: 200, h: 30, tag: LEVEL}
"""

OTHER = """\
size: [400, 100]
items:
  - {type: value, id: temp, x: 10, y: 10, w: 200, h: 30, tag: TEMP}
"""


@pytest.fixture
def running(qtbot: Any, tmp_path: Path, free_port: Any) -> Iterator[tuple[MainWindow, GuiSession]]:
    screens = {"main": MAIN, "other": OTHER}
    with alarm_window(qtbot, tmp_path, free_port, PROJECT, screens, MainWindow.on_runtime_started) as running:
        yield running


def journalled(session: GuiSession) -> int:
    """Raise events committed to the journal so far."""
    with closing(sqlite3.connect(f"{session.history_path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM alarm_events WHERE kind = 'raised'").fetchone()[0])


def test_the_mark_blinks_beside_the_value_the_horn_sounds_and_f12_silences_it(
    qtbot: Any, running: Any
) -> None:
    window, _session = running
    mark = window.screens["main"].alarm_marks["LEVEL"][0]
    assert mark.isVisible() and mark.state is MarkState.UNACKED and mark.priority == "high"
    assert window.horn.state is HornState.SOUNDING  # high: at the default threshold (low is below it)
    assert window.alarm_strip.silence.isVisible() and window.alarm_strip.blinking
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_F12)
    assert window.horn.state is HornState.SILENCED and not window.alarm_strip.silence.isVisible()

    QTest.mouseClick(window.alarm_strip.ack, Qt.MouseButton.LeftButton)  # the banner's top alarm: LEVEL.HI
    qtbot.waitUntil(lambda: mark.state is MarkState.ACKED, timeout=10000)
    assert mark.isVisible() and mark.filled
    assert window.horn.state is HornState.QUIET  # nothing at or above high waits any more


def test_enter_on_an_alarm_opens_its_screen_framing_the_value_then_history_lists_the_journal(
    qtbot: Any, running: Any
) -> None:
    window, session = running
    panel = window.alarm_panel
    assert window.screen_view is window.screens["main"]
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 3).text() == "TEMP.HI")
    item = panel.table.item(row, 0)
    QTest.mouseClick(
        panel.table.viewport(), Qt.MouseButton.LeftButton, pos=panel.table.visualItemRect(item).center()
    )
    QTest.keyClick(panel.table, Qt.Key.Key_Return)
    assert window.screen_view is window.screens["other"] and window.screen_view.selected_tag == "TEMP"

    qtbot.waitUntil(lambda: journalled(session) >= 2, timeout=10000)  # both raises committed
    with qtbot.waitSignal(panel.sig_history_shown, timeout=10000):
        QTest.mouseClick(panel.history_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.history_rows) >= 2, timeout=10000)
    alarms = {panel.table.item(r, 3).text() for r in range(panel.table.rowCount())}
    assert {"LEVEL.HI", "TEMP.HI"} <= alarms
