"""View > Audit trail: who did what, when, from where, with the chain's status and a CSV export.

Reading the trail, verifying its chain and writing the CSV all run on the runtime thread (handed on
to its worker pool, so the runtime loop does not wait either); answers come back to the GUI thread
through the ``FutureRelay``. The GUI thread only filters the records it already holds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QDateTime, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from hmi.security.audit_key import NoAuditKey, load_key
from hmi.security.audit_verify import Verdict, verify_trail
from hmi.ui.audit_records import AuditFilter, change, local_time, read_newest, result, write_csv
from hmi.ui.futures import FutureRelay

Submit = Callable[[Coroutine[Any, Any, Any]], concurrent.futures.Future[Any]]
"""Runs a coroutine on the runtime thread (``LoopThread.submit``)."""

HEADERS = ("Time", "User", "Action", "Target", "Old → new", "Result", "Origin")
ALL = "(all)"
_INTACT, _BROKEN = "#3d6b45", "#a8322d"


def _verify(path: Path) -> Verdict | str:
    """The chain's verdict, or why it cannot be checked (blocking: the key may come from the keyring)."""
    if not path.exists():
        return "no audit trail yet"
    try:
        key = load_key()
    except NoAuditKey as error:
        return f"cannot verify: {error}"
    return verify_trail(path, key)


class AuditTableModel(QAbstractTableModel):
    """The filtered records as rows of ``HEADERS``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[dict[str, Any]] = []

    def set_records(self, records: list[dict[str, Any]]) -> None:
        """Show ``records`` instead."""
        self.beginResetModel()
        self.records = records
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The number of records shown."""
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        """The columns of ``HEADERS``."""
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles; row numbers are the records' seq."""
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return str(self.records[section]["seq"])

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """One cell's text."""
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        return self.cell(index.row(), index.column())

    def cell(self, row: int, column: int) -> str:
        """The text of one cell (tests read the table through this)."""
        record = self.records[row]
        if column == 0:
            return local_time(int(record["ts"]))
        if column == 4:
            return change(record)
        if column == 5:
            return result(record)
        return str(record[("actor", "action", "target", "", "", "origin")[column - 1]])


class AuditViewer(QDialog):
    """The audit trail of the running project: a filtered table, the chain's status, CSV export."""

    def __init__(self, trail: Path, submit: Submit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("audit-viewer")
        self.setWindowTitle("Audit trail")
        self.resize(1100, 520)
        self.trail = Path(trail)
        self.submit = submit
        self.relay = FutureRelay(self)
        self.records: list[dict[str, Any]] = []
        self.verdict: Verdict | str | None = None

        self.since_on = QCheckBox("From")
        self.since = QDateTimeEdit(QDateTime.currentDateTime().addDays(-1))
        self.until_on = QCheckBox("To")
        self.until = QDateTimeEdit(QDateTime.currentDateTime())
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.user = QComboBox(objectName="audit-user")
        self.action = QComboBox(objectName="audit-action")
        self.text = QLineEdit(objectName="audit-text")
        self.text.setPlaceholderText("Search target, detail, value…")
        self.text.setClearButtonEnabled(True)
        self.chain = QLabel("Chain: not checked yet", objectName="audit-chain")
        self.count = QLabel("")
        self.refresh_button = QPushButton("&Refresh")
        self.verify_button = QPushButton("&Verify chain")
        self.export_button = QPushButton("&Export CSV…")
        self.close_button = QPushButton("Close")
        self.model = AuditTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((150, 90, 110, 160, 170, 260)):
            self.table.setColumnWidth(column, width)

        filters = QHBoxLayout()
        for widget in (self.since_on, self.since, self.until_on, self.until, QLabel("User"), self.user,
                       QLabel("Action"), self.action):  # fmt: skip
            filters.addWidget(widget)
        filters.addWidget(self.text, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.chain, 1)
        buttons.addWidget(self.count)
        for button in (self.refresh_button, self.verify_button, self.export_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        for box in (self.since_on, self.until_on):
            box.toggled.connect(self.apply_filter)
        for edit in (self.since, self.until):
            edit.dateTimeChanged.connect(self.apply_filter)
        self.user.currentIndexChanged.connect(self.apply_filter)
        self.action.currentIndexChanged.connect(self.apply_filter)
        self.text.textChanged.connect(self.apply_filter)
        self.refresh_button.clicked.connect(self.refresh)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self._ask_export)
        self.close_button.clicked.connect(self.close)
        self.refresh()

    # -- runtime-thread round trips ---------------------------------------------------
    def refresh(self) -> None:
        """Read the newest records again, then verify the chain."""
        self.refresh_button.setEnabled(False)
        self.relay.watch(self.submit(asyncio.to_thread(read_newest, self.trail)), self._loaded)

    def verify(self) -> None:
        """Check the whole chain (off the GUI thread: a long trail takes a while)."""
        self.verify_button.setEnabled(False)
        self.chain.setText("Chain: checking…")
        self.relay.watch(self.submit(asyncio.to_thread(_verify, self.trail)), self._verified)

    def export_csv(self, path: Path) -> concurrent.futures.Future[int]:
        """Write the records shown now to ``path`` as CSV; the future carries how many."""
        future = self.submit(asyncio.to_thread(write_csv, Path(path), list(self.model.records)))
        self.relay.watch(future, lambda f: self._exported(f, Path(path)))
        return future

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export the audit trail", "audit.csv", "CSV (*.csv)")
        if name:
            self.export_csv(Path(name))

    def _loaded(self, future: concurrent.futures.Future[list[dict[str, Any]]]) -> None:
        self.refresh_button.setEnabled(True)
        error = future.exception()
        if error is not None:
            self.count.setText(f"Could not read {self.trail}: {error}")
            return
        self.records = future.result()
        self._fill_choices()
        self.apply_filter()
        self.verify()

    def _verified(self, future: concurrent.futures.Future[Verdict | str]) -> None:
        self.verify_button.setEnabled(True)
        error = future.exception()
        verdict: Verdict | str = f"cannot verify: {error}" if error is not None else future.result()
        self.verdict = verdict
        if isinstance(verdict, str):
            text, colour = f"Chain: {verdict}", ""
        elif verdict.ok:
            plural = "" if verdict.records == 1 else "s"
            text, colour = f"Chain intact: {verdict.records} record{plural} verified", _INTACT
        else:
            text, colour = f"Chain BROKEN at record {verdict.broken_at}: {verdict.problem}", _BROKEN
        self.chain.setText(text)
        self.chain.setStyleSheet(f"color: white; background: {colour}; padding: 2px 6px;" if colour else "")

    def _exported(self, future: concurrent.futures.Future[int], path: Path) -> None:
        error = future.exception()
        self.count.setText(
            f"Export failed: {error}" if error else f"Exported {future.result()} to {path.name}"
        )

    # -- filtering (GUI thread, in memory) -----------------------------------------------
    def current_filter(self) -> AuditFilter:
        """The filter the controls describe."""

        def micros(edit: QDateTimeEdit) -> int:
            return edit.dateTime().toMSecsSinceEpoch() * 1000

        user, action = self.user.currentText(), self.action.currentText()
        return AuditFilter(
            since=micros(self.since) if self.since_on.isChecked() else None,
            until=micros(self.until) if self.until_on.isChecked() else None,
            user="" if user == ALL else user,
            action="" if action == ALL else action,
            text=self.text.text().strip(),
        )

    def apply_filter(self) -> None:
        """Show the records that pass the filter, newest first."""
        shown = self.current_filter().apply(self.records)
        shown.reverse()
        self.model.set_records(shown)
        self.count.setText(f"{len(shown)} of {len(self.records)} records")

    def _fill_choices(self) -> None:
        for box, column in ((self.user, "actor"), (self.action, "action")):
            chosen = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems([ALL, *sorted({str(r[column]) for r in self.records})])
            box.setCurrentIndex(max(0, box.findText(chosen)))
            box.blockSignals(False)
