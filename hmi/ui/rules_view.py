"""The rules view: each rule's state, firings and last error with enable/disable, and the maintenance list.

The rules engine lives on the runtime thread: the view asks for a snapshot through a function that
returns a ``concurrent.futures.Future`` (the session's ``rules_snapshot``) about once a second while
shown, and gets the answer on the GUI thread through the ``FutureRelay``. Enabling, disabling and
acknowledging are requests of the same kind; the next snapshot shows their effect.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget

from hmi.ui.futures import FutureRelay
from hmi.ui.latest_request import LatestRequest
from hmi.ui.refreshing_dock import RefreshingDock
from hmi.ui.tables import cell, read_only_table

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

log = logging.getLogger(__name__)

REFRESH_MS = 1000
RULE_COLUMNS = ("Rule", "State", "Enabled", "Fired", "Last fired", "Held by / last error")
EVENT_COLUMNS = ("Time", "Rule", "Priority", "Acknowledged", "Message")
ENABLED = RULE_COLUMNS.index("Enabled")
SHOWN_ROWS = 5
"""Rules shown without scrolling (the table asks for that much height)."""

_STATE_COLOURS = {
    "armed": "#3d6b45",
    "pending": "#8a7a2e",
    "active": "#b5651d",
    "cooldown": "#4a6a8a",
    "held": "#a8322d",
    "error": "#a8322d",
    "disabled": "#6b6b6b",
}


@dataclass(frozen=True)
class RulesRequests:
    """What the view asks of the session; each returns at once."""

    snapshot: Callable[[], concurrent.futures.Future[Any]]
    set_enabled: Callable[[str, bool], concurrent.futures.Future[None]]
    acknowledge: Callable[[str], concurrent.futures.Future[None]]


def _time(value: float | None) -> str:
    if value is None:
        return "–"
    return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


class RulesView(QWidget):
    """Two tables: the rules (with an Enabled check box each) and the maintenance events."""

    def __init__(self, requests: RulesRequests, relay: FutureRelay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._requests = requests
        self._relay = relay
        self._latest: LatestRequest[Any] = LatestRequest(relay, "rules view")
        self._applying = False
        self._notice = ""
        """Why the last change from this view was not made (shown beside the counts until the next one)."""
        self.refreshes = 0
        self.rules = read_only_table(RULE_COLUMNS)
        self.rules.itemChanged.connect(self._on_item_changed)
        self.events = read_only_table(EVENT_COLUMNS)
        self.acknowledge_button = QPushButton("Acknowledge")
        self.acknowledge_button.clicked.connect(self.acknowledge_selected)
        self.summary = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.rules, 3)
        row = QHBoxLayout()
        row.addWidget(QLabel("Maintenance events"))
        row.addWidget(self.summary, 1)
        row.addWidget(self.acknowledge_button)
        layout.addLayout(row)
        layout.addWidget(self.events, 2)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._event_ids: list[str] = []

    def start(self) -> None:
        """Refresh now and then every second."""
        self.refresh()
        self._timer.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._timer.stop()

    def refresh(self) -> None:
        """Ask for a fresh snapshot, unless the previous answer is still on its way."""
        self._latest.ask(self._requests.snapshot, self._on_answer)

    def _on_answer(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            log.warning("rules view: snapshot failed: %s", future.exception())
            return
        snapshot = future.result()
        if snapshot is not None:
            self.apply(snapshot.rules, snapshot.maintenance)

    def apply(self, rules: list[Any], maintenance: list[dict[str, Any]]) -> None:
        """Show ``rules`` (RuleStatus each) and ``maintenance`` (journal rows, newest first)."""
        self.refreshes += 1
        self._applying = True  # filling the check boxes is not the operator toggling them
        try:
            self.rules.setRowCount(len(rules))
            for row, status in enumerate(rules):
                detail = status.held_by or status.last_error
                texts = (
                    status.name,
                    status.state.value,
                    "",  # the check box
                    str(status.fire_count),
                    _time(status.last_fired),
                    detail,
                )
                for column, text in enumerate(texts):
                    cell(self.rules, row, column).setText(text)
                state = self.rules.item(row, 1)
                state.setBackground(QBrush(QColor(_STATE_COLOURS.get(status.state.value, "#6b6b6b"))))
                state.setForeground(QBrush(QColor("white")))
                self.rules.item(row, len(RULE_COLUMNS) - 1).setToolTip(detail)
                enabled = cell(self.rules, row, ENABLED)
                enabled.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                enabled.setCheckState(Qt.CheckState.Checked if status.enabled else Qt.CheckState.Unchecked)
                enabled.setData(Qt.ItemDataRole.UserRole, status.name)
        finally:
            self._applying = False
        shown = min(max(len(rules), 1), SHOWN_ROWS)
        height = (
            self.rules.horizontalHeader().height() + shown * self.rules.verticalHeader().defaultSectionSize()
        )
        self.rules.setMinimumHeight(height + 2 * self.rules.frameWidth())
        self.events.setRowCount(len(maintenance))
        self._event_ids = [str(event["id"]) for event in maintenance]
        unacked = 0
        for row, event in enumerate(maintenance):
            acked = event.get("acked_by")
            unacked += acked is None
            texts = (
                _time(event["ts"] / 1e6),
                str(event["rule"]) + (" (dry run)" if event.get("dry_run") else ""),
                str(event["priority"]),
                f"{acked} {_time(event['acked_ts'] / 1e6)}" if acked is not None else "not yet",
                str(event["message"]),
            )
            for column, text in enumerate(texts):
                cell(self.events, row, column).setText(text)
        counted = f"{unacked} not acknowledged" if unacked else ""
        self.summary.setText(" · ".join(text for text in (self._notice, counted) if text))

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._applying or item.column() != ENABLED:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        if name:
            future = self._requests.set_enabled(str(name), item.checkState() == Qt.CheckState.Checked)
            self._relay.watch(future, self._on_set)

    def _on_set(self, future: concurrent.futures.Future[None]) -> None:
        # A refused change (the role lacks edit_project) puts the box back and says why.
        error = None if future.cancelled() else future.exception()
        # Kept until the next change, so that the refreshes that follow show it beside the counts.
        self._notice = f"Not changed: {error}" if isinstance(error, PermissionError) else ""
        self.summary.setText(self._notice)
        self.refresh()

    def acknowledge_selected(self) -> None:
        """Acknowledge the maintenance events selected in the list."""
        rows = sorted({index.row() for index in self.events.selectedIndexes()})
        for row in rows:
            if 0 <= row < len(self._event_ids):
                self._requests.acknowledge(self._event_ids[row])
        self.refresh()

    def rule_cell(self, rule: str, header: str) -> str:
        """The text shown for ``rule`` under ``header`` (for tests and tooling)."""
        column = RULE_COLUMNS.index(header)
        for row in range(self.rules.rowCount()):
            if self.rules.item(row, 0).text() == rule:
                return self.rules.item(row, column).text()
        raise KeyError(rule)


class RulesDock(RefreshingDock[RulesView]):
    """The rules view in a dock; it refreshes only while visible and attached."""

    def __init__(self, requests: RulesRequests, parent: QWidget | None = None) -> None:
        super().__init__("Rules", "rules-dock", parent)
        self._requests = requests

    def make_view(self, context: PanelContext) -> RulesView:
        """The view asks through the session's requests; answers come back through the context's relay."""
        return RulesView(self._requests, context.relay, self)
