"""The Connections menu: a refused server certificate is pointed out; dialogs open on the right PKI."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMainWindow

from drivers.opcua_security import SecuritySetupError, require_trusted_server
from hmi.model import ConnectionState, ConnectionStatus
from hmi.project.loader import load_project
from hmi.ui.connections_menu import ConnectionsMenu

pytestmark = pytest.mark.gui


def make_project(tmp_path, port: int):
    (tmp_path / "project.yaml").write_text(
        "name: Menu test\n"
        "connections:\n"
        "  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}\n"
        f'  ua1: {{driver: opcua, endpoint: "opc.tcp://127.0.0.1:{port}/", pki_dir: "{tmp_path / "pki"}"}}\n',
        encoding="utf-8",
    )
    return load_project(tmp_path)


def test_a_refused_certificate_is_pointed_out_and_preselected(qtbot, tmp_path, free_port):
    project = make_project(tmp_path, free_port())
    window = QMainWindow()
    qtbot.addWidget(window)
    messages: list[str] = []
    menu = ConnectionsMenu(window, project, messages.append)
    assert list(menu.browse_actions) == ["ua1"]  # Modbus connections have nothing to browse

    with pytest.raises(SecuritySetupError) as refused:
        require_trusted_server(tmp_path / "pki", "opc.tcp://plc7:4840/", b"a server certificate")
    status = ConnectionStatus(
        "ua1", ConnectionState.BACKING_OFF, f"SecuritySetupError: {refused.value}", error=refused.value.error
    )
    menu.apply_statuses({"ua1": status, "plc1": ConnectionStatus("plc1", ConnectionState.CONNECTED)})
    menu.apply_statuses({"ua1": status})  # said once, not at every retry
    assert len(messages) == 1 and "ua1: the server certificate" in messages[0]
    assert "Connections → Certificates…" in messages[0]

    dialog = menu.open_certificates()
    try:
        assert dialog.pki_dir == tmp_path / "pki"
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5000)
        selected = dialog.selected()
        assert selected is not None and selected.thumbprint == menu.untrusted["ua1"]
    finally:
        menu.close()
    assert menu.dialogs == []


def test_browsing_a_server_that_is_down_says_so(qtbot, tmp_path, free_port):
    project = make_project(tmp_path, free_port())
    window = QMainWindow()
    qtbot.addWidget(window)
    menu = ConnectionsMenu(window, project, lambda _text: None)
    dialog = menu.browse_actions["ua1"].trigger() or menu.dialogs[-1]
    try:
        qtbot.waitUntil(
            lambda: "Error" in dialog.status.text() or "refused" in dialog.status.text(), timeout=8000
        )
    finally:
        menu.close()
        qtbot.waitUntil(lambda: dialog.closed, timeout=5000)
