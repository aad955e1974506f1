"""An operator never writes what they did not mean: real key presses and clicks against a real PLC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from modbus_peer import plc_on_thread
from pymodbus.server import ModbusTcpServer
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from hmi.alarms.engine import AlarmState
from hmi.core.commands import AuditRecord, WriteRequest
from hmi.core.loop_thread import LoopThread
from hmi.project.loader import load_project
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.main_window import MainWindow
from hmi.ui.screen_view import ScreenView
from hmi.ui.session import GuiSession
from widgets.setpoint_entry import SetpointEntry, SetpointPanel

pytestmark = pytest.mark.gui

FC_READ_HOLDING = 3
FC_WRITE_REGISTER = 6
SPEED, VALVE, LEVEL = 10, 12, 20  # holding registers

PROJECT = """\
name: Operator
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
tags:
  PUMP1.SPEED_SP: {{connection: plc1, address: "hr:10", type: uint16, writable: true, limits: [0, 1500]}}
  VALVE1.POSITION_SP: {{connection: plc1, address: "hr:12", type: uint16, writable: true, limits: [0, 100]}}
  TANK1.LEVEL: {{connection: plc1, address: "hr:20", type: uint16, scan: fast}}
alarms:
  TANK1.LEVEL.HI: {{tag: TANK1.LEVEL, type: hi, limit: 80, priority: medium, message: "Tank 1 level high"}}
history: {{path: history.db, commit_interval: 200ms}}
"""

MAIN = """\
title: Main
size: [600, 200]
items:
  - {type: setpoint, id: speed, x: 10, y: 10, w: 300, h: 44, tag: PUMP1.SPEED_SP}
  - {type: setpoint, id: valve, x: 10, y: 70, w: 300, h: 44, tag: VALVE1.POSITION_SP}
  - {type: value, id: level, x: 330, y: 10, w: 200, h: 40, tag: TANK1.LEVEL}
"""

OTHER = """\
title: Other
size: [600, 200]
items:
  - {type: value, id: level, x: 10, y: 10, w: 200, h: 40, tag: TANK1.LEVEL}
"""


@pytest.fixture
def plc(free_port) -> Iterator[tuple[int, ModbusTcpServer, LoopThread]]:
    """A pymodbus server on its own loop thread, as a PLC runs beside the GUI."""
    registers = [0] * 60
    registers[SPEED], registers[VALVE], registers[LEVEL] = 900, 30, 10
    with plc_on_thread(free_port(), registers) as running:
        yield running


@pytest.fixture
def operator(qtbot, tmp_path: Path, plc) -> Iterator[tuple[MainWindow, list[AuditRecord], tuple]]:
    """The main window on a project of two setpoints and a level alarm, every command audited."""
    port, server, plc_thread = plc
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    (tmp_path / "screens").mkdir()
    (tmp_path / "screens" / "main.yaml").write_text(MAIN, "utf-8")
    (tmp_path / "screens" / "other.yaml").write_text(OTHER, "utf-8")
    project = load_project(tmp_path)
    trail: list[AuditRecord] = []
    session = GuiSession(project, RuntimeBridge(), audit=trail.append)
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.relay.watch(session.start(), lambda _future: None)
    try:
        qtbot.waitUntil(
            lambda: all(
                window.latest.get(tag) is not None and window.latest[tag].is_good
                for tag in ("PUMP1.SPEED_SP", "VALVE1.POSITION_SP", "TANK1.LEVEL")
            ),
            timeout=20000,
        )
        yield window, trail, (server, plc_thread)
    finally:
        window.close()
        session.stop()


def writes(trail: list[AuditRecord]) -> list[tuple[str, object]]:
    """Every write that reached the command path, whatever became of it."""
    return [(r.request.tag, r.value) for r in trail if isinstance(r.request, WriteRequest)]


def registers(plc: tuple, *addresses: int) -> list[int]:
    server, thread = plc
    return [thread.call(server.async_getValues(1, FC_READ_HOLDING, a, 1))[0] for a in addresses]


def panel_of(window: MainWindow, item: str) -> SetpointPanel:
    entry = window.screen_view.items_by_id[item]
    assert isinstance(entry, SetpointEntry)
    return entry.panel


def click_field(qtbot, view: ScreenView, panel: SetpointPanel) -> None:
    """A real click on the field, where the operator sees it on the mimic."""
    proxy = panel.graphicsProxyWidget()
    centre = QPointF(panel.entry.geometry().center())
    at = view.mapFromScene(proxy.mapToScene(centre))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.waitUntil(panel.entry.hasFocus, timeout=2000)


def press(key: Qt.Key, text: str = "") -> None:
    """A key press delivered where the keyboard focus is, as from a keyboard."""
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None
    QTest.keyClick(target, key)
    QApplication.processEvents()


def type_text(text: str) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    QTest.keyClicks(target, text)
    QApplication.processEvents()


def focus_on_write_control(window: MainWindow) -> bool:
    focus = QApplication.focusWidget()
    panels = [panel_of(window, "speed"), panel_of(window, "valve")]
    return any(focus in (p.entry, p.apply_button) for p in panels)


def test_the_reported_sequence_writes_nothing(qtbot, operator):
    """1100 typed without Enter, a new alarm, Acknowledge clicked, then Enter twice: no write at all."""
    window, trail, plc = operator
    view = window.screen_view
    speed, valve = panel_of(window, "speed"), panel_of(window, "valve")
    click_field(qtbot, view, valve)
    type_text("50")  # an old value left in the next field, as in the report
    click_field(qtbot, view, speed)
    type_text("1100")
    assert speed.pending and valve.pending
    assert speed.message_text.startswith("pending")

    server, thread = plc
    thread.call(server.async_setValues(1, FC_WRITE_REGISTER, LEVEL, [95]))
    qtbot.waitUntil(lambda: window.alarm_strip.ack.isVisible(), timeout=10000)
    qtbot.mouseClick(window.alarm_strip.ack, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            window.alarm_strip.shown is not None
            and window.alarm_strip.shown.state is AlarmState.ACKED
            and not window.alarm_strip.ack.isVisible()
        ),
        timeout=10000,
    )
    press(Qt.Key.Key_Return)
    press(Qt.Key.Key_Return)
    assert not focus_on_write_control(window)
    qtbot.wait(800)  # several scans: a write sent would have landed by now
    assert writes(trail) == []
    assert registers(plc, SPEED, VALVE) == [900, 30]
    assert not speed.busy and not valve.busy


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space, Qt.Key.Key_Tab])
def test_after_enter_the_busy_field_hands_focus_to_no_write_control(qtbot, operator, key):
    """Enter applies the field; a second key press (any of the class) reaches no other setpoint."""
    window, trail, plc = operator
    view = window.screen_view
    speed, valve = panel_of(window, "speed"), panel_of(window, "valve")
    click_field(qtbot, view, valve)
    type_text("50")
    click_field(qtbot, view, speed)
    type_text("1100")
    press(Qt.Key.Key_Return)
    assert not focus_on_write_control(window)
    press(key)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: speed.message_kind == "ok", timeout=10000)
    press(Qt.Key.Key_Return)  # the field was applied: Enter again sends nothing
    qtbot.wait(500)
    assert writes(trail) == [("PUMP1.SPEED_SP", 1100), ("PUMP1.SPEED_SP", 1100)]  # sending, done
    assert registers(plc, SPEED, VALVE) == [1100, 30]


def test_escape_and_leaving_the_screen_discard_what_was_typed(qtbot, operator):
    window, trail, _plc = operator
    view = window.screen_view
    speed, valve = panel_of(window, "speed"), panel_of(window, "valve")
    click_field(qtbot, view, speed)
    type_text("1100")
    press(Qt.Key.Key_Escape)
    assert (speed.entry.text(), speed.pending) == ("", False)

    click_field(qtbot, view, valve)
    type_text("75")
    QTest.keyClick(window, Qt.Key.Key_F2)  # Screens → Other, by its shortcut
    qtbot.waitUntil(lambda: window.screen_view is not view, timeout=2000)
    assert (valve.entry.text(), valve.pending) == ("", False)
    QTest.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.screen_view is view, timeout=2000)
    click_field(qtbot, view, valve)
    press(Qt.Key.Key_Return)  # nothing typed since: nothing applied
    qtbot.wait(300)
    assert writes(trail) == []


def test_focus_coming_back_to_the_screen_by_itself_reaches_no_field(qtbot, operator):
    """Tabbing into the mimic or the window coming back never lands in the field with the old text."""
    window, trail, _plc = operator
    view = window.screen_view
    speed = panel_of(window, "speed")
    click_field(qtbot, view, speed)
    type_text("1100")
    window.alarm_panel.ack_all_button.setFocus(Qt.FocusReason.MouseFocusReason)
    for _ in range(12):  # round the whole Tab chain of the window, and further
        press(Qt.Key.Key_Tab)
        assert not focus_on_write_control(window)
        press(Qt.Key.Key_Return)
    view.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
    press(Qt.Key.Key_Return)
    qtbot.wait(300)
    assert writes(trail) == []
    assert speed.pending  # still shown as pending until Escape, the screen changes or the timeout


@pytest.mark.parametrize("typed", ["1100", "abc", "99999"])
def test_pending_text_times_out(qtbot, typed):
    panel = SetpointPanel("Speed SP", "rpm", 0, minimum=0, maximum=1500, pending_timeout=0.2)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.keyClicks(panel.entry, typed)
    assert panel.pending and panel.message_text.startswith("pending")
    assert panel.entry.styleSheet() != SetpointPanel("x").entry.styleSheet()  # a distinct look
    qtbot.waitUntil(lambda: not panel.pending, timeout=5000)
    assert panel.entry.text() == ""
    with qtbot.assertNotEmitted(panel.sig_write_requested):
        qtbot.keyClick(panel.entry, Qt.Key.Key_Return)


def test_a_failed_write_keeps_the_text_but_enter_alone_does_not_resend_it(qtbot):
    panel = SetpointPanel("Speed SP", "rpm", 0, minimum=0, maximum=1500)
    qtbot.addWidget(panel)
    qtbot.keyClicks(panel.entry, "1200")
    with qtbot.waitSignal(panel.sig_write_requested, timeout=1000):
        qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    panel.set_write_result(False, "PLC refused the write")
    assert panel.entry.text() == "1200" and panel.pending
    with qtbot.assertNotEmitted(panel.sig_write_requested):
        qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    qtbot.keyClick(panel.entry, Qt.Key.Key_Backspace)
    qtbot.keyClicks(panel.entry, "0")
    with qtbot.waitSignal(panel.sig_write_requested, timeout=1000):
        qtbot.keyClick(panel.entry, Qt.Key.Key_Return)


def test_write_controls_take_focus_by_click_only(qtbot):
    panel = SetpointPanel("Speed SP", "rpm", 0)
    qtbot.addWidget(panel)
    assert panel.entry.focusPolicy() == Qt.FocusPolicy.ClickFocus
    assert panel.apply_button.focusPolicy() == Qt.FocusPolicy.NoFocus
