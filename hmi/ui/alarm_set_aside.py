"""The shelved and out-of-service alarms: who set each aside, why, until when, and the way back."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.alarms.engine import AlarmState, AlarmStatus
from hmi.ui.tables import read_only_table

COLUMNS = ("Alarm", "State", "Until", "By", "Reason", "Priority")


class SetAsideList(QWidget):
    """A table of set-aside alarms with an unshelve / return-to-service button for the selected one."""

    sig_return_requested = Signal(str, str)
    """(alarm name, action: unshelve | return to service)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = read_only_table(COLUMNS, self, stretch_column=4)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.return_button = QPushButton("Unshelve / return to service")
        self.return_button.clicked.connect(self._return_selected)
        self.return_button.setEnabled(False)  # until a shelved or out-of-service row is selected
        self.table.itemSelectionChanged.connect(self._fit_button)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.return_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(row)
        self.rows: list[AlarmStatus] = []
        self.setVisible(False)

    def set_rows(self, rows: list[AlarmStatus]) -> None:
        """Show ``rows`` (hidden while there are none: the summary keeps its room)."""
        self.rows = rows
        self.setVisible(bool(rows))
        self.table.setRowCount(len(rows))
        for index, status in enumerate(rows):
            until = (
                time.strftime("%H:%M:%S", time.localtime(status.shelved_until))
                if status.shelved_until is not None
                else "until returned"
            )
            cells = (
                status.name,
                status.state.value,
                until,
                status.set_aside_by,
                status.set_aside_reason or _design_reason(status),
                status.definition.priority,
            )
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, status.name)
                self.table.setItem(index, column, cell)
        self._fit_button()

    def _selected(self) -> AlarmStatus | None:
        selected = self.table.selectedItems()
        if not selected:
            return None
        name = selected[0].data(Qt.ItemDataRole.UserRole)
        return next((row for row in self.rows if row.name == name), None)

    def _fit_button(self) -> None:
        """The way back is the operator's only for what an operator set aside, not for a design's
        suppression (it ends with its cause): the button says so rather than send a refused request."""
        status = self._selected()
        suppressed = status is not None and status.state is AlarmState.SUPPRESSED
        self.return_button.setEnabled(status is not None and not suppressed)
        self.return_button.setToolTip(
            "Suppressed by design: it comes back by itself when its cause ends" if suppressed else ""
        )

    def _return_selected(self) -> None:
        status = self._selected()
        if status is not None and status.state is not AlarmState.SUPPRESSED:
            action = "unshelve" if status.state is AlarmState.SHELVED else "return to service"
            self.sig_return_requested.emit(status.name, action)


def _design_reason(status: AlarmStatus) -> str:
    """Why an alarm is suppressed by design, from its definition (nobody typed a reason)."""
    if status.state is not AlarmState.SUPPRESSED:
        return ""
    definition = status.definition
    if definition.suppress_by:
        return f"a consequence of {definition.suppress_by}"
    return f"while {definition.suppress_when} is true" if definition.suppress_when else ""
