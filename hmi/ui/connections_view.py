"""The connections view: each connection's state, last error and traffic figures, refreshed every second.

Drivers live on the runtime thread, so the view never calls them: it asks for a copy of every
connection's diagnostics through a function returning a ``concurrent.futures.Future`` (the
session's ``diagnostics``) and receives the answer on the GUI thread through a ``FutureRelay``.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidgetItem, QVBoxLayout, QWidget

from hmi.model import ConnectionState, DriverDiagnostics
from hmi.ui.futures import FutureRelay
from hmi.ui.latest_request import LatestRequest
from hmi.ui.refreshing_dock import RefreshingDock
from hmi.ui.tables import read_only_table

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

log = logging.getLogger(__name__)

REFRESH_MS = 1000
Figures = DriverDiagnostics | Mapping[str, Any]
"""One connection's figures: a driver's frozen diagnostics snapshot (or a plain mapping of the same keys)."""

DiagnosticsRequest = Callable[[], concurrent.futures.Future[dict[str, DriverDiagnostics]]]
"""Returns at once; the future carries connection name → diagnostics snapshot (frozen plain values)."""

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Connection", "", ""),
    ("State", "state", ""),
    ("Requests/s", "requests_per_s", "{:.1f}"),
    ("Errors", "errors", "{:d}"),
    ("RTT mean (ms)", "rtt_mean_ms", "{:.2f}"),
    ("RTT p99 (ms)", "rtt_p99_ms", "{:.2f}"),
    ("Overruns", "overruns", "{:d}"),
    ("Last error", "last_error", ""),
)
"""(header, diagnostics key, number format) per column; a key a driver lacks shows as a dash."""

_STATE_COLOURS = {
    ConnectionState.CONNECTED.value: "#3d6b45",
    ConnectionState.CONNECTING.value: "#8a7a2e",
    ConnectionState.BACKING_OFF.value: "#a8322d",
    ConnectionState.FAILED.value: "#a8322d",
    ConnectionState.STOPPED.value: "#6b6b6b",
}


def cell_text(value: Any, number_format: str) -> str:
    """A diagnostics value as shown in its cell: formatted numbers, a dash for a missing value."""
    if value is None or value == "":
        return "–"
    if number_format and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return number_format.format(value)
        except ValueError:  # an integer column given a float: show it as it came
            return str(value)
    return str(value)


class ConnectionsView(QWidget):
    """A table of every connection's diagnostics, refreshed about once a second while shown."""

    def __init__(
        self, request: DiagnosticsRequest, relay: FutureRelay, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._request = request
        self._latest: LatestRequest[dict[str, DriverDiagnostics]] = LatestRequest(relay, "connections view")
        self.refreshes = 0
        self.table = read_only_table([header for header, _, _ in COLUMNS])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        """Refresh now and then every second."""
        self.refresh()
        self._timer.start()

    def stop(self) -> None:
        """Stop refreshing (the window closes, or the view is hidden)."""
        self._timer.stop()

    def refresh(self) -> None:
        """Ask the runtime for fresh figures, unless the previous answer is still on its way."""
        self._latest.ask(self._request, self._on_answer)

    def _on_answer(self, future: concurrent.futures.Future[dict[str, DriverDiagnostics]]) -> None:
        if future.cancelled() or future.exception() is not None:
            log.warning("connections view: diagnostics failed: %s", future.exception())
            return
        self.apply(future.result())

    def apply(self, diagnostics: Mapping[str, Figures]) -> None:
        """Show ``diagnostics`` (connection name → figures), one row per connection, sorted by name."""
        self.refreshes += 1
        names = sorted(diagnostics)
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            figures = diagnostics[name]
            for column, (_, key, number_format) in enumerate(COLUMNS):
                text = name if column == 0 else cell_text(figures.get(key), number_format)
                self._set_cell(row, column, text, key)
            state_item = self.table.item(row, 1)
            colour = _STATE_COLOURS.get(str(figures.get("state", "")))
            if colour is not None:
                state_item.setBackground(QBrush(QColor(colour)))
                state_item.setForeground(QBrush(QColor("white")))

    def _set_cell(self, row: int, column: int, text: str, key: str) -> None:
        item = self.table.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            numeric = COLUMNS[column][2] != ""
            alignment = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            item.setTextAlignment(alignment | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        item.setText(text)
        if key == "last_error":
            item.setToolTip(text)

    def cell(self, connection: str, header: str) -> str:
        """The text shown for ``connection`` under column ``header`` (for tests and tooling)."""
        column = [h for h, _, _ in COLUMNS].index(header)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == connection:
                return self.table.item(row, column).text()
        raise KeyError(connection)


class ConnectionsDock(RefreshingDock[ConnectionsView]):
    """The connections view in a dock; it refreshes only while visible and attached."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Connections", "connections-dock", parent)

    def make_view(self, context: PanelContext) -> ConnectionsView:
        """Ask the session for diagnostics, answered through the context's relay."""
        return ConnectionsView(context.diagnostics, context.relay, self)
