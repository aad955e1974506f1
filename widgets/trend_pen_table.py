"""The table under a trend: one row per pen with its colour, the value at the cursor, units and quality."""

from __future__ import annotations

import datetime as dt
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hmi.model import Quality
from widgets import palette
from widgets.trend_buffer import Reading

COLUMNS = ("Pen", "Description", "Value", "Units", "Quality", "")
_VALUE, _QUALITY, _REMOVE = 2, 4, 5
_QUALITY_TEXT = {Quality.GOOD: "good", Quality.UNCERTAIN: "uncertain", Quality.BAD: "bad"}


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


CURSOR_HINT = "move the mouse over the chart for a cursor (click to pin)"


def cursor_time_text(ts: float | None, *, latest: bool = False) -> str:
    """Local date and time of the readout, to the second: the cursor's, or the latest values' (live,
    before any cursor, with the hint), or only the hint."""
    if ts is None:
        return f"Cursor: {CURSOR_HINT}"
    when = dt.datetime.fromtimestamp(ts).astimezone()
    if latest:
        return f"Latest at {when:%H:%M:%S}; {CURSOR_HINT}"
    return f"Cursor: {when:%Y-%m-%d %H:%M:%S}"


class PenTable(QWidget):
    """Pens and their readout at the cursor; each row has a button that removes its pen."""

    sig_remove_requested = Signal(str)
    """(pen name): the operator asked to remove this pen from the trend."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cursor_label = QLabel(cursor_time_text(None))
        self.cursor_label.setObjectName("trend-cursor-time")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.cursor_label)
        layout.addWidget(self.table)
        self._rows: dict[str, int] = {}

    @property
    def pen_names(self) -> list[str]:
        """Pens in row order."""
        return list(self._rows)

    def add_pen(self, name: str, colour: str, units: str, description: str, decimals: int = 2) -> None:
        """Append a row for a new pen."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        pen_item = QTableWidgetItem(_swatch(colour), name)
        pen_item.setData(Qt.ItemDataRole.UserRole, decimals)
        self.table.setItem(row, 0, pen_item)
        self.table.setItem(row, 1, QTableWidgetItem(description))
        value = QTableWidgetItem("")
        value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, _VALUE, value)
        self.table.setItem(row, 3, QTableWidgetItem(units))
        self.table.setItem(row, _QUALITY, QTableWidgetItem(""))
        remove = QToolButton()
        remove.setText("✕")
        remove.setAutoRaise(True)
        remove.setToolTip(f"Remove {name} from the trend")
        remove.clicked.connect(lambda: self.sig_remove_requested.emit(name))
        self.table.setCellWidget(row, _REMOVE, remove)
        self._rows[name] = row
        self._fit_height()

    def remove_pen(self, name: str) -> None:
        """Drop a pen's row."""
        row = self._rows.pop(name)
        self.table.removeRow(row)
        self._rows = {pen: (r - 1 if r > row else r) for pen, r in self._rows.items()}
        self._fit_height()

    def set_readings(
        self, ts: float | None, readings: dict[str, Reading | None], *, latest: bool = False
    ) -> None:
        """Show each pen's value and quality at the cursor time ``ts`` (``latest``: at now, no cursor yet)."""
        self.cursor_label.setText(cursor_time_text(ts, latest=latest))
        for name, row in self._rows.items():
            reading = readings.get(name)
            decimals = int(self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) or 0)
            value_text, quality_text, colour = self._texts(reading, decimals)
            value_item, quality_item = self.table.item(row, _VALUE), self.table.item(row, _QUALITY)
            value_item.setText(value_text)
            quality_item.setText(quality_text)
            value_item.setForeground(colour)
            quality_item.setForeground(colour)

    def reading_text(self, name: str) -> tuple[str, str]:
        """(value, quality) as shown in a pen's row (for tests and accessibility)."""
        row = self._rows[name]
        return self.table.item(row, _VALUE).text(), self.table.item(row, _QUALITY).text()

    @staticmethod
    def _texts(reading: Reading | None, decimals: int) -> tuple[str, str, QColor]:
        if reading is None:
            return palette.WAITING_TEXT, "no data", palette.TEXT_DIM
        if reading.quality is Quality.BAD or math.isnan(reading.value):
            return palette.BAD_TEXT, _QUALITY_TEXT[reading.quality], palette.BAD_QUALITY
        text = palette.format_value(reading.value, decimals)
        if reading.quality is Quality.UNCERTAIN:
            return text + palette.UNCERTAIN_MARK, "uncertain", palette.UNCERTAIN_QUALITY
        return text, "good", palette.TEXT

    def _fit_height(self) -> None:
        # All rows visible without a scroll bar: a trend holds a handful of pens.
        rows = max(self.table.rowCount(), 1)
        height = (
            self.table.horizontalHeader().height() + rows * self.table.verticalHeader().defaultSectionSize()
        )
        self.table.setFixedHeight(height + 2 * self.table.frameWidth() + 2)
