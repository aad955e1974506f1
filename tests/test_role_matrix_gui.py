"""The role matrix through the window, with real clicks and keys: write, operate, acknowledge, shelve,
save a trend, trust a certificate, for viewer, operator, engineer, administrator and a custom role.

Each action either takes effect (the PLC's registers and coils, the alarm's state, project.yaml, the
PKI folder) or is refused and changes nothing; every refusal is in the audit trail.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from modbus_peer import plc_on_thread
from PySide6.QtCore import Qt
from security_window import GOOD, type_log_on

from drivers.opcua_security import SecuritySetupError, require_trusted_server, thumbprint
from hmi.alarms.engine import AlarmState
from hmi.core import certs
from hmi.project.loader import load_project
from hmi.security.paths import users_path
from hmi.security.users import UserStore
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore("Keyboard event not accepted by receiving widget")]

PROJECT = """\
name: Matrix
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
tags:
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
  LEVEL: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
  PUMP_RUN: {{connection: plc1, address: "co:0", type: bool, writable: true, scan: fast}}
alarms:
  LEVEL.HI: {{tag: LEVEL, type: hi, limit: 80, priority: high, message: "Level high"}}
trends:
  speed: {{title: Speed, span: 10m, pens: [SPEED_SP]}}
history: {{path: history.db, commit_interval: 200ms}}
"""

SCREEN = """\
size: [600, 200]
items:
  - {type: setpoint, id: speed, x: 10, y: 10, w: 300, h: 44, tag: SPEED_SP}
  - {type: button, id: start, x: 10, y: 80, w: 140, h: 40,
     props: {label: "Start", write: {tag: PUMP_RUN, value: true}}}
"""

USERS = {"viewer": "vic", "operator": "olga", "engineer": "erik", "administrator": "ada", "tech": "tom"}
EVERYONE = frozenset(USERS) - {"viewer"}
ALLOWED = {  # written out, not derived from the code under test
    "write": EVERYONE,
    "operate": frozenset({"operator", "engineer", "administrator"}),
    "acknowledge": EVERYONE,
    "shelve": frozenset({"operator", "engineer", "administrator"}),
    "save_trend": frozenset({"engineer", "administrator", "tech"}),
    "trust_certificate": frozenset({"engineer", "administrator"}),
}
FC_COILS, FC_HOLDING = 1, 3


def with_users() -> None:
    store = UserStore(users_path())
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    store.add_user("ada", "administrator", GOOD)
    store.add_role("tech", ["write_tag", "acknowledge", "edit_project"])
    for role, name in USERS.items():
        if name != "ada":
            store.add_user(name, role, GOOD)


@pytest.fixture
def plc(free_port) -> Iterator:
    with plc_on_thread(free_port(), [0, 95] + [0] * 58) as running:
        yield running


@contextlib.contextmanager
def window_on(qtbot, root: Path, port: int, extra: str = "") -> Iterator[tuple[MainWindow, GuiSession]]:
    (root / "project.yaml").write_text(PROJECT.format(port=port) + extra, "utf-8")
    (root / "screens").mkdir()
    (root / "screens" / "main.yaml").write_text(SCREEN, "utf-8")
    project = load_project(root)
    session = GuiSession(project, RuntimeBridge())
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    window.relay.watch(session.start(), lambda _future: window.on_runtime_started())
    try:
        qtbot.waitUntil(lambda: session.station is not None, timeout=20000)
        values = session.station.runtime.values
        qtbot.waitUntil(lambda: "PUMP_RUN" in values and values["PUMP_RUN"].is_good, timeout=20000)
        qtbot.waitUntil(lambda: window.latest.get("SPEED_SP") is not None, timeout=20000)
        qtbot.waitUntil(lambda: len(window.alarm_panel.rows) == 1, timeout=20000)
        yield window, session
    finally:
        window.close()
        session.stop()


def refused_certificate(pki: Path) -> str:
    from opcua_server import make_server_identity

    identity = make_server_identity()
    certs.own_identity(pki)
    with pytest.raises(SecuritySetupError):
        require_trusted_server(pki, "opc.tcp://plc7:4840/", identity.certificate)
    return thumbprint(identity.certificate)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def select_alarm(qtbot, panel) -> None:
    table = panel.table
    qtbot.mouseClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(0, 0)).center()
    )


def refusals(root: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(root / "history-audit.db")) as conn:
        query = "SELECT action, target FROM audit WHERE stage = 'refused' ORDER BY seq"
        return conn.execute(query).fetchall()


@pytest.mark.parametrize("role", list(USERS))
def test_every_protected_action_in_the_window_as_the_role_says(qtbot, tmp_path, plc, monkeypatch, role):
    port, server, plc_thread = plc
    pki = tmp_path / "pki"
    monkeypatch.setenv("CONVERGE_HMI_PKI", str(pki))
    cert = refused_certificate(pki)
    with_users()
    root = tmp_path / "plant"
    root.mkdir()
    name = USERS[role]
    expected_refusals: list[tuple[str, str]] = []
    with window_on(qtbot, root, port) as (window, session):
        panel = window.user_panel
        click(qtbot, panel)
        type_log_on(qtbot, panel.dialog, name, GOOD)
        qtbot.waitUntil(lambda: panel.text() == f"{name} ({role}) · Log off", timeout=10000)

        # write a setpoint: keys and Enter in the setpoint entry
        speed = window.screen_view.items_by_id["speed"].panel
        qtbot.keyClicks(speed.entry, "1200")
        qtbot.keyClick(speed.entry, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: speed.message_kind in ("ok", "error"), timeout=10000)
        allowed = role in ALLOWED["write"]
        assert speed.message_kind == ("ok" if allowed else "error"), speed.message_text
        assert plc_thread.call(server.async_getValues(1, FC_HOLDING, 0, 1)) == [1200 if allowed else 0]
        expected_refusals += [] if allowed else [("write", "SPEED_SP")]

        # operate: the start button, then Write in its confirmation
        view, start = window.screen_view, window.screen_view.items_by_id["start"]
        at = view.mapFromScene(start.mapToScene(start.boundingRect().center()))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)  # where the operator sees it
        qtbot.waitUntil(lambda: window.screen_view.confirmation is not None, timeout=5000)
        click(qtbot, window.screen_view.confirmation.write_button)
        allowed = role in ALLOWED["operate"]
        if allowed:
            coil = lambda: plc_thread.call(server.async_getValues(1, FC_COILS, 0, 1))  # noqa: E731
            qtbot.waitUntil(lambda: coil() == [True], timeout=10000)
        else:
            qtbot.waitUntil(lambda: ("write", "PUMP_RUN") in refusals(root), timeout=10000)
            assert plc_thread.call(server.async_getValues(1, FC_COILS, 0, 1)) == [False]
            expected_refusals.append(("write", "PUMP_RUN"))

        # acknowledge the alarm, then shelve it: select the row, click the button
        alarms = window.alarm_panel
        station = session.station
        state = lambda: station.alarms.statuses["LEVEL.HI"].state  # noqa: E731
        select_alarm(qtbot, alarms)
        click(qtbot, alarms.ack_button)
        if role in ALLOWED["acknowledge"]:
            qtbot.waitUntil(lambda: state() is AlarmState.ACKED, timeout=10000)
        else:
            qtbot.waitUntil(lambda: ("acknowledge", "LEVEL.HI") in refusals(root), timeout=10000)
            assert station.alarms.statuses["LEVEL.HI"].state is AlarmState.UNACKED
            expected_refusals.append(("acknowledge", "LEVEL.HI"))
        select_alarm(qtbot, alarms)
        qtbot.keyClicks(alarms.comment, "sensor under repair")
        click(qtbot, alarms.shelve_button)
        if role in ALLOWED["shelve"]:
            qtbot.waitUntil(lambda: state() is AlarmState.SHELVED, timeout=10000)
        else:
            qtbot.waitUntil(lambda: ("shelve", "LEVEL.HI") in refusals(root), timeout=10000)
            assert station.alarms.statuses["LEVEL.HI"].state is not AlarmState.SHELVED
            expected_refusals.append(("shelve", "LEVEL.HI"))

        # save the trend (a shorter span first): the toolbar's Save trend
        trend = window.trend_panel
        assert trend is not None
        trend.trend.set_span(1800.0)
        click(qtbot, trend.toolbar.action_buttons["Save trend"])
        saved = "span: 30m" in (root / "project.yaml").read_text("utf-8")
        assert saved == (role in ALLOWED["save_trend"]), trend.status.text()
        if not saved:
            assert trend.status.text().startswith("Not allowed to save the trend")
            expected_refusals.append(("save_trend", "speed"))

        # trust the refused certificate: select it, click Trust
        dialog = window.connections_menu.open_certificates()
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
        row = next(r for r in range(2) if dialog.table.item(r, 0).text() == "rejected")
        dialog.table.selectRow(row)
        click(qtbot, dialog.trust_button)
        if role in ALLOWED["trust_certificate"]:
            qtbot.waitUntil(lambda: (pki / "trusted" / f"{cert}.der").is_file(), timeout=5000)
        else:
            assert dialog.message.text().startswith("Not allowed")
            assert not (pki / "trusted" / f"{cert}.der").exists()
            expected_refusals.append(("trust_certificate", cert))
        dialog.close()
        qtbot.waitUntil(lambda: refusals(root) == expected_refusals, timeout=10000)
    assert refusals(root) == expected_refusals


def test_resend_from_the_sync_panel_needs_resend_sync(qtbot, tmp_path, plc, free_port):
    import asyncio

    from sync_receiver import Receiver
    from sync_store import FilledStore

    from hmi.sync.service import SyncService

    port, _server, _thread = plc
    receiver = Receiver(free_port()).start()
    root = tmp_path / "plant"
    root.mkdir()
    sync = f'sync:\n  ent:\n    url: "{receiver.url}"\n    batch: {{rows: 100, max_age: 50ms}}\n'
    (root / "project.yaml").write_text(PROJECT.format(port=port) + sync, "utf-8")
    project = load_project(root)
    filled = FilledStore(project.history.path)
    filled.add_samples(150)
    filled.commit()
    receiver.plan = lambda n, request: 400 if n == 0 else "ok"  # the first batch is quarantined

    async def sync_once() -> None:
        service = SyncService(project.sync.values(), filled.source(), project.name)
        await service.start()
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 50)
        await service.stop()

    try:
        asyncio.run(sync_once())
        filled.close()
        with_users()
        (root / "project.yaml").unlink()  # window_on writes it again, with the screen
        with window_on(qtbot, root, port, extra=sync) as (window, _session):
            panel, sync_panel = window.user_panel, window.sync_panel
            assert sync_panel is not None
            qtbot.waitUntil(sync_panel.resend_button.isEnabled, timeout=20000)  # a quarantined batch
            click(qtbot, panel)
            type_log_on(qtbot, panel.dialog, "olga", GOOD)
            qtbot.waitUntil(lambda: panel.text() == "olga (operator) · Log off", timeout=10000)
            quarantined = receiver.keys_sent()[0]  # the batch refused with 400
            assert receiver.keys_sent().count(quarantined) == 1
            click(qtbot, sync_panel.resend_button)
            refused = "Not allowed to resend"
            qtbot.waitUntil(lambda: sync_panel.message.text().startswith(refused), timeout=10000)
            assert "lacks the permission resend_sync" in sync_panel.message.text()
            assert receiver.keys_sent().count(quarantined) == 1  # it was not sent again

            click(qtbot, panel)  # log off
            qtbot.waitUntil(lambda: panel.text().startswith("Not logged on"), timeout=10000)
            click(qtbot, panel)
            type_log_on(qtbot, panel.dialog, "erik", GOOD)
            qtbot.waitUntil(lambda: panel.text() == "erik (engineer) · Log off", timeout=10000)
            qtbot.waitUntil(sync_panel.resend_button.isEnabled, timeout=10000)
            click(qtbot, sync_panel.resend_button)
            resent = "Resent 1 of 1 quarantined batches"
            qtbot.waitUntil(lambda: sync_panel.message.text() == resent, timeout=20000)
            assert receiver.keys_sent().count(quarantined) == 2  # resent under its own key
    finally:
        receiver.stop()
    with contextlib.closing(sqlite3.connect(root / "history-audit.db")) as conn:
        query = "SELECT actor, target, stage FROM audit WHERE action = 'sync_resend' ORDER BY seq"
        resends = conn.execute(query).fetchall()
    assert [(actor, stage) for actor, _target, stage in resends] == [("olga", "refused"), ("erik", "ok")]


@pytest.mark.parametrize(("role", "allowed"), [("operator", False), ("tech", True)])
def test_switching_a_rule_in_the_rules_view_needs_edit_project(qtbot, tmp_path, plc, role, allowed):
    from hmi.ui.rules_view import ENABLED

    port, _server, _thread = plc
    with_users()
    root = tmp_path / "plant"
    root.mkdir()
    rules = 'rules:\n  fast:\n    when: "SPEED_SP > 1000"\n    do: [{log: "fast"}]\n'
    with window_on(qtbot, root, port, extra=rules) as (window, session):
        panel = window.user_panel
        click(qtbot, panel)
        type_log_on(qtbot, panel.dialog, USERS[role], GOOD)
        qtbot.waitUntil(lambda: panel.text() == f"{USERS[role]} ({role}) · Log off", timeout=10000)
        view = window.show_rules_view().view
        assert view is not None
        qtbot.waitUntil(lambda: view.rules.item(0, ENABLED) is not None, timeout=10000)
        box = view.rules.item(0, ENABLED)
        assert box.checkState() == Qt.CheckState.Checked
        view.rules.setCurrentItem(box)
        qtbot.keyClick(view.rules.viewport(), Qt.Key.Key_Space)  # the operator toggles the box off
        rules_engine = session.station.rules.engine
        if allowed:
            qtbot.waitUntil(lambda: rules_engine.rules["fast"].state.value == "disabled", timeout=10000)
        else:
            qtbot.waitUntil(lambda: view.summary.text().startswith("Not changed"), timeout=10000)
            assert "lacks the permission edit_project" in view.summary.text()
            checked = lambda: view.rules.item(0, ENABLED).checkState() == Qt.CheckState.Checked  # noqa: E731
            qtbot.waitUntil(checked, timeout=10000)  # the box is back as the engine has it
            assert rules_engine.rules["fast"].state.value != "disabled"
    with contextlib.closing(sqlite3.connect(root / "history-audit.db")) as conn:
        query = "SELECT actor, stage FROM audit WHERE action = 'disable_rule' ORDER BY seq"
        assert conn.execute(query).fetchall() == [(USERS[role], "ok" if allowed else "refused")]
