"""The operator's alarm views through real clicks and keys: blink, flood, sort, filter, guidance, history,
click-through to the alarm's screen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alarm_journal_files import journalling
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTableWidget
from waiting import wait_until

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus, EventKind
from hmi.core.resources import demo_project_dir
from hmi.model import Sample
from hmi.project.config import AlarmDef, Project
from hmi.project.loader import load_project
from hmi.ui.alarm_blink import BlinkClock
from hmi.ui.alarm_flood_badge import FloodBadge
from hmi.ui.alarm_marks import AlarmMarks
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext
from hmi.ui.screen_stack import ScreenStack
from widgets.palette import priority_look

pytestmark = pytest.mark.gui


@dataclass(frozen=True, slots=True)
class GuidedDef(AlarmDef):
    """An alarm with its rationalisation fields (the project schema adds them)."""

    cause: str = ""
    consequence: str = ""
    action: str = ""


def status(name: str, state: AlarmState, priority: str, raised_at: float, **extra: Any) -> AlarmStatus:
    tag = extra.pop("tag", "TANK1.LEVEL")
    screen = extra.pop("screen", "overview")
    area = extra.pop("area", "")
    definition = GuidedDef(
        name,
        tag,
        "hi",
        85.0,
        priority=priority,
        message=f"{name} message",
        screen=screen,
        area=area,
        cause=extra.pop("cause", ""),
    )
    return AlarmStatus(
        definition, state, value=90.0, message=definition.message, raised_at=raised_at, **extra
    )


ROWS = [
    status(
        "TANK1.TEMP.HI",
        AlarmState.UNACKED,
        "medium",
        100.0,
        tag="TANK1.TEMP",
        area="tanks",
        cause="Heater left on after the batch",
    ),
    status("PUMP1.TRIP", AlarmState.ACKED, "urgent", 400.0, tag="PUMP1.RUN", screen="pump1", area="pumps"),
    status("TANK1.LEVEL.HI", AlarmState.UNACKED, "high", 200.0, area="tanks"),
    status("PUMP2.VIB.HI", AlarmState.RETURNED_UNACKED, "low", 300.0, tag="PUMP1.VIBRATION", area="pumps"),
]


def make_context(project: Project) -> tuple[PanelContext, RuntimeBridge]:
    bridge = RuntimeBridge()
    commands = Commands(write=lambda *_a: None, acknowledge=lambda _a: None)
    return PanelContext(project, bridge, commands, FutureRelay(), lambda: None, lambda _t: None), bridge


@pytest.fixture
def window(qtbot: Any) -> Any:
    """The strip, the summary, the screens and their marks on one context, as the main window wires them."""
    project = load_project(demo_project_dir())
    context, bridge = make_context(project)
    clock = BlinkClock()
    strip, panel, stack = AlarmStrip(clock=clock), AlarmPanel(), ScreenStack(project)
    marks = AlarmMarks(stack.views, clock)
    panel.sig_alarm_activated.connect(marks.select_alarm)
    for widget in (strip, panel, stack):
        qtbot.addWidget(widget)
    for part in (strip, panel, stack, marks):
        part.attach(context)
    stack.show_screen("pump1")
    panel.resize(1200, 500)
    for widget in (strip, panel, stack):
        widget.show()
    bridge.offer_alarm_snapshot(list(ROWS))
    bridge.flush()
    yield strip, panel, stack, clock, bridge
    for part in (marks, stack, panel, strip):
        part.detach()
    context.close()


def row_names(table: QTableWidget) -> list[str]:
    return [table.item(row, 3).text() for row in range(table.rowCount())]


def click_row(qtbot: Any, table: QTableWidget, name: str, double: bool = False) -> None:
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        if item.data(Qt.ItemDataRole.UserRole) == name:
            pos = table.visualItemRect(item).center()
            qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
            if double:
                qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
            return
    raise AssertionError(f"{name} not in the table")


def test_the_banner_blinks_at_the_shared_rhythm_while_alarms_wait_and_stops_when_all_are_acknowledged(
    window: Any, qtbot: Any
) -> None:
    strip, _panel, _stack, clock, bridge = window
    assert strip.blinking and clock.running
    steady = strip.look
    qtbot.waitUntil(lambda: strip.shown_look != steady, timeout=3000)  # the real 1 Hz timer
    assert strip.shown_look.background == steady.text  # swapped colours: the same contrast
    bridge.offer_alarm_snapshot([r for r in ROWS if r.state is AlarmState.ACKED])
    bridge.flush()
    assert not strip.blinking and not clock.running and strip.shown_look == strip.look


def test_the_summary_starts_in_operator_order_and_sorts_by_a_header_click(window: Any, qtbot: Any) -> None:
    _strip, panel, *_ = window
    table = panel.table
    assert row_names(table) == ["TANK1.LEVEL.HI", "TANK1.TEMP.HI", "PUMP2.VIB.HI", "PUMP1.TRIP"]
    header = table.horizontalHeader()
    priority_x = header.sectionViewportPosition(1) + header.sectionSize(1) // 2
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(priority_x, header.height() // 2),
    )
    names = row_names(table)
    assert names[0] == "PUMP1.TRIP" or names[-1] == "PUMP1.TRIP"  # urgent at one end, low at the other
    assert {names[0], names[-1]} == {"PUMP1.TRIP", "PUMP2.VIB.HI"}
    time_x = header.sectionViewportPosition(0) + header.sectionSize(0) // 2
    point = QPoint(time_x, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=point)
    first = row_names(table)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert row_names(table) == first[::-1]
    assert set(first) == {"TANK1.TEMP.HI", "PUMP1.TRIP", "TANK1.LEVEL.HI", "PUMP2.VIB.HI"}
    # a new frame keeps the operator's sort
    panel.set_alarms(list(ROWS))
    assert row_names(table) == first[::-1]


def test_filters_by_area_priority_state_and_text_with_the_keyboard(window: Any, qtbot: Any) -> None:
    _strip, panel, *_ = window
    filters = panel.filters
    filters.area.setFocus()
    qtbot.keyClicks(filters.area, "pumps")
    assert filters.area.currentData() == "pumps"
    assert {r.name for r in panel.visible} == {"PUMP1.TRIP", "PUMP2.VIB.HI"}
    qtbot.keyClicks(filters.state, "returned")
    assert [r.name for r in panel.visible] == ["PUMP2.VIB.HI"]
    qtbot.keyClick(filters.state, Qt.Key.Key_Home)  # back to "All"
    qtbot.keyClicks(filters.priority, "urgent")
    assert [r.name for r in panel.visible] == ["PUMP1.TRIP"]
    qtbot.keyClick(filters.priority, Qt.Key.Key_Home)  # back to "All"
    qtbot.keyClick(filters.area, Qt.Key.Key_Home)  # back to "All"
    qtbot.keyClicks(panel.filter, "level")
    assert [r.name for r in panel.visible] == ["TANK1.LEVEL.HI"]
    assert "(1 shown)" in panel.summary.text()


def test_the_guidance_pane_shows_the_selected_alarms_cause_and_says_what_is_not_written(
    window: Any, qtbot: Any
) -> None:
    _strip, panel, *_ = window
    assert "Select an alarm" in panel.guidance.text()
    click_row(qtbot, panel.table, "TANK1.TEMP.HI")
    text = panel.guidance.text()
    assert panel.guidance.alarm == "TANK1.TEMP.HI"
    assert "Heater left on after the batch" in text and "Corrective action:</b> <i>not written" in text
    panel.set_alarms(list(ROWS))  # the next frame keeps the selection
    assert panel.selected_alarm() == "TANK1.TEMP.HI"


def test_double_click_and_enter_open_the_alarms_screen_and_frame_its_item(window: Any, qtbot: Any) -> None:
    _strip, panel, stack, *_ = window
    assert stack.current is stack.views["pump1"]
    click_row(qtbot, panel.table, "TANK1.TEMP.HI", double=True)
    assert stack.current is stack.views["overview"] and stack.current.selected_tag == "TANK1.TEMP"
    click_row(qtbot, panel.table, "PUMP1.TRIP")
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert stack.current is stack.views["pump1"] and stack.current.selected_tag == "PUMP1.RUN"


def test_the_shelved_list_is_reached_from_the_summary(window: Any, qtbot: Any) -> None:
    _strip, panel, _stack, _clock, bridge = window
    shelved = status("PUMP3.FLOW.LO", AlarmState.SHELVED, "high", 50.0, shelved_until=9e9, set_aside_by="al")
    bridge.offer_alarm_snapshot([*ROWS, shelved])
    bridge.flush()
    assert panel.set_aside.isVisible()
    qtbot.mouseClick(panel.set_aside_button, Qt.MouseButton.LeftButton)
    assert not panel.set_aside.isVisible()
    qtbot.mouseClick(panel.set_aside_button, Qt.MouseButton.LeftButton)
    assert panel.set_aside.isVisible() and panel.set_aside.rows[0].name == "PUMP3.FLOW.LO"
    qtbot.keyClicks(panel.filter, "TANK")  # the filter narrows the shelved list too
    assert not panel.set_aside.isVisible() and "1 shelved or out of service" in panel.summary.text()


def test_a_suppressed_alarm_is_counted_as_such_and_says_what_it_is_a_consequence_of(
    window: Any, qtbot: Any
) -> None:
    _strip, panel, _stack, _clock, bridge = window
    held = status("RULE.wear.FAULT", AlarmState.SUPPRESSED, "high", 60.0, suppressed=True)
    held = dataclasses.replace(
        held, definition=dataclasses.replace(held.definition, suppress_by="SYSTEM.LINK.plc1.LOST")
    )
    shelved = status("PUMP3.FLOW.LO", AlarmState.SHELVED, "high", 50.0, shelved_until=9e9, set_aside_by="al")
    bridge.offer_alarm_snapshot([*ROWS, held, shelved])
    bridge.flush()
    assert "1 shelved or out of service, 1 suppressed" in panel.summary.text()
    listed = panel.set_aside.table
    reasons = {listed.item(row, 0).text(): listed.item(row, 4).text() for row in range(listed.rowCount())}
    assert reasons["RULE.wear.FAULT"] == "a consequence of SYSTEM.LINK.plc1.LOST"
    assert reasons["PUMP3.FLOW.LO"] == "", "an operator's shelving shows the reason typed, here none"
    button = panel.set_aside.return_button
    assert not button.isEnabled(), "nothing selected: nothing to return"
    for name, enabled in (("RULE.wear.FAULT", False), ("PUMP3.FLOW.LO", True)):
        row = next(r for r in range(listed.rowCount()) if listed.item(r, 0).text() == name)
        at = listed.visualItemRect(listed.item(row, 0)).center()
        qtbot.mouseClick(listed.viewport(), Qt.MouseButton.LeftButton, pos=at)
        assert button.isEnabled() is enabled, name  # a design's suppression ends with its cause only


def test_isa101_colour_only_on_the_priority_cell(window: Any) -> None:
    _strip, panel, *_ = window
    table = panel.table
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            brush = table.item(row, column).background()
            if column == 1:
                assert brush.color() == priority_look(table.item(row, 1).text()).background
            else:
                assert brush.style() == Qt.BrushStyle.NoBrush


def test_the_flood_badge_shows_more_than_ten_alarms_in_ten_minutes_and_ends_by_itself(qtbot: Any) -> None:
    now = [10_000.0]
    badge = FloodBadge(clock=lambda: now[0])
    qtbot.addWidget(badge)
    events = [
        AlarmEvent(now[0] - 500 + i, f"A{i}", EventKind.RAISED, AlarmState.UNACKED, "low", 1, "")
        for i in range(10)
    ]
    acks = [AlarmEvent(now[0], "A0", EventKind.ACKNOWLEDGED, AlarmState.ACKED, "low", 1, "")] * 5
    badge.add_events(events + acks)
    assert not badge.flooding  # ten is not a flood, and acknowledgements are not alarms
    badge.add_events([AlarmEvent(now[0], "A10", EventKind.RAISED, AlarmState.UNACKED, "low", 1, "")])
    assert badge.flooding and badge.text() == "ALARM FLOOD: 11 in 10 min" and badge.isVisibleTo(badge)
    now[0] += 200  # the first ones leave the window
    badge.refresh()
    assert not badge.flooding and not badge.isVisibleTo(badge)
    badge.detach()


def write_journal(root: Path) -> Project:
    with journalling(root) as (project, engine, journal):
        engine.on_sample("LEVEL", Sample.good(85.0))
        engine.on_sample("TEMP", Sample.good(95.0))
        engine.acknowledge("TEMP.HIHI", "alice", "called the boiler house")
        wait_until(lambda: journal.stats().written == 3)
    return project


def test_history_from_the_journal_in_the_same_table_filtered_by_area(qtbot: Any, tmp_path: Path) -> None:
    project = write_journal(tmp_path)
    context, bridge = make_context(project)
    panel = AlarmPanel()
    qtbot.addWidget(panel)
    panel.attach(context)
    panel.resize(1200, 500)
    panel.show()
    context.sig_runtime_started.emit(project.history.path)
    with qtbot.waitSignal(panel.sig_history_shown, timeout=10_000):
        qtbot.mouseClick(panel.history_button, Qt.MouseButton.LeftButton)
    assert panel.showing_history and not panel.ack_button.isEnabled()
    assert panel.table.rowCount() == 3
    states = [panel.table.item(r, 2).text() for r in range(3)]
    assert any("by alice" in s for s in states)
    panel.filters.area.setFocus()
    qtbot.keyClicks(panel.filters.area, "tanks")
    assert row_names(panel.table) == ["LEVEL.HI"]
    assert panel.summary.text() == "History: 1 of 3 events"
    # new events while the history shows: it reads the journal again by itself
    with qtbot.waitSignal(panel.sig_history_shown, timeout=10_000):
        bridge.offer_alarm_event(
            AlarmEvent(0.0, "LEVEL.HI", EventKind.CLEARED, AlarmState.NORMAL, "high", 1, "")
        )
        bridge.flush()
    qtbot.mouseClick(panel.active_button, Qt.MouseButton.LeftButton)
    assert not panel.showing_history and panel.ack_button.isEnabled() and panel.table.rowCount() == 0
    panel.detach()
    context.close()
