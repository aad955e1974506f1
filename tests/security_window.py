"""A window on a real PLC with users, a controllable clock and log-on by keys, for the session tests."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import Qt

from hmi.project.loader import load_project
from hmi.security.paths import users_path
from hmi.security.users import UserStore
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

GOOD = "correct horse 42"
FC_READ_HOLDING = 3

PROJECT = """\
name: Sessions
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
tags:
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
history: {{path: history.db, commit_interval: 200ms}}
"""

SCREEN = """\
size: [600, 100]
items:
  - {type: setpoint, id: speed, x: 10, y: 10, w: 300, h: 44, tag: SPEED_SP}
"""


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_project(root: Path, port: int):
    (root / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    (root / "screens").mkdir()
    (root / "screens" / "main.yaml").write_text(SCREEN, "utf-8")
    return load_project(root)


def with_users(**settings: str) -> None:
    store = UserStore(users_path())
    fast = {"argon2_time_cost": "1", "argon2_memory_kib": "1024", "argon2_parallelism": "1"}
    for key, value in {**fast, **settings}.items():
        store.configure(key, value)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    store.add_user("erik", "engineer", GOOD)


@contextlib.contextmanager
def window_on(qtbot, project, clock: Clock | None = None) -> Iterator[tuple[MainWindow, GuiSession]]:
    session = GuiSession(project, RuntimeBridge(), clock=clock)
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    window.relay.watch(session.start(), lambda _future: window.on_runtime_started())
    try:
        qtbot.waitUntil(
            lambda: window.latest.get("SPEED_SP") is not None and window.latest["SPEED_SP"].is_good,
            timeout=20000,
        )
        qtbot.waitUntil(lambda: window.user_panel.text().startswith("Not logged on"), timeout=10000)
        yield window, session
    finally:
        window.close()
        session.stop()


def type_log_on(qtbot, dialog, name: str, password: str) -> None:
    """Type the name and password and press Enter, as an operator does."""
    qtbot.keyClicks(dialog.user, name)
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.isEnabled(), timeout=10000)


def log_on(qtbot, window: MainWindow, name: str, password: str = GOOD) -> None:
    qtbot.mouseClick(window.user_panel, Qt.MouseButton.LeftButton)
    type_log_on(qtbot, window.user_panel.dialog, name, password)


def audit_steps(root: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(root / "history-audit.db")) as conn:
        query = "SELECT actor, action, target, stage, old, value FROM audit ORDER BY seq"
        return conn.execute(query).fetchall()
