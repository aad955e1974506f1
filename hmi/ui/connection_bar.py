"""Status-bar badges, one per connection, coloured by state with the last error as tooltip."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from hmi.model import ConnectionState, ConnectionStatus
from hmi.ui.panels import SignalLinks

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

_STATE_STYLE = {
    ConnectionState.CONNECTED: "background:#3d6b45; color:white;",
    ConnectionState.CONNECTING: "background:#8a7a2e; color:white;",
    ConnectionState.BACKING_OFF: "background:#a8322d; color:white;",
    ConnectionState.FAILED: "background:#a8322d; color:white;",
    ConnectionState.STOPPED: "background:#6b6b6b; color:white;",
}


class ConnectionBar(QWidget):
    """Shows each connection's state; red with the error when a link is down."""

    def __init__(self, names: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.badges: dict[str, QLabel] = {}
        for name in names:
            badge = QLabel(f" {name}: {ConnectionState.STOPPED.value} ")
            badge.setObjectName(f"connection-{name}")
            badge.setStyleSheet(_STATE_STYLE[ConnectionState.STOPPED] + "border-radius:3px; padding:1px 4px;")
            layout.addWidget(badge)
            self.badges[name] = badge
        self.states: dict[str, ConnectionState] = {}
        self._links = SignalLinks()

    def attach(self, context: PanelContext) -> None:
        """Follow the bridge's connection states."""
        self._links.connect(context.bridge.sig_status_changed, self.apply_statuses)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._links.disconnect_all()

    def apply_statuses(self, statuses: dict[str, ConnectionStatus]) -> None:
        """Update the badges of the connections whose state changed."""
        for name, status in statuses.items():
            badge = self.badges.get(name)
            if badge is None:
                continue
            self.states[name] = status.state
            text = f" {name}: {status.state.value}"
            if status.state is ConnectionState.BACKING_OFF and status.retry_in:
                text += f" (retry {status.retry_in:.0f} s)"
            badge.setText(text + " ")
            badge.setStyleSheet(_STATE_STYLE[status.state] + "border-radius:3px; padding:1px 4px;")
            since = time.strftime("%H:%M:%S", time.localtime(status.since))
            badge.setToolTip(
                f"{name}: {status.state.value} since {since}"
                + (f"\nlast error: {status.last_error}" if status.last_error else "")
            )
