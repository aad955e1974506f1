"""The toolbar user: who acts now, log on and log off. Checking the password happens off the GUI thread."""

from __future__ import annotations

import concurrent.futures
import math
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QWidget,
)

from hmi.security.users import LogOn
from hmi.ui.activity import ActivityFilter
from hmi.ui.futures import FutureRelay

IDLE_TICK_MS = 1000
IDLE_WARNING_S = 60.0
"""The toolbar shows the time to the automatic log-off in its last minute."""

COMMISSIONING_STYLE = (
    "QToolButton#toolbar-user { background: #a8322d; color: white; font-weight: bold; padding: 2px 8px; }"
)
COMMISSIONING_TIP = (
    "Commissioning mode: no users are configured on this installation, so every action is allowed"
    " (and audited as the operating-system user). Create the administrator to end it."
)


class LogOnSession(Protocol):
    """What the user panel needs of the session."""

    actor: str

    def log_on(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """Check the password off the GUI thread."""

    def log_off(self) -> concurrent.futures.Future[None]:
        """The current user leaves."""

    def add_first_administrator(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """Create the first user, an administrator, and log them on."""

    def hand_over(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """The next user logs on; the previous one is logged off once they have."""

    def note_activity(self) -> None:
        """The operator used keys or mouse: the idle log-off starts again."""

    @property
    def clock(self) -> Callable[[], float]:
        """The clock inactivity is measured with."""

    def idle_remaining(self) -> float | None:
        """Seconds until the acting user is logged off for inactivity; None when nobody is logged on."""


class LogOnDialog(QDialog):
    """User name and password; the answer (or the refusal) comes back without blocking the window.

    With ``first_run`` it creates the installation's first user, an administrator (no default
    password exists: whoever starts the first run chooses it, twice).
    """

    def __init__(
        self,
        session: LogOnSession,
        relay: FutureRelay,
        parent: QWidget | None = None,
        *,
        first_run: bool = False,
    ) -> None:
        super().__init__(parent)
        self.first_run = first_run
        self.setWindowTitle("Create the administrator" if first_run else "Log on")
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
        self.again = QLineEdit(objectName="logon-again")
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout(self)
        if first_run:
            intro = QLabel(
                "No users are configured on this installation. Create its administrator; until then"
                " every action is allowed as the operating-system user. (Cancel keeps commissioning mode.)"
            )
            intro.setWordWrap(True)
            form.addRow(intro)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        if first_run:
            form.addRow("Again", self.again)
        form.addRow(self.message)
        form.addRow(self.buttons)
        self.result_logon: LogOn | None = None

    def submit(self) -> None:
        """Hand the password to the session; the dialog stays disabled until the answer arrives."""
        name = self.user.text().strip()
        if not name:
            self.message.setText("Enter a user name.")
            return
        if self.first_run and self.password.text() != self.again.text():
            self.message.setText("The two passwords differ.")
            return
        self.setEnabled(False)
        self.message.setText("Checking…")
        password = self.password.text()
        self.password.clear()  # the password does not stay in the widget
        self.again.clear()
        self.relay.watch(self._ask(name, password), self._answered)

    def _ask(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """The session's check of ``name``'s password (a hand-over asks differently)."""
        if self.first_run:
            return self.session.add_first_administrator(name, password)
        return self.session.log_on(name, password)

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
        self.idle_left: float | None = None  # seconds to the automatic log-off, shown in its last minute
        self._menu = QMenu(self)
        self.log_off_action = self._menu.addAction("Log off", self.toggle)
        self.hand_over_action = self._menu.addAction("Hand over…", self.hand_over)
        self.setMenu(self._menu)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)  # a click still logs on or off
        self.activity = ActivityFilter(session.note_activity, clock=session.clock, parent=self)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.activity)  # removed with this panel (the filter is its child)
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(IDLE_TICK_MS)
        self.idle_timer.timeout.connect(self.tick)  # runs while a user is logged on
        self.refresh()

    def stop(self) -> None:
        """The window closes: no more ticks, no more activity noted."""
        self.idle_timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.activity)

    def refresh(self) -> None:
        """Say who acts now; commissioning mode (no users: everything allowed) is shown loudly, in red."""
        commissioning = not self.logged_on and self.commissioning()
        if self.logged_on:
            countdown = ""
            if self.idle_left is not None and self.idle_left <= IDLE_WARNING_S:
                countdown = f" · auto log-off in {max(0, math.ceil(self.idle_left))} s"
            self.setText(f"{self.session.actor} ({self.role}) · Log off{countdown}")
        elif commissioning:
            self.setText(f"No users configured: acting as {self.session.actor} · Log on…")
        else:
            self.setText("Not logged on (view only) · Log on…")
        self.setProperty("commissioning", commissioning)
        self.setStyleSheet(COMMISSIONING_STYLE if commissioning else "")
        self.setToolTip(COMMISSIONING_TIP if commissioning else "")
        self.log_off_action.setEnabled(self.logged_on)
        self.hand_over_action.setEnabled(self.logged_on)

    def tick(self) -> None:
        """Once a second: the time to the automatic log-off in its last minute, and the log-off when due."""
        if not self.logged_on:
            return
        left = self.session.idle_remaining()
        if left is None or left <= 0:  # due (or the policy logged them off already): say so now
            self.idle_left = None
            self.toggle()
            return
        shown = self.idle_left is not None and self.idle_left <= IDLE_WARNING_S
        self.idle_left = left
        if shown or left <= IDLE_WARNING_S:
            self.refresh()

    def hand_over(self) -> None:
        """Shift hand-over: the next user logs on in one dialog; the previous is logged off once they have."""
        from hmi.ui.handover import HandOverDialog

        self.dialog = HandOverDialog(self.session, self.relay, self.window())
        self.dialog.accepted.connect(self._logged_on)
        self.dialog.open()

    def ask_for_administrator(self) -> None:
        """First run of an installation without users: ask for its administrator (the window stays usable)."""
        if self.commissioning() and not self.logged_on:
            self._open(first_run=True)

    def toggle(self) -> None:
        """Log off the current user, or open the log-on dialog."""
        if self.logged_on:
            self.logged_on, self.role, self.idle_left = False, "", None
            self.idle_timer.stop()
            self.relay.watch(self.session.log_off(), lambda _f: self.refresh())
            return
        self._open(first_run=False)

    def _open(self, *, first_run: bool) -> None:
        self.dialog = LogOnDialog(self.session, self.relay, self.window(), first_run=first_run)
        self.dialog.accepted.connect(self._logged_on)
        self.dialog.open()

    def _logged_on(self) -> None:
        result = self.dialog.result_logon if self.dialog is not None else None
        if result is not None and result.ok:
            self.logged_on, self.role, self.idle_left = True, result.role, None
            self.idle_timer.start()
        self.refresh()
