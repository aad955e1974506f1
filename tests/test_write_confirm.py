"""Confirmed and signed writes from a screen, with real key presses, against a real PLC and audit trail.

Enter alone never confirms (Cancel has the focus and is the default); a signature needs the password
again and a reason; a double signature a second, different user. Nothing cancelled or badly signed
reaches the PLC.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from security_peer import FC_READ_HOLDING, GOOD, cheap_users, modbus_project, started_window, tag_good

from hmi.project.loader import load_project
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession
from hmi.ui.write_confirm import WriteConfirmDialog

pytestmark = pytest.mark.gui

PROJECT = modbus_project(
    "Confirmed",
    tags="""\
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500],
             units: rpm, confirm: true, scan: fast}}
  DOSE_SP: {{connection: plc1, address: "hr:1", type: uint16, writable: true, units: ml, confirm: signature,
            description: "Dosing pump volume", scan: fast}}
  KILN_SP: {{connection: plc1, address: "hr:2", type: uint16, writable: true, units: "°C", confirm: double,
            description: "Kiln temperature setpoint", scan: fast}}
""",
    rest="""\
history: {{path: history.db, commit_interval: 200ms}}
""",
)

SCREEN = """\
size: [600, 200]
items:
  - {type: setpoint, id: speed, x: 10, y: 10, w: 300, h: 44, tag: SPEED_SP}
  - {type: button, id: dose, x: 10, y: 80, w: 140, h: 40,
     props: {label: "Dose 42", write: {tag: DOSE_SP, value: 42}}}
  - {type: button, id: kiln, x: 170, y: 80, w: 140, h: 40,
     props: {label: "Kiln 900", write: {tag: KILN_SP, value: 900}}}
"""


def with_users() -> None:
    cheap_users(ada="administrator", olga="operator", otto="operator")


@contextlib.contextmanager
def window_on(qtbot, root: Path, port: int) -> Iterator[tuple[MainWindow, GuiSession]]:
    (root / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    (root / "screens").mkdir()
    (root / "screens" / "main.yaml").write_text(SCREEN, "utf-8")
    with started_window(qtbot, load_project(root), tag_good("SPEED_SP")) as (window, session):
        log_on(qtbot, window)
        yield window, session


def log_on(qtbot, window: MainWindow) -> None:
    window.user_panel.click()
    dialog = window.user_panel.dialog
    dialog.user.setText("olga")
    dialog.password.setText(GOOD)
    dialog.submit()
    qtbot.waitUntil(lambda: window.user_panel.text() == "olga (operator) · Log off", timeout=10000)


def registers(plc) -> list[int]:
    _port, server, thread = plc
    return list(thread.call(server.async_getValues(1, FC_READ_HOLDING, 0, 3)))


def open_dialog(qtbot, window: MainWindow) -> WriteConfirmDialog:
    qtbot.waitUntil(lambda: window.screen_view.confirmation is not None, timeout=5000)
    dialog = window.screen_view.confirmation
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    return dialog


def type_into(qtbot, field: QLineEdit, text: str) -> None:
    qtbot.keyClicks(field, text)


def audit(root: Path) -> list[tuple[str, str, str, str, str]]:
    with contextlib.closing(sqlite3.connect(root / "history-audit.db")) as conn:
        return conn.execute("SELECT actor, action, target, stage, detail FROM audit ORDER BY seq").fetchall()


def test_enter_alone_never_confirms_and_the_result_is_shown(qtbot, tmp_path, plc):
    with_users()
    with window_on(qtbot, tmp_path, plc[0]) as (window, _session):
        speed = window.screen_view.items_by_id["speed"].panel
        qtbot.mouseClick(speed.entry, Qt.MouseButton.LeftButton)
        type_into(qtbot, speed.entry, "1200")
        qtbot.keyClick(speed.entry, Qt.Key.Key_Return)  # applies the text: the confirmation opens
        dialog = open_dialog(qtbot, window)
        assert (
            dialog.findChild(type(dialog.error), "write-confirm-change").text() == "0 rpm  →  <b>1200 rpm</b>"
        )
        assert dialog.focusWidget() is dialog.cancel_button and dialog.cancel_button.isDefault()
        assert not dialog.write_button.isDefault() and not dialog.write_button.autoDefault()
        qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter alone: cancelled
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
        qtbot.waitUntil(lambda: "cancelled" in speed.message_text, timeout=5000)
        assert registers(plc) == [0, 0, 0]

        qtbot.mouseClick(speed.entry, Qt.MouseButton.LeftButton)
        speed.entry.clear()
        type_into(qtbot, speed.entry, "1300")
        qtbot.keyClick(speed.entry, Qt.Key.Key_Enter)
        dialog = open_dialog(qtbot, window)
        qtbot.keyClick(dialog.cancel_button, Qt.Key.Key_Enter)  # on the focused Cancel: cancelled too
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
        assert registers(plc) == [0, 0, 0]

        speed.entry.clear()
        type_into(qtbot, speed.entry, "1400")
        qtbot.keyClick(speed.entry, Qt.Key.Key_Return)
        dialog = open_dialog(qtbot, window)
        qtbot.keyClick(dialog.write_button, Qt.Key.Key_Space)  # a deliberate act on Write
        qtbot.waitUntil(lambda: registers(plc)[0] == 1400, timeout=10000)
        qtbot.waitUntil(lambda: speed.message_kind == "ok", timeout=10000)
        assert window.message.text() == "SPEED_SP ← 1400"
    writes = [row[3] for row in audit(tmp_path) if row[1] == "write"]
    assert writes == ["sending", "done"]  # the cancelled ones never became a request


def test_a_signature_from_the_screen_with_keys_and_enter_never_signs(qtbot, tmp_path, plc):
    with_users()
    with window_on(qtbot, tmp_path, plc[0]) as (window, _session):
        window.screen_view.items_by_id["dose"].click()
        dialog = open_dialog(qtbot, window)
        assert dialog.password.echoMode() is QLineEdit.EchoMode.Password
        assert not dialog.verifier.isVisible()  # a single signature: no second person
        assert "olga" in [label.text() for label in dialog.findChildren(type(dialog.error))]  # who signs
        type_into(qtbot, dialog.reason, "batch 118 recipe")
        qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)  # moves on, never signs
        type_into(qtbot, dialog.password, "wrong password 9")
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
        assert dialog.isVisible() and registers(plc) == [0, 0, 0]
        qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "signature refused" in window.message.text(), timeout=10000)
        assert "olga: unknown user or wrong password" in window.message.text()
        assert registers(plc) == [0, 0, 0]

        window.screen_view.items_by_id["dose"].click()
        dialog = open_dialog(qtbot, window)
        qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)  # nothing typed: told what's missing
        assert dialog.isVisible() and "reason" in dialog.error.text()
        type_into(qtbot, dialog.reason, "batch 118 recipe")
        type_into(qtbot, dialog.password, GOOD)
        qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: registers(plc)[1] == 42, timeout=10000)
        qtbot.waitUntil(lambda: window.message.text() == "DOSE_SP ← 42", timeout=10000)
    rows = audit(tmp_path)
    assert [(r[1], r[3]) for r in rows if r[1] in ("sign", "write")] == [
        ("sign", "refused"),
        ("sign", "ok"),
        ("write", "sending"),
        ("write", "done"),
    ]
    assert rows[-1][4] == "signed: performed by olga; reason: batch 118 recipe"


def test_a_double_signature_from_the_screen_needs_another_user(qtbot, tmp_path, plc):
    with_users()
    with window_on(qtbot, tmp_path, plc[0]) as (window, _session):
        for verifier in ("olga", "otto"):
            window.screen_view.items_by_id["kiln"].click()
            dialog = open_dialog(qtbot, window)
            assert dialog.verifier.isVisible()
            type_into(qtbot, dialog.reason, "trial firing")
            type_into(qtbot, dialog.password, GOOD)
            type_into(qtbot, dialog.verifier, verifier)
            type_into(qtbot, dialog.verifier_password, GOOD)
            qtbot.keyClick(dialog.verifier_password, Qt.Key.Key_Return)
            assert dialog.isVisible()  # Enter in the last field signs nothing either
            qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)
            if verifier == "olga":
                qtbot.waitUntil(
                    lambda: "another user than the signer" in window.message.text(), timeout=10000
                )
                assert registers(plc) == [0, 0, 0]
        qtbot.waitUntil(lambda: registers(plc)[2] == 900, timeout=10000)
    done = [r for r in audit(tmp_path) if r[1] == "write" and r[3] == "done"]
    assert [r[4] for r in done] == ["signed: performed by olga; reason: trial firing; verified by otto"]
