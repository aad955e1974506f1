"""The small toolbar above a trend: time-range presets, live/pause, pens, export and save."""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QToolButton,
    QWidget,
)

PRESETS: tuple[tuple[str, float], ...] = (
    ("10 min", 600.0),
    ("1 h", 3600.0),
    ("8 h", 8 * 3600.0),
    ("24 h", 86400.0),
    ("7 d", 7 * 86400.0),
)
"""(button text, span in seconds) of the time-range presets."""


class TimeRangeDialog(QDialog):
    """Asks for a custom from/to range (local time)."""

    def __init__(self, start: float, end: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Show time range")
        self.start_edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(start)))
        self.end_edit = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(end)))
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        form.addRow(buttons)

    def time_range(self) -> tuple[float, float]:
        """(start, end) epoch seconds, in order whatever the operator typed."""
        start = self.start_edit.dateTime().toSecsSinceEpoch()
        end = self.end_edit.dateTime().toSecsSinceEpoch()
        return float(min(start, end)), float(max(start, end, min(start, end) + 1))


class TrendToolbar(QWidget):
    """Buttons only: it emits what the operator asked; the panel does it."""

    sig_preset_chosen = Signal(float)
    """(span s): a preset range was clicked."""

    sig_custom_range_chosen = Signal(float, float)
    """(start, end epoch s): a custom range was entered."""

    sig_live_toggled = Signal(bool)
    """(live): True to follow the newest values, False to pause."""

    sig_reset_requested = Signal()
    """Back to the preset range, live, every axis on auto scale."""

    sig_add_pen_requested = Signal()
    """The operator wants to add pens."""

    sig_export_csv_requested = Signal()
    """The operator wants the visible data as CSV."""

    sig_export_png_requested = Signal()
    """The operator wants the chart as PNG."""

    sig_save_requested = Signal()
    """The operator wants the pens and span saved into the project."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.presets = QButtonGroup(self)
        self.preset_buttons: dict[float, QToolButton] = {}
        for text, seconds in PRESETS:
            button = self._button(text, f"Show the last {text}")
            button.setCheckable(True)
            self.presets.addButton(button)
            button.clicked.connect(lambda _checked=False, span=seconds: self.sig_preset_chosen.emit(span))
            self.preset_buttons[seconds] = button
            layout.addWidget(button)
        self.custom_button = self._button("Custom…", "Show a time range of your choice")
        self.custom_button.clicked.connect(self._ask_custom_range)
        layout.addWidget(self.custom_button)
        layout.addSpacing(10)
        # Panning or zooming pauses the scrolling; this button brings the operator back to "now".
        self.live_button = self._button("Live", "Follow the newest values (pan or zoom the chart to pause)")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.toggled.connect(self.sig_live_toggled)
        layout.addWidget(self.live_button)
        self.reset_button = self._button(
            "Reset", "Back to the preset time range, live (or double-click the chart, or press Home on it)"
        )
        self.reset_button.clicked.connect(self.sig_reset_requested)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)
        actions = (
            ("Add pen…", "Add pens from the project's tags", self.sig_add_pen_requested),
            ("CSV…", "Export the visible data of every pen to CSV", self.sig_export_csv_requested),
            ("PNG…", "Save the chart as a PNG image", self.sig_export_png_requested),
            ("Save trend", "Save these pens and this time span into the project", self.sig_save_requested),
        )
        self.action_buttons: dict[str, QToolButton] = {}
        for text, tip, signal in actions:
            button = self._button(text, tip)
            button.clicked.connect(signal)
            layout.addWidget(button)
            self.action_buttons[text] = button

    def mark_preset(self, span: float) -> None:
        """Check the preset matching ``span`` (none when it matches no preset)."""
        button = self.preset_buttons.get(float(span))
        self.presets.setExclusive(False)
        for other in self.preset_buttons.values():
            other.setChecked(other is button)
        self.presets.setExclusive(True)

    def _ask_custom_range(self) -> None:
        end = time.time()
        dialog = TimeRangeDialog(end - 3600, end, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.sig_custom_range_chosen.emit(*dialog.time_range())

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button
