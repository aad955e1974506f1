"""The alarm summary: active and unacknowledged alarms in operator order, with the operator's actions.

A text filter narrows the table ("acknowledge visible" then acknowledges only what is shown);
acknowledgements take an optional comment; the selected alarm can be shelved for a chosen
time with a reason, or taken out of service; shelved and out-of-service alarms are listed
under the summary with the buttons that bring them back.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.alarms.engine import AlarmStatus
from hmi.alarms.ordering import operator_order
from hmi.model.symbols import display_format
from hmi.ui.alarm_set_aside import SetAsideList
from hmi.ui.panels import SignalLinks
from widgets.palette import format_value, priority_look

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

COLUMNS = ("Time", "Priority", "State", "Alarm", "Message", "Value")

SHELVE_TIMES = (("15 min", 900.0), ("1 h", 3600.0), ("4 h", 4 * 3600.0), ("8 h", 8 * 3600.0))
"""The shelve durations offered; the engine refuses one past the priority's maximum, saying so."""


class AlarmPanel(QWidget):
    """Table of shown alarms; an operator acknowledges the selected one or all."""

    sig_acknowledge_requested = Signal(object)
    """(alarm name, or None for all): the operator asked to acknowledge."""

    sig_alarm_activated = Signal(str)
    """(alarm name): the operator double-clicked an alarm, to go to its screen."""

    sig_acknowledge_with = Signal(object, str, object)
    """(alarm name or None, comment, visible alarm names or None): acknowledge with a comment."""

    sig_action_requested = Signal(str, str, str, float)
    """(alarm name, action, reason, seconds): shelve, unshelve, out of service, return to service."""

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
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter (alarm, message, priority, state)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _text: self._show())
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment or reason")
        self.ack_visible_button = QPushButton("Acknowledge visible")
        self.ack_visible_button.clicked.connect(self._acknowledge_visible)
        self.shelve_time = QComboBox()
        for label, seconds in SHELVE_TIMES:
            self.shelve_time.addItem(label, seconds)
        self.shelve_button = QPushButton("Shelve")
        self.shelve_button.clicked.connect(lambda: self._act_on_selected("shelve"))
        self.out_of_service_button = QPushButton("Out of service")
        self.out_of_service_button.clicked.connect(lambda: self._act_on_selected("out of service"))
        self.set_aside = SetAsideList(self)
        self.set_aside.sig_return_requested.connect(
            lambda name, action: self.sig_action_requested.emit(name, action, self.comment.text(), 0.0)
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.filter, 1)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.ack_visible_button)
        buttons.addWidget(self.ack_all_button)
        actions = QHBoxLayout()
        actions.addWidget(self.comment, 1)
        actions.addWidget(self.shelve_time)
        actions.addWidget(self.shelve_button)
        actions.addWidget(self.out_of_service_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addLayout(actions)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.set_aside, 1)
        self.rows: list[AlarmStatus] = []
        """The announced alarms of the last snapshot, in operator order (before the filter)."""
        self.visible: list[AlarmStatus] = []
        """The rows the table shows now (after the filter)."""
        self._links = SignalLinks()
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        """Follow the bridge's alarm summary; acknowledge through the command path; open an alarm's screen."""
        self._context = context
        self._links.connect(context.bridge.sig_alarms_changed, self.set_alarms)
        self._links.connect(self.sig_acknowledge_requested, context.commands.acknowledge)
        self._links.connect(self.sig_alarm_activated, self._open_screen_of)
        self._links.connect(self.sig_acknowledge_with, context.commands.acknowledge_with)
        self._links.connect(self.sig_action_requested, context.commands.alarm_action)

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
        """Show a new snapshot of the alarm list (announced alarms above, set-aside ones below)."""
        self.rows = operator_order(row for row in rows if row.shown)
        self.set_aside.set_rows([row for row in rows if row.set_aside])
        self._show()

    def _show(self) -> None:
        needle = self.filter.text().strip().lower()
        rows = [row for row in self.rows if not needle or needle in _searchable(row)]
        self.visible = rows
        self.table.setRowCount(len(rows))
        tags = self._context.project.every_tag() if self._context is not None else {}
        for index, status in enumerate(rows):
            raised = time.strftime("%H:%M:%S", time.localtime(status.raised_at)) if status.raised_at else ""
            # in the tag's own decimals: an integer tag reads 1200, not 1200.00
            decimals = display_format(tags.get(status.definition.tag)).decimals
            value = "" if status.value is None else format_value(status.value, decimals)
            state = status.state.value + (" · bad quality" if status.bad_quality else "")
            cells = (raised, status.definition.priority, state, status.name, status.message, value)
            look = priority_look(status.definition.priority)
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, status.name)
                if column == 1:
                    cell.setBackground(QBrush(look.background))
                    cell.setForeground(QBrush(look.text))
                font = cell.font()
                font.setBold(status.unacked)
                cell.setFont(font)
                self.table.setItem(index, column, cell)
        active = sum(1 for s in self.rows if s.active)
        unacked_count = sum(1 for s in self.rows if s.unacked)
        text = f"{active} active, {unacked_count} unacknowledged" if self.rows else "No alarms"
        if len(rows) != len(self.rows):
            text += f" ({len(rows)} shown)"
        if self.set_aside.rows:
            text += f", {len(self.set_aside.rows)} shelved or out of service"
        self.summary.setText(text)

    def selected_alarm(self) -> str | None:
        """The name of the selected alarm, or None."""
        selected = self.table.selectedItems()
        return selected[0].data(Qt.ItemDataRole.UserRole) if selected else None

    def _acknowledge_visible(self) -> None:
        names = tuple(row.name for row in self.visible if row.unacked)
        if names:
            self.sig_acknowledge_with.emit(None, self.comment.text(), names)
            self.comment.clear()

    def _act_on_selected(self, action: str) -> None:
        alarm = self.selected_alarm()
        if alarm is None:
            return
        seconds = float(self.shelve_time.currentData()) if action == "shelve" else 0.0
        self.sig_action_requested.emit(alarm, action, self.comment.text(), seconds)
        self.comment.clear()

    def _acknowledge_selected(self) -> None:
        alarm = self.selected_alarm()
        if alarm is None:
            return
        comment = self.comment.text()
        if comment:
            self.sig_acknowledge_with.emit(alarm, comment, None)
            self.comment.clear()
        else:
            self.sig_acknowledge_requested.emit(alarm)


def _searchable(status: AlarmStatus) -> str:
    definition = status.definition
    return " ".join((status.name, status.message, definition.priority, status.state.value)).lower()
