"""The alarm views through real clicks and key presses: banner order, filter, acknowledge, shelve."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget

from hmi.alarms.engine import AlarmState, AlarmStatus
from hmi.core.resources import demo_project_dir
from hmi.project.config import AlarmDef
from hmi.project.loader import load_project
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext
from widgets.palette import ALARM_INACTIVE, priority_look

pytestmark = pytest.mark.gui


def status(name: str, state: AlarmState, priority: str, raised_at: float, **extra: Any) -> AlarmStatus:
    definition = AlarmDef(name, "TANK1.LEVEL", "hi", 85.0, priority=priority, message=f"{name} message")
    return AlarmStatus(
        definition, state, value=90.0, message=definition.message, raised_at=raised_at, **extra
    )


ROWS = [
    status("BOILER.TEMP.HIHI", AlarmState.RETURNED_UNACKED, "urgent", 300.0),
    status("TANK1.TEMP.HI", AlarmState.UNACKED, "medium", 100.0),
    status("PUMP1.TRIP", AlarmState.ACKED, "urgent", 400.0),
    status("PUMP2.VIB.HI", AlarmState.UNACKED, "low", 200.0),
    status(
        "PUMP3.FLOW.LO",
        AlarmState.SHELVED,
        "high",
        50.0,
        shelved_until=9e9,
        set_aside_by="alice",
        set_aside_reason="transmitter fault",
    ),
]


class Recorded:
    """The command path as the panels see it, recording every request."""

    def __init__(self) -> None:
        self.acks: list[Any] = []
        self.actions: list[Any] = []

    def commands(self) -> Commands:
        return Commands(
            write=lambda *_args: None,
            acknowledge=lambda alarm: self.acks.append((alarm, "", None)),
            acknowledge_with=lambda *args: self.acks.append(args),
            alarm_action=lambda *args: self.actions.append(args),
        )


@pytest.fixture
def views(qtbot: Any) -> Any:
    project = load_project(demo_project_dir())
    bridge = RuntimeBridge()
    recorded = Recorded()
    context = PanelContext(project, bridge, recorded.commands(), FutureRelay(), lambda: None, lambda _t: None)
    strip, panel = AlarmStrip(), AlarmPanel()
    for widget in (strip, panel):
        qtbot.addWidget(widget)
        widget.attach(context)
        widget.show()
    panel.resize(1000, 500)
    bridge.offer_alarm_snapshot(list(ROWS))
    bridge.flush()
    yield strip, panel, recorded
    for widget in (strip, panel):
        widget.detach()
    context.close()


def click_row(qtbot: Any, table: QTableWidget, name: str) -> None:
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        if item.data(Qt.ItemDataRole.UserRole) == name:
            qtbot.mouseClick(
                table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center()
            )
            return
    raise AssertionError(f"{name} not in the table")


def test_the_banner_shows_the_active_unacknowledged_alarm_never_a_greyed_one(views: Any, qtbot: Any) -> None:
    strip, panel, recorded = views
    assert strip.shown is not None and strip.shown.name == "TANK1.TEMP.HI"
    assert strip.look == priority_look("medium") and strip.look != ALARM_INACTIVE
    assert "TANK1.TEMP.HI message" in strip.text.text() and "[active unacknowledged]" in strip.text.text()
    assert strip.others.text() == "2 unack (M1 L1) · 1 returned (U1) · 1 acked (U1) · 1 shelved (H1)"
    assert [r.name for r in panel.visible] == [
        "TANK1.TEMP.HI",
        "PUMP2.VIB.HI",
        "BOILER.TEMP.HIHI",
        "PUMP1.TRIP",
    ]
    qtbot.mouseClick(strip.ack, Qt.MouseButton.LeftButton)
    assert recorded.acks == [("TANK1.TEMP.HI", "", None)]


def test_a_returned_alarm_shows_greyed_only_when_nothing_is_active_and_unacknowledged(views: Any) -> None:
    strip, _panel, _recorded = views
    panel_rows = [r for r in ROWS if r.state is not AlarmState.UNACKED]
    strip.set_alarms(panel_rows)
    assert strip.shown is not None and strip.shown.name == "BOILER.TEMP.HIHI"
    assert strip.look == ALARM_INACTIVE and strip.ack.isVisibleTo(strip)


def test_filter_then_acknowledge_visible_with_a_comment(views: Any, qtbot: Any) -> None:
    _strip, panel, recorded = views
    qtbot.keyClicks(panel.filter, "pump")
    assert [r.name for r in panel.visible] == ["PUMP2.VIB.HI", "PUMP1.TRIP"]
    assert panel.table.rowCount() == 2 and "(2 shown)" in panel.summary.text()
    qtbot.keyClicks(panel.comment, "called the field operator")
    qtbot.mouseClick(panel.ack_visible_button, Qt.MouseButton.LeftButton)
    # Only the visible unacknowledged one: TANK1.TEMP.HI is filtered out, PUMP1.TRIP already acknowledged.
    assert recorded.acks == [(None, "called the field operator", ("PUMP2.VIB.HI",))]
    assert panel.comment.text() == ""


def test_shelve_the_selected_alarm_with_a_time_and_reason_then_unshelve_it(views: Any, qtbot: Any) -> None:
    _strip, panel, recorded = views
    click_row(qtbot, panel.table, "PUMP2.VIB.HI")
    assert panel.selected_alarm() == "PUMP2.VIB.HI"
    panel.shelve_time.setFocus()
    qtbot.keyClick(panel.shelve_time, Qt.Key.Key_Down)  # 15 min -> 1 h
    assert panel.shelve_time.currentText() == "1 h"
    qtbot.keyClicks(panel.comment, "chattering, work order 4711")
    qtbot.mouseClick(panel.shelve_button, Qt.MouseButton.LeftButton)
    assert recorded.actions == [("PUMP2.VIB.HI", "shelve", "chattering, work order 4711", 3600.0)]

    listed = panel.set_aside
    assert listed.isVisible() and [r.name for r in listed.rows] == ["PUMP3.FLOW.LO"]
    assert listed.table.item(0, 3).text() == "alice" and listed.table.item(0, 4).text() == "transmitter fault"
    assert "1 shelved or out of service" in panel.summary.text()
    click_row(qtbot, listed.table, "PUMP3.FLOW.LO")
    qtbot.mouseClick(listed.return_button, Qt.MouseButton.LeftButton)
    assert recorded.actions[-1] == ("PUMP3.FLOW.LO", "unshelve", "", 0.0)


def test_out_of_service_with_a_reason(views: Any, qtbot: Any) -> None:
    _strip, panel, recorded = views
    click_row(qtbot, panel.table, "BOILER.TEMP.HIHI")
    qtbot.keyClicks(panel.comment, "sensor removed for calibration")
    qtbot.mouseClick(panel.out_of_service_button, Qt.MouseButton.LeftButton)
    assert recorded.actions == [("BOILER.TEMP.HIHI", "out of service", "sensor removed for calibration", 0.0)]
