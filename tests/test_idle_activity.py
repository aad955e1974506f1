"""Automatic log-off after inactivity: keys and mouse in the window count, the toolbar counts down its last
minute, and the log-off is audited (a controllable clock; a real PLC)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from security_window import FC_READ_HOLDING, Clock, audit_steps, log_on, make_project, window_on, with_users

# Enter in a line edit goes on to the dialog's default button; QTest warns that the line edit ignored it.
pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("Keyboard event not accepted by receiving widget")]


def test_keys_and_mouse_keep_the_session_and_idleness_logs_off(qtbot, tmp_path, plc):
    port, server, plc_thread = plc
    with_users(**{"idle_logoff_seconds.operator": "120"})
    clock = Clock()
    with window_on(qtbot, make_project(tmp_path, port), clock) as (window, session):
        panel = window.user_panel
        log_on(qtbot, window, "olga")
        qtbot.waitUntil(lambda: panel.text() == "olga (operator) · Log off", timeout=10000)

        clock.advance(100)  # the last minute: the toolbar counts down
        counting = "olga (operator) · Log off · auto log-off in 20 s"
        qtbot.waitUntil(lambda: panel.text() == counting, timeout=5000)
        speed = window.screen_view.items_by_id["speed"].panel
        speed.entry.clear()
        qtbot.keyClicks(speed.entry, "1200")  # typing in the window is activity
        qtbot.waitUntil(lambda: panel.text() == "olga (operator) · Log off", timeout=5000)
        assert session.idle_remaining() == pytest.approx(120)

        clock.advance(100)
        qtbot.mouseClick(window.statusBar(), Qt.MouseButton.LeftButton)  # so is the mouse
        assert session.idle_remaining() == pytest.approx(120)
        speed.apply()
        qtbot.waitUntil(lambda: speed.message_kind == "ok", timeout=10000)
        assert plc_thread.call(server.async_getValues(1, FC_READ_HOLDING, 0, 1)) == [1200]

        clock.advance(121)  # nothing from the operator for longer than the role allows
        qtbot.waitUntil(lambda: panel.text() == "Not logged on (view only) · Log on…", timeout=5000)
        speed.entry.setText("900")
        speed.apply()
        qtbot.waitUntil(lambda: speed.message_kind == "error", timeout=10000)
        assert plc_thread.call(server.async_getValues(1, FC_READ_HOLDING, 0, 1)) == [1200]
        assert panel.activity.noticed >= 2
    steps = [(actor, action, stage) for actor, action, _t, stage, _o, _v in audit_steps(tmp_path)]
    assert steps[:5] == [
        ("olga", "log_on", "ok"),
        ("olga", "write", "sending"),
        ("olga", "write", "done"),
        ("olga", "log_off", "ok"),
        (steps[4][0], "write", "refused"),
    ]
    assert json.dumps(steps)  # plain values only


def test_a_role_without_a_limit_uses_the_installation_default(qtbot, tmp_path, plc):
    port, _server, _thread = plc
    with_users(idle_logoff_seconds="300")
    clock = Clock()
    with window_on(qtbot, make_project(tmp_path, port), clock) as (window, session):
        log_on(qtbot, window, "erik")
        qtbot.waitUntil(lambda: window.user_panel.text() == "erik (engineer) · Log off", timeout=10000)
        assert session.idle_remaining() == pytest.approx(300)
        clock.advance(299.5)
        qtbot.waitUntil(lambda: "auto log-off in 1 s" in window.user_panel.text(), timeout=5000)
        clock.advance(1)
        qtbot.waitUntil(lambda: window.user_panel.text().startswith("Not logged on"), timeout=5000)
