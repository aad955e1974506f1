"""The sync panel (View > Sync) and its status-bar summary: each endpoint's streams as recorded.

Reads the sync state file beside the history once a second on a worker thread, so the GUI
never waits for SQLite and shows the same figures as ``hmi sync status``.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.project.sync_settings import SyncEndpoint
from hmi.sync.outbox import Outbox, outbox_path
from hmi.sync.status import StreamStatus, read_status
from hmi.ui.panels import PanelContext, SignalLinks

REFRESH_MS = 1000
COLUMNS = ("Endpoint", "Stream", "Backlog rows", "Backlog age", "Rows/s", "Delivered", "Last success",
           "Quarantined", "Lost", "Last error")  # fmt: skip
AT_RISK = QColor("#B3261E")
"""The backlog's text when retention is about to delete rows the endpoint has not taken."""


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else time.strftime("%H:%M:%S", time.localtime(epoch))


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def summary_text(statuses: list[StreamStatus]) -> str:
    """The status bar's one line: all delivered, or the backlog and the first error."""
    backlog = sum(s.backlog_rows for s in statuses)
    quarantined = sum(s.quarantined for s in statuses)
    text = "Sync: up to date" if backlog == 0 else f"Sync: {backlog:,} rows pending"
    if quarantined:
        text += f", {quarantined} quarantined"
    lost = sum(s.lost_rows for s in statuses)
    if lost:
        text += f", {lost:,} rows lost to retention"
    at_risk = [s.endpoint for s in statuses if s.at_risk]
    if at_risk:
        text += f", AT RISK: {at_risk[0]} is near the history's limits"
    failing = [s for s in statuses if s.backlog_rows and s.last_error]
    if failing:
        text += f" ({failing[0].endpoint}: {failing[0].last_error[:80]})"
    return text


class SyncPanel(QWidget):
    """A table of every endpoint's streams, and a summary label for the status bar."""

    def __init__(self, endpoints: dict[str, SyncEndpoint], parent: QWidget | None = None) -> None:
        """``endpoints``: the station's sync endpoints (the project's, or the demo's)."""
        super().__init__(parent)
        self.endpoints = endpoints
        self.summary = QLabel("Sync: starting")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.resend: Callable[[], concurrent.futures.Future[str]] | None = None
        """Resends the quarantined batches as the acting user (the session checks resend_sync)."""
        self.resend_button = QPushButton("Resend quarantined")
        self.resend_button.setToolTip("Post each batch the endpoint refused again, under its own key")
        self.resend_button.setEnabled(False)
        self.resend_button.clicked.connect(self.resend_quarantined)
        self.message = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        row.addWidget(self.resend_button)
        layout.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.statuses: list[StreamStatus] = []
        self._links = SignalLinks()
        self._context: PanelContext | None = None
        self._history: Path | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._reading: concurrent.futures.Future[list[StreamStatus]] | None = None

    def attach(self, context: PanelContext) -> None:
        """Start reading once the station runs (its history file names the state file)."""
        self._context = context
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="hmi-sync-panel"
        )
        self._links.connect(context.sig_runtime_started, self.start)

    def detach(self) -> None:
        """Stop reading."""
        self.timer.stop()
        self._links.disconnect_all()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def start(self, history_path: Any) -> None:
        """Follow the state file beside ``history_path``."""
        self._history = Path(history_path)
        self.refresh()
        self.timer.start()

    def refresh(self) -> None:
        """Read the state file on the worker (one read at a time)."""
        if self._executor is None or self._history is None or self._context is None:
            return
        if self._reading is not None and not self._reading.done():
            return
        self._reading = self._executor.submit(_read, self._history, self.endpoints)
        self._context.relay.watch(self._reading, self._shown)

    def resend_quarantined(self) -> None:
        """Ask the session to resend; it refuses (and audits) when the acting user lacks resend_sync."""
        if self.resend is None or self._context is None:
            return
        self.resend_button.setEnabled(False)
        self.message.setText("Resending…")
        self._context.relay.watch(self.resend(), self._resent)

    def _resent(self, future: concurrent.futures.Future[str]) -> None:
        error = None if future.cancelled() else future.exception()
        self.message.setText(f"Resend failed: {error}" if error is not None else future.result())
        self.resend_button.setEnabled(any(s.quarantined for s in self.statuses))
        self.refresh()

    def _shown(self, future: concurrent.futures.Future[list[StreamStatus]]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            self.summary.setText(f"Sync: status unreadable ({error})")
            return
        self.show_statuses(future.result())

    def show_statuses(self, statuses: list[StreamStatus]) -> None:
        """Fill the table and the summary."""
        self.statuses = statuses
        self.table.setRowCount(len(statuses))
        for row, s in enumerate(statuses):
            age = _age(s.backlog_age_s) if s.backlog_rows else "-"
            cells = (
                s.endpoint,
                s.stream,
                f"{s.backlog_rows:,}",
                age,
                f"{s.rows_per_s:,.0f}",
                f"{s.delivered_rows:,}",
                _when(s.last_success),
                str(s.quarantined),
                f"{s.lost_rows:,}",
                s.last_error,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if s.at_risk and column in (2, 3):  # the backlog retention is about to reach
                    item.setForeground(AT_RISK)
                    item.setToolTip("Undelivered rows near the history's retention or size limit")
                self.table.setItem(row, column, item)
        self.summary.setText(summary_text(statuses))
        if self.message.text() != "Resending…":
            self.resend_button.setEnabled(self.resend is not None and any(s.quarantined for s in statuses))


def _read(history: Path, endpoints: dict[str, SyncEndpoint]) -> list[StreamStatus]:
    outbox = Outbox(outbox_path(history))
    try:
        return read_status(outbox, history, endpoints)
    finally:
        outbox.close()
