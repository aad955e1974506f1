"""The alarm summary: active and unacknowledged alarms, most important first, with acknowledge buttons."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.alarms.engine import AlarmState, AlarmStatus
from hmi.model.symbols import display_format
from hmi.ui.panels import SignalLinks
from widgets.palette import format_value, priority_look

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

COLUMNS = ("Time", "Priority", "State", "Alarm", "Message", "Value")


class AlarmPanel(QWidget):
    """Table of shown alarms; an operator acknowledges the selected one or all."""

    sig_acknowledge_requested = Signal(object)
    """(alarm name, or None for all): the operator asked to acknowledge."""

    sig_alarm_activated = Signal(str)
    """(alarm name): the operator double-clicked an alarm, to go to its screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel("No alarms")
        self.ack_button = QPushButton("Acknowledge")
        self.ack_all_button = QPushButton("Acknowledge all")
        self.ack_button.clicked.connect(self._acknowledge_selected)
        self.table.itemDoubleClicked.connect(
            lambda item: self.sig_alarm_activated.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        self.ack_all_button.clicked.connect(lambda: self.sig_acknowledge_requested.emit(None))
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.ack_all_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        self.rows: list[AlarmStatus] = []
        self._links = SignalLinks()
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        """Follow the bridge's alarm summary; acknowledge through the command path; open an alarm's screen."""
        self._context = context
        self._links.connect(context.bridge.sig_alarms_changed, self.set_alarms)
        self._links.connect(self.sig_acknowledge_requested, context.commands.acknowledge)
        self._links.connect(self.sig_alarm_activated, self._open_screen_of)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._links.disconnect_all()
        self._context = None

    def _open_screen_of(self, alarm: str) -> None:
        context = self._context
        definition = context.project.alarms.get(alarm) if context is not None else None
        if context is not None and definition is not None and definition.screen:
            context.sig_screen_requested.emit(definition.screen)

    def set_alarms(self, rows: list[AlarmStatus]) -> None:
        """Show a new snapshot of the alarm list."""
        self.rows = rows
        self.table.setRowCount(len(rows))
        tags = self._context.project.every_tag() if self._context is not None else {}
        for index, status in enumerate(rows):
            raised = time.strftime("%H:%M:%S", time.localtime(status.raised_at)) if status.raised_at else ""
            # in the tag's own decimals: an integer tag reads 1200, not 1200.00
            decimals = display_format(tags.get(status.definition.tag)).decimals
            value = "" if status.value is None else format_value(status.value, decimals)
            state = status.state.value + (" · bad quality" if status.bad_quality else "")
            cells = (raised, status.definition.priority, state, status.name, status.message, value)
            unacked = status.state in (AlarmState.UNACKED, AlarmState.RETURNED_UNACKED)
            look = priority_look(status.definition.priority)
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, status.name)
                if column == 1:
                    cell.setBackground(QBrush(look.background))
                    cell.setForeground(QBrush(look.text))
                font = cell.font()
                font.setBold(unacked)
                cell.setFont(font)
                self.table.setItem(index, column, cell)
        active = sum(1 for s in rows if s.active)
        unacked_count = sum(1 for s in rows if s.state in (AlarmState.UNACKED, AlarmState.RETURNED_UNACKED))
        self.summary.setText(f"{active} active, {unacked_count} unacknowledged" if rows else "No alarms")

    def _acknowledge_selected(self) -> None:
        selected = self.table.selectedItems()
        if selected:
            self.sig_acknowledge_requested.emit(selected[0].data(Qt.ItemDataRole.UserRole))
