"""The log-on in the window: refused until a user logs on, the toolbar user, log off (real PLC and files)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from project_files import write_project
from security_peer import FC_READ_HOLDING, GOOD, cheap_users, modbus_project, started_window, tag_good

from hmi.project.loader import load_project
from hmi.security.paths import users_path
from hmi.security.users import UserStore
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

pytestmark = pytest.mark.gui

PROJECT = modbus_project(
    "Log-on",
    tags="""\
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
""",
    rest="""\
history: {{path: history.db, commit_interval: 200ms}}
""",
)

SCREEN = """\
size: [600, 100]
items:
  - {type: setpoint, id: speed, x: 10, y: 10, w: 300, h: 44, tag: SPEED_SP}
"""


def make_project(root: Path, port: int):
    return load_project(write_project(root, PROJECT.format(port=port), {"main": SCREEN}))


def with_users() -> None:
    cheap_users(ada="administrator", olga="operator")


def window_on(qtbot, project) -> contextlib.AbstractContextManager[tuple[MainWindow, GuiSession]]:
    return started_window(qtbot, project, tag_good("SPEED_SP"))


def log_on(qtbot, window: MainWindow, name: str, password: str) -> None:
    window.user_panel.click()
    dialog = window.user_panel.dialog
    assert dialog is not None and dialog.password.echoMode() == dialog.password.EchoMode.Password
    dialog.user.setText(name)
    dialog.password.setText(password)
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.isEnabled(), timeout=10000)


def test_a_write_is_refused_until_an_operator_logs_on_and_after_log_off(qtbot, tmp_path, plc):
    port, server, plc_thread = plc
    with_users()
    with window_on(qtbot, make_project(tmp_path, port)) as (window, _session):
        panel = window.user_panel
        qtbot.waitUntil(lambda: panel.text() == "Not logged on (view only) · Log on…", timeout=5000)
        speed = window.screen_view.items_by_id["speed"].panel

        speed.entry.setText("1200")
        speed.apply()
        qtbot.waitUntil(lambda: speed.message_kind == "error", timeout=10000)
        assert "is not logged on as a user" in speed.message_text
        assert plc_thread.call(server.async_getValues(1, FC_READ_HOLDING, 0, 1)) == [0]

        log_on(qtbot, window, "olga", "wrong password 1")
        assert panel.dialog.message.text() == "unknown user or wrong password"
        assert panel.dialog.password.text() == ""  # never kept in the widget
        panel.dialog.user.setText("olga")
        panel.dialog.password.setText(GOOD)
        panel.dialog.submit()
        qtbot.waitUntil(lambda: panel.text() == "olga (operator) · Log off", timeout=10000)

        speed.entry.setText("1200")
        speed.apply()
        qtbot.waitUntil(lambda: speed.message_kind == "ok", timeout=10000)
        assert plc_thread.call(server.async_getValues(1, FC_READ_HOLDING, 0, 1)) == [1200]

        panel.click()  # log off
        qtbot.waitUntil(lambda: panel.text().startswith("Not logged on"), timeout=10000)
        speed.entry.setText("900")
        speed.apply()
        qtbot.waitUntil(lambda: speed.message_kind == "error", timeout=10000)
        assert plc_thread.call(server.async_getValues(1, FC_READ_HOLDING, 0, 1)) == [1200]
    with contextlib.closing(sqlite3.connect(tmp_path / "history-audit.db")) as conn:
        steps = conn.execute("SELECT actor, action, stage FROM audit ORDER BY seq").fetchall()
    me = steps[0][0]
    assert steps == [
        (me, "write", "refused"),
        ("olga", "log_on", "refused"),
        ("olga", "log_on", "ok"),
        ("olga", "write", "sending"),
        ("olga", "write", "done"),
        ("olga", "log_off", "ok"),
        (me, "write", "refused"),
    ]


def test_commissioning_says_so_in_the_toolbar(qtbot, tmp_path, plc):
    port, _server, _thread = plc
    with window_on(qtbot, make_project(tmp_path, port)) as (window, session):
        qtbot.waitUntil(lambda: window.user_panel.text().startswith("No users configured"), timeout=5000)
        assert session.actor in window.user_panel.text()


def test_a_first_run_asks_for_an_administrator_and_then_acts_as_them(qtbot, tmp_path, plc):
    port, _server, _thread = plc
    with window_on(qtbot, make_project(tmp_path, port)) as (window, _session):
        panel = window.user_panel
        qtbot.waitUntil(lambda: panel.text().startswith("No users configured"), timeout=5000)
        panel.ask_for_administrator()
        dialog = panel.dialog
        assert dialog is not None and dialog.first_run and dialog.windowTitle() == "Create the administrator"

        dialog.user.setText("ada")
        dialog.password.setText(GOOD)
        dialog.again.setText(GOOD + "x")
        dialog.submit()
        assert dialog.message.text() == "The two passwords differ."

        dialog.password.setText("short1")
        dialog.again.setText("short1")
        dialog.submit()
        qtbot.waitUntil(lambda: dialog.isEnabled(), timeout=20000)
        assert dialog.message.text() == "a password needs at least 12 characters"
        assert UserStore(users_path()).is_empty()

        dialog.password.setText(GOOD)
        dialog.again.setText(GOOD)
        dialog.submit()
        qtbot.waitUntil(lambda: panel.text() == "ada (administrator) · Log off", timeout=20000)
    assert [(u.name, u.role) for u in UserStore(users_path()).users()] == [("ada", "administrator")]
    with contextlib.closing(sqlite3.connect(tmp_path / "history-audit.db")) as conn:
        steps = conn.execute("SELECT actor, action, stage FROM audit ORDER BY seq").fetchall()
    assert steps == [("ada", "add_user", "ok"), ("ada", "log_on", "ok")]
