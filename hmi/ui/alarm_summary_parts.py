"""Parts of the alarm summary: the filter bar, sortable cells, and the guidance pane."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QTableWidgetItem, QWidget

from hmi.alarms.engine import AlarmState, AlarmStatus
from hmi.alarms.states import PRIORITY_RANK
from hmi.project.config import AlarmDef

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ALL = ""
STATE_CHOICES = (
    AlarmState.UNACKED,
    AlarmState.RETURNED_UNACKED,
    AlarmState.ACKED,
    AlarmState.SHELVED,
    AlarmState.OUT_OF_SERVICE,
)


class SortableCell(QTableWidgetItem):
    """A cell that sorts by its ``SORT_ROLE`` key (time as a number, priority by rank), else by text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is not None and theirs is not None:
            return bool(mine < theirs)
        return self.text() < other.text()


def priority_rank(priority: str) -> int:
    """Sort key of a priority (urgent first)."""
    return PRIORITY_RANK.get(priority, 9)


class AlarmFilter(QWidget):
    """Text, area, priority and state: what the summary shows (the history view uses the same)."""

    sig_changed = Signal()
    """Any part of the filter changed."""

    def __init__(self, areas: Iterable[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit()
        self.text.setPlaceholderText("Filter (alarm, message, area, priority, state)")
        self.text.setClearButtonEnabled(True)
        self.area = _choice("All areas", sorted({a for a in areas if a}))
        self.priority = _choice("All priorities", list(PRIORITY_RANK))
        self.state = _choice("All states", [s.value for s in STATE_CHOICES])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 2)
        for combo in (self.area, self.priority, self.state):
            layout.addWidget(combo)
            combo.currentIndexChanged.connect(lambda _i: self.sig_changed.emit())
        self.text.textChanged.connect(lambda _t: self.sig_changed.emit())

    def add_areas(self, areas: Iterable[str]) -> None:
        """Offer ``areas`` in the area choice (each once, in the order first seen)."""
        for area in areas:
            if area and self.area.findData(area) < 0:
                self.area.addItem(area, area)

    def accepts(self, status: AlarmStatus) -> bool:
        """True when ``status`` passes every part of the filter."""
        definition = status.definition
        return self.accepts_fields(
            searchable(status), definition.area, definition.priority, status.state.value
        )

    def accepts_fields(self, text: str, area: str, priority: str, state: str) -> bool:
        """The same test on plain fields (a journal row)."""
        needle = self.text.text().strip().lower()
        return (
            (not needle or needle in text.lower())
            and self.area.currentData() in (ALL, area)
            and self.priority.currentData() in (ALL, priority)
            and self.state.currentData() in (ALL, state)
        )


def _choice(everything: str, values: list[str]) -> QComboBox:
    combo = QComboBox()
    # sized by a short text, not the longest state: the summary must fit a 1024 px wide window
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    combo.addItem(everything, ALL)
    for value in values:
        combo.addItem(value, value)
    return combo


def searchable(status: AlarmStatus) -> str:
    """The text a filter searches in: name, message, area, priority and state."""
    d = status.definition
    return " ".join((status.name, status.message, d.area, d.priority, status.state.value)).lower()


GUIDANCE_FIELDS = (("cause", "Cause"), ("consequence", "Consequence"), ("action", "Corrective action"))


def guidance_html(definition: AlarmDef | None, status: Any = None) -> str:
    """The detail pane's text: the alarm, its tag and area, and its rationalised guidance if written."""
    if definition is None:
        return "<i>Select an alarm to see its guidance.</i>"
    lines = [f"<b>{definition.name}</b> · {definition.priority} · tag {definition.tag}"]
    if definition.area:
        lines.append(f"Area: {definition.area}")
    if status is not None and getattr(status, "message", ""):
        lines.append(str(status.message))
    for field, label in GUIDANCE_FIELDS:
        text = str(getattr(definition, field, "") or "")
        lines.append(f"<b>{label}:</b> {text}" if text else f"<b>{label}:</b> <i>not written</i>")
    if definition.screen:
        lines.append(f"Screen: {definition.screen} (double-click or Enter to open)")
    return "<br>".join(lines)


class GuidancePane(QLabel):
    """Cause, consequence and corrective action of the selected alarm (ISA-18.2 rationalisation)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alarm-guidance")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setMinimumWidth(240)
        self.show_alarm(None)

    def show_alarm(self, definition: AlarmDef | None, status: Any = None) -> None:
        """Show ``definition``'s guidance (None: the hint)."""
        self.alarm = definition.name if definition is not None else None
        self.setText(guidance_html(definition, status))
