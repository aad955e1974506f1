"""The OPC UA certificates dialog: inspect server certificates, trust a rejected one or stop trusting one.

Reading and moving certificate files happens on a worker thread; results come
back through a FutureRelay, so a slow or network-mounted PKI folder never freezes the window.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.core import certs
from hmi.core.certs import CertificateInfo
from hmi.ui.futures import FutureRelay

COLUMNS = ("Status", "Thumbprint", "Subject", "Valid", "Application URI")


class CertificateDialog(QDialog):
    """Lists this application's, the trusted and the rejected certificates of one PKI folder."""

    sig_decided = Signal(str, str, str, str)
    """(trust | reject, thumbprint, subject, error or ""): a trust decision was carried out or failed."""

    def __init__(self, pki_dir: Path, highlight: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("OPC UA certificates")
        self.resize(980, 460)
        self.pki_dir = pki_dir
        self.highlight = highlight
        self.certificates: list[CertificateInfo] = []
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hmi-certs")
        self._relay = FutureRelay(self)
        self.permit: Callable[[str, str], str | None] | None = None
        """Asks the runtime side whether (action, target) is allowed for the acting user; None: no check."""

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(110)
        self.message = QLabel(f"PKI folder: {pki_dir}")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.trust_button = QPushButton("&Trust")
        self.trust_button.setToolTip("Connect to this server from now on (moves it to trusted)")
        self.reject_button = QPushButton("&Reject")
        self.reject_button.setToolTip("Stop trusting this server (moves it to rejected)")
        self.refresh_button = QPushButton("Re&fresh")
        close_button = QPushButton("&Close")
        self.trust_button.clicked.connect(lambda: self._decide(certs.trust))
        self.reject_button.clicked.connect(lambda: self._decide(certs.reject))
        self.refresh_button.clicked.connect(self.refresh)
        close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        for button in (self.trust_button, self.reject_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addLayout(buttons)
        self._update_buttons()
        self.refresh()

    # -- worker round trips ------------------------------------------------------------
    def refresh(self) -> None:
        """Read the PKI folder again (on the worker thread)."""
        self.refresh_button.setEnabled(False)
        self._relay.watch(self._worker.submit(certs.list_certificates, self.pki_dir), self._on_listed)

    def _on_listed(self, future: concurrent.futures.Future[list[CertificateInfo]]) -> None:
        self.refresh_button.setEnabled(True)
        error = future.exception()
        if error is not None:
            self.message.setText(f"Cannot read {self.pki_dir}: {error}")
            return
        self.show_certificates(future.result())

    def _decide(self, decision: Any) -> None:
        cert = self.selected()
        if cert is None:
            return
        self.trust_button.setEnabled(False)
        self.reject_button.setEnabled(False)
        kind = "trust" if decision is certs.trust else "reject"
        # The runtime side decides (and audits a refusal) before the PKI folder is touched.
        refused = self.permit(f"{kind}_certificate", cert.thumbprint) if self.permit is not None else None
        if refused:
            self.message.setText(f"Not allowed: {refused}")
            self._update_buttons()
            return
        self._carry_out(decision, kind, cert)

    def _carry_out(self, decision: Any, kind: str, cert: CertificateInfo) -> None:
        future = self._worker.submit(decision, self.pki_dir, cert.thumbprint)
        self._relay.watch(future, lambda done: self._on_decided(done, kind, cert))

    def _on_decided(
        self,
        future: concurrent.futures.Future[CertificateInfo],
        kind: str = "",
        asked: CertificateInfo | None = None,
    ) -> None:
        error = future.exception()
        if asked is not None:
            self.sig_decided.emit(kind, asked.thumbprint, asked.subject or "", str(error or ""))
        if error is None:
            cert = future.result()
            self.highlight = cert.thumbprint
            self.message.setText(
                f"{cert.thumbprint} is now {cert.status}. The connection retries on its own."
            )
        else:
            self.message.setText(str(error))
        self.refresh()

    # -- display ------------------------------------------------------------------------
    def show_certificates(self, found: list[CertificateInfo]) -> None:
        """Fill the table; the highlighted certificate (the one a connection refused) is selected."""
        self.certificates = found
        self.table.setRowCount(len(found))
        for row, cert in enumerate(found):
            cells = (
                f"{cert.status}, EXPIRED" if cert.expired else cert.status,
                cert.thumbprint,
                cert.subject or cert.error,
                cert.validity(),
                cert.application_uri,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if cert.expired or cert.error:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(row, column, item)
            if cert.thumbprint == self.highlight:
                self.table.selectRow(row)
        for column in range(len(COLUMNS) - 1):
            self.table.resizeColumnToContents(column)
        self._show_selected()

    def selected(self) -> CertificateInfo | None:
        """The certificate of the selected row, if any."""
        rows = self.table.selectionModel().selectedRows()
        return self.certificates[rows[0].row()] if rows else None

    def _show_selected(self) -> None:
        cert = self.selected()
        self._update_buttons()
        if cert is None:
            self.details.setPlainText("")
            return
        lines = [
            f"Thumbprint (SHA-1): {cert.thumbprint}",
            f"Subject: {cert.subject}",
            f"Issuer: {cert.issuer}",
            f"Valid: {cert.validity()}",
            f"Application URI: {cert.application_uri}",
            f"File: {cert.path}",
        ]
        if cert.error:
            lines.insert(1, f"Problem: {cert.error}")
        elif cert.expired:
            lines.insert(1, "Problem: EXPIRED (outside its validity): a connection trusting it warns")
        self.details.setPlainText("\n".join(lines))

    def _update_buttons(self) -> None:
        cert = self.selected()
        usable = cert is not None and not cert.error
        self.trust_button.setEnabled(usable and cert is not None and cert.status == certs.REJECTED)
        self.reject_button.setEnabled(usable and cert is not None and cert.status == certs.TRUSTED)

    def done(self, result: int) -> None:
        """Closing: drop late results and let the worker finish what it started."""
        self._relay.close()
        self._worker.shutdown(wait=True)
        super().done(result)
