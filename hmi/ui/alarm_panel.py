"""The alarm summary: active and unacknowledged alarms in operator order, with the operator's actions.

The table sorts by any column (a header click; operator order until then) and switches between
the active alarms and the history read from the journal (:mod:`hmi.ui.alarm_history_load`, on
a worker thread). A filter by text, area, priority and state narrows either view; ISA-101 colour
is on the priority cell only. The selected alarm's guidance (cause, consequence, corrective action)
shows in the pane beside; double-click or Enter opens its screen with the alarm's item framed.
While an alarm flood is on, "Group flood" folds its alarms under one row with the first-out
alarm shown (:mod:`hmi.ui.alarm_flood_group`); a click on the row opens or folds it.
The filter narrows the table ("acknowledge visible" then acknowledges only what is shown);
acknowledgements take an optional comment; the selected alarm can be shelved for a chosen
time with a reason, or taken out of service; shelved and out-of-service alarms are listed
under the summary with the buttons that bring them back.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus
from hmi.alarms.history import HistoryQuery
from hmi.alarms.ordering import operator_key, operator_order
from hmi.model.symbols import display_format
from hmi.project.config import AlarmDef
from hmi.ui.alarm_flood_group import GROUP_ROLE_NAME, FloodGroup, RaiseWindow, flood_group
from hmi.ui.alarm_history_load import AlarmHistoryLoader
from hmi.ui.alarm_set_aside import SetAsideList
from hmi.ui.alarm_summary_parts import SORT_ROLE, AlarmFilter, GuidancePane, SortableCell, priority_rank
from hmi.ui.panels import SignalLinks
from hmi.ui.tables import read_only_table
from widgets.palette import format_value, priority_look

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

COLUMNS = ("Time", "Priority", "State", "Alarm", "Message", "Value", "Area")
HISTORY_REFRESH_MS = 2000
"""After new alarm events the history view reads the journal again this much later (at most that often)."""
HISTORY_SPAN_S = 7 * 86400.0
"""How far back the history view reads (the CLI reads any range)."""

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

    sig_history_shown = Signal(int)
    """(rows): the history view shows a new set of journal events."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = read_only_table(COLUMNS, self, stretch_column=4)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # operator order
        self.table.installEventFilter(self)  # Enter on a row: its screen
        self.table.itemSelectionChanged.connect(self._show_guidance)
        self.summary = QLabel("No alarms")
        self.ack_button = QPushButton("Acknowledge")
        self.ack_all_button = QPushButton("Acknowledge all")
        self.ack_button.clicked.connect(self._acknowledge_selected)
        self.table.itemDoubleClicked.connect(
            lambda item: self.sig_alarm_activated.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        self.ack_all_button.clicked.connect(lambda: self.sig_acknowledge_requested.emit(None))
        self.filters = AlarmFilter(())
        self.filter = self.filters.text
        self.filters.sig_changed.connect(self._refilter)
        self.active_button = QPushButton("Active")
        self.history_button = QPushButton("History")
        self.mode = QButtonGroup(self)
        for button in (self.active_button, self.history_button):
            button.setCheckable(True)
            self.mode.addButton(button)
        self.active_button.setChecked(True)
        self.history_button.toggled.connect(self._switch_mode)
        self._mark_mode()
        self.set_aside_button = QPushButton("Shelved list")
        self.set_aside_button.setCheckable(True)
        self.set_aside_button.setChecked(True)
        self.set_aside_button.setToolTip("Show or hide the shelved and out-of-service alarms")
        self.set_aside_button.toggled.connect(lambda _on: self._show_set_aside())
        self.group_button = QPushButton("Group flood")
        self.group_button.setCheckable(True)
        self.group_button.setChecked(True)
        self.group_button.setToolTip("During an alarm flood, fold its alarms under one row, first out shown")
        self.group_button.toggled.connect(lambda _on: self._refilter())
        self.flood: FloodGroup | None = None
        """The flood group the table shows now (None: no flood, or grouping off)."""
        self.flood_folded = True
        self.clock = time.time
        self.raises = RaiseWindow()
        """The last 10 minutes' raises, as the banner's flood badge counts them."""
        self.table.itemClicked.connect(self._toggle_flood)
        self.guidance = GuidancePane(self)
        self.history_rows: list[dict[str, object]] = []
        """The journal events the history view holds (newest first, before the filter)."""
        self._history: AlarmHistoryLoader | None = None
        self._history_refresh = QTimer(self)
        self._history_refresh.setSingleShot(True)
        self._history_refresh.setInterval(HISTORY_REFRESH_MS)
        self._history_refresh.timeout.connect(self.reload_history)
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
        buttons.addWidget(self.active_button)
        buttons.addWidget(self.history_button)
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.ack_visible_button)
        buttons.addWidget(self.ack_all_button)
        actions = QHBoxLayout()
        actions.addWidget(self.comment, 1)
        actions.addWidget(self.shelve_time)
        actions.addWidget(self.shelve_button)
        actions.addWidget(self.out_of_service_button)
        actions.addWidget(self.set_aside_button)
        actions.addWidget(self.group_button)
        tables = QVBoxLayout()
        tables.addWidget(self.table, 3)
        tables.addWidget(self.set_aside, 1)
        body = QHBoxLayout()
        body.addLayout(tables, 4)
        body.addWidget(self.guidance, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.filters)
        layout.addLayout(actions)
        layout.addLayout(body, 1)
        self.rows: list[AlarmStatus] = []
        """The announced alarms of the last snapshot, in operator order (before the filter)."""
        self.visible: list[AlarmStatus] = []
        """The rows the table shows now (after the filter)."""
        self.set_aside_rows: list[AlarmStatus] = []
        """The shelved and out-of-service alarms of the last snapshot (before the filter)."""
        self._links = SignalLinks()
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        """Follow the bridge's alarm summary; acknowledge through the command path; open an alarm's screen."""
        self._context = context
        self.filters.add_areas(a.area for a in context.project.alarms.values())
        self._history = AlarmHistoryLoader(context.relay, self)
        self._links.connect(self._history.sig_loaded, self._show_history)
        self._links.connect(self._history.sig_failed, context.show_message)
        self._links.connect(context.sig_runtime_started, self.set_history_path)
        self._links.connect(context.bridge.sig_alarms_changed, self.set_alarms)
        self._links.connect(context.bridge.sig_alarm_events, self._journal_grew)
        self._links.connect(self.sig_acknowledge_requested, context.commands.acknowledge)
        self._links.connect(self.sig_alarm_activated, self._open_screen_of)
        self._links.connect(self.sig_acknowledge_with, context.commands.acknowledge_with)
        self._links.connect(self.sig_action_requested, context.commands.alarm_action)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._links.disconnect_all()
        self._history_refresh.stop()
        if self._history is not None:
            self._history.close()
            self._history = None
        self._context = None

    def set_history_path(self, path: object) -> None:
        """The station's history file, which holds the alarm journal."""
        if self._history is not None and path is not None:
            self._history.path = Path(str(path))
            if self.showing_history:
                self.reload_history()

    @property
    def showing_history(self) -> bool:
        """True while the table shows the journal rather than the active alarms."""
        return self.history_button.isChecked()

    def reload_history(self) -> bool:
        """Read the journal again (the last ``HISTORY_SPAN_S``); False when no journal is known yet."""
        if self._history is None:
            return False
        return self._history.load(HistoryQuery(start=time.time() - HISTORY_SPAN_S))

    def _journal_grew(self, events: list[AlarmEvent]) -> None:
        self.raises.add(events)
        # new events while the history shows: read again once things calm down, not once per frame
        if self.showing_history and not self._history_refresh.isActive():
            self._history_refresh.start()

    def _mark_mode(self) -> None:
        # the theme draws a checked button much like an unchecked one: bold says which view is shown
        for button in (self.active_button, self.history_button):
            font = button.font()
            font.setBold(button.isChecked())
            button.setFont(font)

    def _switch_mode(self, history: bool) -> None:
        self._mark_mode()
        if not history:
            self._history_refresh.stop()
        for button in (
            self.ack_button,
            self.ack_visible_button,
            self.shelve_button,
            self.out_of_service_button,
        ):
            button.setEnabled(not history)
        if history and not self.reload_history():
            self.summary.setText("No alarm journal yet")
        self._refilter()

    def _refilter(self) -> None:
        self._show_set_aside()  # the filter narrows the shelved list too
        if self.showing_history:
            self._fill_history()
        else:
            self._show()

    def _show_history(self, events: list[dict[str, object]]) -> None:
        self.history_rows = events
        if self.showing_history:
            self._fill_history()
        self.sig_history_shown.emit(len(events))

    def _fill_history(self) -> None:
        alarms = self._context.project.alarms if self._context is not None else {}
        rows = []
        for event in self.history_rows:
            definition = alarms.get(str(event["alarm"]))
            area = definition.area if definition is not None else ""
            text = " ".join(str(event[k]) for k in ("alarm", "message", "kind", "state", "user", "comment"))
            if self.filters.accepts_fields(
                f"{text} {area}", area, str(event["priority"]), str(event["state"])
            ):
                rows.append((event, area))
        self._begin_fill(len(rows))
        for index, (event, area) in enumerate(rows):
            ts = float(str(event["ts"]))
            change = (
                f"{event['from_state']} → {event['state']}" if event["from_state"] else str(event["state"])
            )
            who = f" by {event['user']}" if event["user"] else ""
            cells = (
                (time.strftime("%m-%d %H:%M:%S", time.localtime(ts)), ts),
                (str(event["priority"]), priority_rank(str(event["priority"]))),
                (f"{event['kind']}: {change}{who}", None),
                (str(event["alarm"]), None),
                (str(event["message"]) + (f" ({event['comment']})" if event["comment"] else ""), None),
                ("" if event["value"] is None else str(event["value"]), None),
                (area, None),
            )
            self._put_row(index, str(event["alarm"]), str(event["priority"]), cells, bold=False)
        self._end_fill()
        self.summary.setText(f"History: {len(rows)} of {len(self.history_rows)} events")

    def _begin_fill(self, count: int) -> None:
        # sorting stays off while cells go in, or each new cell would move its row mid-fill
        self.table.setSortingEnabled(False)
        self.table.clearContents()
        self.table.clearSpans()  # a flood group's row spans the table
        self.table.setRowCount(count)
        for row in range(count):
            self.table.setRowHidden(row, False)

    def _end_fill(self) -> None:
        self.table.setSortingEnabled(True)

    def _put_row(
        self, index: int, name: str, priority: str, cells: tuple[tuple[str, object], ...], bold: bool
    ) -> None:
        look = priority_look(priority)
        for column, (text, key) in enumerate(cells):
            cell = SortableCell(text)
            cell.setData(Qt.ItemDataRole.UserRole, name)
            if key is not None:
                cell.setData(SORT_ROLE, key)
            if column == 1:  # ISA-101: the alarm colour on the priority cell only
                cell.setBackground(QBrush(look.background))
                cell.setForeground(QBrush(look.text))
            font = cell.font()
            font.setBold(bold)
            cell.setFont(font)
            self.table.setItem(index, column, cell)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter or Return on the table opens the current alarm's screen, as a double-click does."""
        if (
            watched is self.table
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            alarm = self.selected_alarm()
            if alarm is not None:
                self.sig_alarm_activated.emit(alarm)
                return True
        return super().eventFilter(watched, event)

    def _show_guidance(self) -> None:
        alarm = self.selected_alarm()
        status = next((r for r in self.rows if r.name == alarm), None)
        self.guidance.show_alarm(self._definition_of(alarm) if alarm else None, status)

    def _definition_of(self, alarm: str) -> AlarmDef | None:
        """The alarm's definition as the runtime has it (built-in alarms too), else the project's."""
        for row in (*self.rows, *self.set_aside_rows):
            if row.name == alarm:
                return row.definition
        return self._context.project.alarms.get(alarm) if self._context is not None else None

    def _show_set_aside(self) -> None:
        self.set_aside.set_rows([row for row in self.set_aside_rows if self.filters.accepts(row)])
        self.set_aside.setVisible(bool(self.set_aside.rows) and self.set_aside_button.isChecked())

    def _open_screen_of(self, alarm: str) -> None:
        context = self._context
        definition = self._definition_of(alarm)
        if context is not None and definition is not None and definition.screen:
            context.sig_screen_requested.emit(definition.screen)

    def set_alarms(self, rows: list[AlarmStatus]) -> None:
        """Show a new snapshot of the alarm list (announced alarms above, set-aside ones below)."""
        self.rows = operator_order(row for row in rows if row.shown)
        self.filters.add_areas(row.definition.area for row in rows)  # built-in alarms have areas too
        self.set_aside_rows = [row for row in rows if row.set_aside]
        self._show_set_aside()
        if not self.showing_history:
            self._show()

    def _show(self) -> None:
        selected = self.selected_alarm()
        rows = [row for row in self.rows if self.filters.accepts(row)]
        grouping = self.group_button.isChecked()
        flood = flood_group(rows, self.raises.recent(self.clock())) if grouping else None
        self.flood = flood
        if flood is not None:  # the group row, the first out, the folded rest, then the others
            members = {id(r) for r in flood.others}
            rows = [flood.first_out, *flood.others] + [
                r for r in rows if id(r) not in members and r is not flood.first_out
            ]
        offset = 1 if flood is not None else 0
        self._begin_fill(len(rows) + offset)
        if flood is not None:
            self._put_group_row(flood)
        tags = self._context.project.every_tag() if self._context is not None else {}
        for index, status in enumerate(rows):
            raised = time.strftime("%H:%M:%S", time.localtime(status.raised_at)) if status.raised_at else ""
            # in the tag's own decimals: an integer tag reads 1200, not 1200.00
            decimals = display_format(tags.get(status.definition.tag)).decimals
            value = "" if status.value is None else format_value(status.value, decimals)
            state = status.state.value + (" · bad quality" if status.bad_quality else "")
            order = operator_key(status)
            cells = (
                (raised, status.raised_at or 0.0),
                (status.definition.priority, (priority_rank(status.definition.priority), order)),
                (state, order),
                (status.name, None),
                (status.message, None),
                (value, None),
                (status.definition.area, None),
            )
            self._put_row(index + offset, status.name, status.definition.priority, cells, bold=status.unacked)
        folded = flood is not None and self.flood_folded
        for index in range(len(rows)):
            self.table.setRowHidden(
                index + offset, folded and 1 <= index <= len(flood.others if flood else ())
            )
        if flood is None:
            self._end_fill()  # a flood group keeps its layout: no header sort while it is shown
        self.visible = [r for i, r in enumerate(rows) if not self.table.isRowHidden(i + offset)]
        if selected is not None:
            self._reselect(selected)
        active = sum(1 for s in self.rows if s.active)
        unacked_count = sum(1 for s in self.rows if s.unacked)
        text = f"{active} active, {unacked_count} unacknowledged" if self.rows else "No alarms"
        if len(self.visible) != len(self.rows):
            text += f" ({len(self.visible)} shown)"
        suppressed = sum(1 for row in self.set_aside_rows if row.state is AlarmState.SUPPRESSED)
        if len(self.set_aside_rows) > suppressed:
            text += f", {len(self.set_aside_rows) - suppressed} shelved or out of service"
        if suppressed:  # by design: consequences of an alarm the operator already sees
            text += f", {suppressed} suppressed"
        self.summary.setText(text)

    def _put_group_row(self, flood: FloodGroup) -> None:
        cell = SortableCell(flood.label(self.flood_folded))
        cell.setData(Qt.ItemDataRole.UserRole, GROUP_ROLE_NAME)
        font = cell.font()
        font.setBold(True)
        cell.setFont(font)
        cell.setToolTip("Click to open or fold the flood's alarms")
        self.table.setItem(0, 0, cell)
        self.table.setSpan(0, 0, 1, len(COLUMNS))

    def _toggle_flood(self, item: QTableWidgetItem) -> None:
        if self.flood is not None and item.data(Qt.ItemDataRole.UserRole) == GROUP_ROLE_NAME:
            self.toggle_flood()

    def toggle_flood(self) -> None:
        """Open the flood group, or fold it again."""
        self.flood_folded = not self.flood_folded
        self._show()

    def _reselect(self, alarm: str) -> None:
        # a new snapshot every frame must not take the operator's selection away
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == alarm:
                self.table.selectRow(row)
                return

    def selected_alarm(self) -> str | None:
        """The name of the selected alarm, or None."""
        selected = self.table.selectedItems()
        name = selected[0].data(Qt.ItemDataRole.UserRole) if selected else None
        return None if name == GROUP_ROLE_NAME else name

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
