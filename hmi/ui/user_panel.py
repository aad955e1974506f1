"""The toolbar user: who acts now, log on and log off. Checking the password happens off the GUI thread."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Protocol

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from hmi.security.users import LogOn
from hmi.ui.futures import FutureRelay


class LogOnSession(Protocol):
    """What the user panel needs of the session."""

    actor: str

    def log_on(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """Check the password off the GUI thread."""

    def log_off(self) -> concurrent.futures.Future[None]:
        """The current user leaves."""


class LogOnDialog(QDialog):
    """User name and password; the answer (or the refusal) comes back without blocking the window."""

    def __init__(self, session: LogOnSession, relay: FutureRelay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log on")
        self.session = session
        self.relay = relay
        self.user = QLineEdit(objectName="logon-user")
        self.password = QLineEdit(objectName="logon-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel(objectName="logon-message")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.result_logon: LogOn | None = None

    def submit(self) -> None:
        """Hand the password to the session; the dialog stays disabled until the answer arrives."""
        name = self.user.text().strip()
        if not name:
            self.message.setText("Enter a user name.")
            return
        self.setEnabled(False)
        self.message.setText("Checking…")
        future = self.session.log_on(name, self.password.text())
        self.password.clear()  # the password does not stay in the widget
        self.relay.watch(future, self._answered)

    def _answered(self, future: concurrent.futures.Future[LogOn]) -> None:
        self.setEnabled(True)
        try:
            result = future.result()
        except Exception as error:  # a damaged users store: say so, never crash the window
            self.message.setText(f"Log-on failed: {error}")
            return
        self.result_logon = result
        if result.ok:
            self.accept()
        else:
            self.message.setText(result.reason)
            self.password.setFocus()


class UserPanel(QToolButton):
    """Shows the acting user and role; click to log on, or to log off."""

    def __init__(
        self,
        session: LogOnSession,
        relay: FutureRelay,
        commissioning: Callable[[], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("toolbar-user")
        self.session = session
        self.relay = relay
        self.commissioning = commissioning
        self.role = ""
        self.logged_on = False
        self.dialog: LogOnDialog | None = None
        self.clicked.connect(self.toggle)
        self.refresh()

    def refresh(self) -> None:
        """Say who acts now."""
        if self.logged_on:
            self.setText(f"{self.session.actor} ({self.role}) · Log off")
        elif self.commissioning():
            self.setText(f"No users configured: acting as {self.session.actor} · Log on…")
        else:
            self.setText("Not logged on (view only) · Log on…")

    def toggle(self) -> None:
        """Log off the current user, or open the log-on dialog."""
        if self.logged_on:
            self.logged_on, self.role = False, ""
            self.relay.watch(self.session.log_off(), lambda _f: self.refresh())
            return
        self.dialog = LogOnDialog(self.session, self.relay, self.window())
        self.dialog.accepted.connect(self._logged_on)
        self.dialog.open()

    def _logged_on(self) -> None:
        result = self.dialog.result_logon if self.dialog is not None else None
        if result is not None and result.ok:
            self.logged_on, self.role = True, result.role
        self.refresh()
