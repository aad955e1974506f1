"""The main window's Connections menu: OPC UA certificates, browsing, and a hint when a server is refused.

Kept apart from the main window so that it only has to add the menu, feed it
connection states and close it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMainWindow

from hmi.core.driver_kinds import BROWSE, CERTIFICATES, connections_offering
from hmi.model import UNTRUSTED_CERTIFICATE, ConnectionStatus, DriverError, driver_error_of
from hmi.project.config import ConnectionConfig, Project
from hmi.ui.panels import SignalLinks

if TYPE_CHECKING:
    from hmi.ui.browse_dialog import BrowseDialog
    from hmi.ui.cert_dialog import CertificateDialog
    from hmi.ui.panels import PanelContext


def untrusted_thumbprint(error: DriverError | BaseException | None) -> str | None:
    """The thumbprint of the server certificate an ``untrusted_certificate`` error names, else None.

    ``error`` is a connection's structured error or an exception carrying one (a browse client's).
    """
    if isinstance(error, BaseException):
        error = driver_error_of(error)
    if error is None or error.kind != UNTRUSTED_CERTIFICATE:
        return None
    thumbprint = error.data.get("thumbprint")
    return thumbprint if isinstance(thumbprint, str) else None


class ConnectionsMenu:
    """Adds "Connections" to ``window``'s menu bar; opens the certificate and browse dialogs (non-modal)."""

    def __init__(
        self,
        window: QMainWindow,
        project: Project,
        show_message: Callable[[str], None],
        running: Callable[[], Project | None] = lambda: None,
        audit_decision: Callable[[str, str, str, str], None] | None = None,
        permit: Callable[[str, str], str | None] | None = None,
    ) -> None:
        """``running`` gives the project the runtime actually runs (None until it started).

        The demo aims its connections at the ports its plant was given, not those in its file.
        """
        self._window = window
        self._audit_decision = audit_decision  # (trust | reject, thumbprint, subject, error)
        self._permit = permit  # (action, target) -> why not, or None (the runtime side decides)
        self._running = running
        self._show_message = show_message
        self._secured = connections_offering(project, CERTIFICATES)
        self._browsable = connections_offering(project, BROWSE)
        self.untrusted: dict[str, str] = {}
        """Connection name → thumbprint of the server certificate it refused most recently."""
        self.dialogs: list[QDialog] = []
        self.menu = window.menuBar().addMenu("&Connections")
        self.certificates_action = QAction("&Certificates…", window)
        self.certificates_action.triggered.connect(lambda: self.open_certificates())
        self.menu.addAction(self.certificates_action)
        self.browse_actions: dict[str, QAction] = {}
        for name in self._browsable:
            action = QAction(f"&Browse {name}…", window)
            action.triggered.connect(lambda _checked=False, target=name: self.open_browser(target))
            self.menu.addAction(action)
            self.browse_actions[name] = action
        self.menu.setEnabled(bool(self._secured or self._browsable))
        self._links = SignalLinks()

    def attach(self, context: PanelContext) -> None:
        """Watch connection states for a refused server certificate."""
        self._links.connect(context.bridge.sig_status_changed, self.apply_statuses)

    def detach(self) -> None:
        """Stop watching and close the dialogs this menu opened."""
        self._links.disconnect_all()
        self.close()

    def apply_statuses(self, statuses: dict[str, ConnectionStatus]) -> None:
        """Notice a connection refusing its server's certificate and tell the engineer where to look."""
        for name, status in statuses.items():
            thumbprint = untrusted_thumbprint(status.error) if name in self._secured else None
            if thumbprint is None or self.untrusted.get(name) == thumbprint:
                continue
            self.untrusted[name] = thumbprint
            self._show_message(
                f"{name}: the server certificate {thumbprint[:12]}… is not trusted; "
                "inspect it under Connections → Certificates…"
            )

    def open_certificates(self, connection: str | None = None) -> CertificateDialog:
        """The certificates of ``connection``'s PKI folder (default: the last refusing one, or the first)."""
        from hmi.ui.cert_dialog import CertificateDialog  # loads the OPC UA stack: only when asked

        name = connection or next(iter(self.untrusted), None) or next(iter(self._secured), None)
        config = self._secured.get(name or "")
        dialog = CertificateDialog(_pki_of(config), self.untrusted.get(name or ""), self._window)
        if self._audit_decision is not None:
            dialog.sig_decided.connect(self._audit_decision)
        dialog.permit = self._permit
        self._keep(dialog)
        return dialog

    def open_browser(self, connection: str) -> BrowseDialog:
        """Browse the server of OPC UA ``connection`` with its own security settings."""
        from hmi.ui.browse_dialog import BrowseDialog  # loads the OPC UA stack: only when asked

        config = self.connection_config(connection)
        dialog = BrowseDialog(connection, config.settings, _pki_of(config), self._window)
        dialog.sig_untrusted.connect(lambda thumbprint: self._note_untrusted(connection, thumbprint))
        self._keep(dialog)
        return dialog

    def set_browsing_enabled(self, enabled: bool) -> None:
        """Offer the Browse actions (or not, until the servers they reach are known)."""
        for action in self.browse_actions.values():
            action.setEnabled(enabled)

    def connection_config(self, connection: str) -> ConnectionConfig:
        """The settings ``connection`` runs with: the running project's, else the project file's."""
        running = self._running()
        if running is not None and connection in running.connections:
            return running.connections[connection]
        return self._browsable[connection]

    def close(self) -> None:
        """Close every dialog this menu opened (a browse dialog then ends its session on its own)."""
        for dialog in list(self.dialogs):
            dialog.close()

    def _note_untrusted(self, connection: str, thumbprint: str) -> None:
        self.untrusted[connection] = thumbprint

    def _keep(self, dialog: QDialog) -> None:
        self.dialogs.append(dialog)
        dialog.finished.connect(
            lambda _result: self.dialogs.remove(dialog) if dialog in self.dialogs else None
        )
        dialog.show()


def _pki_of(config: ConnectionConfig | None) -> Path:
    from hmi.core.certs import resolve_pki_dir

    return resolve_pki_dir(config.settings.pki_dir if config is not None else None)
