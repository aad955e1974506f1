"""Shift hand-over: the next user logs on in one dialog, the previous is logged off, the window stays as it
is, and both are audited (a real PLC; keys and clicks)."""

from __future__ import annotations

import pytest
from security_window import GOOD, audit_steps, log_on, make_project, type_log_on, window_on, with_users

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("Keyboard event not accepted by receiving widget")]


def test_hand_over_switches_the_user_and_keeps_the_window(qtbot, tmp_path, plc):
    port, _server, _thread = plc
    with_users()
    with window_on(qtbot, make_project(tmp_path, port)) as (window, session):
        panel = window.user_panel
        assert not panel.hand_over_action.isEnabled()  # nobody to hand over from
        log_on(qtbot, window, "olga")
        qtbot.waitUntil(lambda: panel.text() == "olga (operator) · Log off", timeout=10000)
        speed = window.screen_view.items_by_id["speed"].panel
        qtbot.keyClicks(speed.entry, "321")  # half-typed: stays through the hand-over
        screen, alarms = window.screen_view, window.alarm_panel
        alarm_dock_shown = window.alarm_dock.isVisible()

        assert panel.hand_over_action.isEnabled() and panel.menu() is not None
        panel.hand_over_action.trigger()  # "Hand over…" in the user menu
        dialog = panel.dialog
        assert dialog is not None and dialog.windowTitle() == "Hand over"
        type_log_on(qtbot, dialog, "erik", "wrong password 9")  # refused: olga stays
        assert dialog.message.text() == "unknown user or wrong password" and dialog.isVisible()
        assert session.actor == "olga" and panel.text() == "olga (operator) · Log off"

        dialog.user.clear()
        type_log_on(qtbot, dialog, "erik", GOOD)
        qtbot.waitUntil(lambda: panel.text() == "erik (engineer) · Log off", timeout=10000)
        assert session.actor == "erik"
        access = session.station.access
        assert access.logged_on("erik") and not access.logged_on("olga")
        assert window.screen_view is screen and window.alarm_panel is alarms
        assert window.alarm_dock.isVisible() == alarm_dock_shown
        assert speed.entry.text() == "321"
    steps = [(actor, action, target, stage) for actor, action, target, stage, _o, _v in audit_steps(tmp_path)]
    assert steps == [
        ("olga", "log_on", "olga", "ok"),
        ("erik", "log_on", "erik", "refused"),
        ("erik", "log_on", "erik", "ok"),
        ("olga", "log_off", "olga", "ok"),
        ("erik", "hand_over", "erik", "ok"),
    ]
    assert audit_steps(tmp_path)[-1][4:] == ('"olga"', '"erik"')  # old -> new user (JSON values)
