"""The certificates dialog: lists what the PKI folder holds and trusts or rejects on a worker thread."""

from __future__ import annotations

import pytest
from opcua_server import make_server_identity

from drivers.opcua_security import SecuritySetupError, require_trusted_server, thumbprint
from hmi.core import certs
from hmi.ui.cert_dialog import CertificateDialog
from hmi.ui.connections_menu import untrusted_thumbprint

pytestmark = pytest.mark.gui


def test_trust_a_refused_server_then_reject_it_again(qtbot, tmp_path):
    pki = tmp_path / "pki"
    identity = make_server_identity()
    certs.own_identity(pki)
    with pytest.raises(SecuritySetupError) as refused:
        require_trusted_server(pki, "opc.tcp://plc7:4840/", identity.certificate)
    print_ = untrusted_thumbprint(refused.value)
    assert print_ == thumbprint(identity.certificate)

    dialog = CertificateDialog(pki, highlight=print_)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
        statuses = [dialog.table.item(row, 0).text() for row in range(2)]
        assert statuses == ["own", "rejected"]
        selected = dialog.selected()
        assert selected is not None and selected.thumbprint == print_  # the refused one is preselected
        assert "Application URI: urn:converge-hmi:test-server" in dialog.details.toPlainText()
        assert dialog.trust_button.isEnabled() and not dialog.reject_button.isEnabled()
        dialog.grab().save(str(tmp_path / "cert_dialog.png"))

        dialog.trust_button.click()
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2 and dialog.table.item(1, 0).text() == "trusted")
        assert (pki / "trusted" / f"{print_}.der").is_file()
        assert "is now trusted" in dialog.message.text()
        require_trusted_server(pki, "opc.tcp://plc7:4840/", identity.certificate)

        dialog.table.selectRow(1)
        assert dialog.reject_button.isEnabled()
        dialog.reject_button.click()
        qtbot.waitUntil(lambda: dialog.table.item(1, 0).text() == "rejected")
        assert (pki / "rejected" / f"{print_}.der").is_file()
    finally:
        dialog.close()


def test_the_own_certificate_cannot_be_trusted_or_rejected(qtbot, tmp_path):
    certs.own_identity(tmp_path)
    dialog = CertificateDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=5000)
        dialog.table.selectRow(0)
        assert not dialog.trust_button.isEnabled() and not dialog.reject_button.isEnabled()
    finally:
        dialog.close()
