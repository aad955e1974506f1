"""Ask before the HMI closes while an urgent alarm waits for an acknowledgement.

Only a person's request asks: Ctrl+Q / File > Quit and the window's close button. A close
by the program (``--for`` ending, SIGTERM, a refused start, a test) goes through unprompted,
so a scripted or service stop stays graceful. The question is a window-modal box opened
with ``open()``: nothing waits in a nested event loop, and the runtime keeps running meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from hmi.alarms.engine import AlarmStatus
from hmi.ui.panels import SignalLinks

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

CONFIRM_PRIORITIES = frozenset({"urgent"})
"""Priorities whose unacknowledged alarms make closing ask first."""


class QuitGuard:
    """Follows the alarm summary; :meth:`request_quit` closes at once or asks first."""

    def __init__(self) -> None:
        self.rows: list[AlarmStatus] = []
        self.prompt: QMessageBox | None = None
        """The open question, while it is open (tests answer it)."""
        self.close_button: QPushButton | None = None
        """The open question's "Close anyway" button."""
        self._links = SignalLinks()

    def attach(self, context: PanelContext) -> None:
        """Follow the bridge's alarm summary."""
        self._links.connect(context.bridge.sig_alarms_changed, self._set_rows)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._links.disconnect_all()
        if self.prompt is not None:
            self.prompt.close()
            self.prompt = None

    def _set_rows(self, rows: list[AlarmStatus]) -> None:
        self.rows = rows

    def pressing(self) -> list[AlarmStatus]:
        """The unacknowledged alarms that make closing ask."""
        return [r for r in self.rows if r.unacked and r.definition.priority in CONFIRM_PRIORITIES]

    def request_quit(self, parent: QWidget, close: Callable[[], object]) -> bool:
        """Close now (True) or, with an urgent alarm unacknowledged, ask and close on a yes (False)."""
        if not self.pressing():
            close()
            return True
        self.ask(parent, close)
        return False

    def ask(self, parent: QWidget, close: Callable[[], object]) -> None:
        """Open the question (once); ``close`` runs only on "Close anyway"."""
        pressing = self.pressing()
        if self.prompt is not None:  # already asking: bring the question forward instead of a second one
            self.prompt.raise_()
            return
        names = ", ".join(r.name for r in pressing[:3]) + (" ..." if len(pressing) > 3 else "")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Urgent alarm unacknowledged",
            f"{len(pressing)} urgent alarm(s) not acknowledged: {names}.\n"
            "Close the HMI anyway? Alarms keep being recorded only while it runs.",
            QMessageBox.StandardButton.Cancel,
            parent,
        )
        self.close_button = box.addButton("Close anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter must not close the HMI by accident
        box.setObjectName("quit-guard")

        def answered(_result: int) -> None:
            chosen = box.clickedButton()
            self.prompt = None
            box.deleteLater()
            if chosen is self.close_button:
                close()

        box.finished.connect(answered)
        self.prompt = box
        box.open()
