"""Configuration changes the running HMI makes are audit records: trends saved, rules switched,
certificate trust decisions (window and CLI), sync resends. Real PLC, real files, real receiver."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from modbus_peer import plc_on_thread
from opcua_server import make_server_identity
from security_peer import modbus_project, runtime_ready, started_window
from sync_receiver import Receiver
from sync_store import filled_store, sync_once, sync_project

from drivers.opcua_security import SecuritySetupError, require_trusted_server, thumbprint
from hmi.app.cli import main
from hmi.core import certs
from hmi.project.loader import load_project
from hmi.security.paths import users_path
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

PROJECT = modbus_project(
    "Changes",
    tags="""\
  SPEED: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
""",
    rest="""\
history: {{path: history.db, commit_interval: 100ms}}
trends:
  speed: {{title: Speed, span: 10m, pens: [SPEED]}}
rules:
  fast:
    when: "SPEED > 1000"
    do: [{{log: "fast"}}]
""",
)


def audit_rows(path: Path, action_prefix: str = "") -> list[tuple]:
    """(actor, origin, action, target, stage, old, value) of each record; none while the trail is new."""
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)) as conn:
        try:
            rows = conn.execute(
                "SELECT actor, origin, action, target, stage, old, value FROM audit ORDER BY seq"
            )
            found = rows.fetchall()
        except sqlite3.OperationalError:  # the trail's writer has not created its table yet
            return []
    return [(*r[:5], json.loads(r[5]), json.loads(r[6])) for r in found if r[2].startswith(action_prefix)]


@pytest.fixture
def plc(free_port) -> Iterator[int]:
    with plc_on_thread(free_port(), [0] * 20) as (port, _server, _thread):
        yield port


@contextlib.contextmanager
def window_on(qtbot, root: Path, port: int) -> Iterator[MainWindow]:
    root.mkdir(exist_ok=True)
    (root / "project.yaml").write_text(PROJECT.format(port=port), "utf-8")
    # Ready once the users store has been read too: before that the policy refuses every action.
    def ready(window: MainWindow, session: GuiSession) -> bool:
        return runtime_ready(window, session) and session.commissioning

    with started_window(qtbot, load_project(root), ready) as (window, _session):
        yield window


@pytest.mark.gui
def test_switching_a_rule_off_and_on_is_audited(qtbot, tmp_path, plc):
    root = tmp_path / "plant"
    with window_on(qtbot, root, plc) as window:
        window.session.set_rule_enabled("fast", False).result(timeout=10)
        window.session.set_rule_enabled("fast", True).result(timeout=10)
        window.session.set_rule_enabled("fast", True).result(timeout=10)  # already on: old says so
        with pytest.raises(KeyError):
            window.session.set_rule_enabled("nosuch", False).result(timeout=10)
        actor = window.session.actor
        qtbot.waitUntil(lambda: len(audit_rows(root / "history-audit.db")) == 4, timeout=10000)
    assert audit_rows(root / "history-audit.db") == [
        (actor, "screen", "disable_rule", "fast", "ok", True, False),
        (actor, "screen", "enable_rule", "fast", "ok", False, True),
        (actor, "screen", "enable_rule", "fast", "ok", True, True),
        (actor, "screen", "disable_rule", "nosuch", "failed", None, False),
    ]


@pytest.mark.gui
def test_saving_a_trend_is_audited_with_before_and_after_and_a_failed_save_too(qtbot, tmp_path, plc):
    root = tmp_path / "plant"
    with window_on(qtbot, root, plc) as window:
        panel = window.trend_panel
        assert panel is not None
        panel.trend.set_span(1800.0)
        panel.save_trend()
        panel.project_file = tmp_path / "missing" / "project.yaml"
        panel._save_from_toolbar()  # the status line says why; the trail says it too
        assert "Could not save" in panel.status.text()
        actor = window.session.actor
        qtbot.waitUntil(lambda: len(audit_rows(root / "history-audit.db", "save_trend")) == 2, timeout=10000)
    ok, failed = audit_rows(root / "history-audit.db", "save_trend")
    assert ok == (
        actor, "screen", "save_trend", "speed", "ok",
        {"title": "Speed", "span": "10m", "pens": ["SPEED"]},
        {"title": "Speed", "span": "30m", "pens": ["SPEED"]},
    )  # fmt: skip
    assert failed[:5] == (actor, "screen", "save_trend", "speed", "failed")
    assert "span: 30m" in (root / "project.yaml").read_text("utf-8")


def refused_certificate(pki: Path) -> str:
    identity = make_server_identity()
    certs.own_identity(pki)
    with pytest.raises(SecuritySetupError):
        require_trusted_server(pki, "opc.tcp://plc7:4840/", identity.certificate)
    return thumbprint(identity.certificate)


@pytest.mark.gui
def test_trusting_and_rejecting_a_certificate_in_the_window_is_audited(qtbot, tmp_path, plc, monkeypatch):
    pki = tmp_path / "pki"
    monkeypatch.setenv("CONVERGE_HMI_PKI", str(pki))
    refused = refused_certificate(pki)
    root = tmp_path / "plant"
    with window_on(qtbot, root, plc) as window:
        dialog = window.connections_menu.open_certificates()
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
        dialog.table.selectRow(1)
        dialog.trust_button.click()
        qtbot.waitUntil(lambda: dialog.table.item(1, 0).text() == "trusted", timeout=5000)
        dialog.table.selectRow(1)
        dialog.reject_button.click()
        qtbot.waitUntil(lambda: dialog.table.item(1, 0).text() == "rejected", timeout=5000)
        trail = root / "history-audit.db"
        qtbot.waitUntil(lambda: len(audit_rows(trail, "")) == 2, timeout=10000)
        dialog.close()
    rows = audit_rows(trail)
    assert [(r[2], r[3], r[4]) for r in rows] == [
        ("trust_certificate", refused, "ok"),
        ("reject_certificate", refused, "ok"),
    ]
    assert isinstance(rows[0][6], str) and rows[0][6], "the subject of the certificate decided on"


def test_hmi_certs_trust_and_reject_are_audited_in_the_installation_chain(tmp_path, monkeypatch, capsys):
    pki = tmp_path / "pki"
    refused = refused_certificate(pki)
    assert main(["certs", "--pki", str(pki), "trust", refused[:10]]) == 0
    assert main(["certs", "--pki", str(pki), "reject", refused[:10]]) == 0
    rows = audit_rows(users_path())
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("cli", "trust_certificate", refused, "ok"),
        ("cli", "reject_certificate", refused, "ok"),
    ]
    capsys.readouterr()
    assert main(["audit", "verify", "--users"]) == 0
    assert "chain intact" in capsys.readouterr().out


def test_hmi_sync_resend_is_audited(tmp_path, free_port, capsys):
    receiver = Receiver(free_port()).start()
    try:
        root = tmp_path / "plant"
        project = sync_project(root, receiver.url)
        receiver.plan = lambda n, request: 400 if n == 0 else "ok"
        with filled_store(project.history.path, samples=150) as filled:
            sync_once(project, filled, receiver, {"history": 50})
        assert main(["sync", "resend", str(root), "--all"]) == 0
    finally:
        receiver.stop()
    [row] = audit_rows(root / "history-audit.db")
    assert row[1:3] == ("cli", "sync_resend") and row[4] == "ok"
    assert row[6] == "ent/history 1..100"
    capsys.readouterr()
    assert main(["audit", "verify", str(root)]) == 0
