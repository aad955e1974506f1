"""Shift hand-over: the next user logs on in one dialog; the previous one is logged off once they have.

Only the acting user changes: the screens, trends and the alarm view stay as they are.
"""

from __future__ import annotations

import concurrent.futures

from PySide6.QtWidgets import QLabel, QWidget

from hmi.security.users import LogOn
from hmi.ui.futures import FutureRelay
from hmi.ui.user_panel import LogOnDialog, LogOnSession


class HandOverDialog(LogOnDialog):
    """The log-on dialog, for the next user; the session logs the previous one off (both audited)."""

    def __init__(self, session: LogOnSession, relay: FutureRelay, parent: QWidget | None = None) -> None:
        super().__init__(session, relay, parent)
        self.setWindowTitle("Hand over")
        self.setObjectName("handover-dialog")
        intro = QLabel(
            f"Hand the workstation over from {session.actor}: the next user logs on here and"
            f" {session.actor} is logged off. Screens, trends and alarms stay as they are."
        )
        intro.setWordWrap(True)
        self.layout().insertRow(0, intro)  # type: ignore[attr-defined]

    def _ask(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        return self.session.hand_over(name, password)
