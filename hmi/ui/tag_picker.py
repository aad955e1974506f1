"""A dialog listing the project's trendable tags with units and description, filtered as one types."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.model import DataType, TagDef

COLUMNS = ("Tag", "Units", "Description")


def trendable(tag: TagDef) -> bool:
    """True for tags a trend can plot: numbers and bools."""
    return tag.type.is_numeric or tag.type is DataType.BOOL


class TagPicker(QDialog):
    """Pick one or more tags to add as pens; tags already on the trend are not offered."""

    def __init__(
        self, tags: Mapping[str, TagDef], exclude: Collection[str] = (), parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add pens")
        self.resize(560, 420)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by name, units or description")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.apply_filter)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self.accept)
        for tag in sorted((t for t in tags.values() if trendable(t) and t.name not in exclude), key=_by_name):
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column, text in enumerate((tag.name, tag.units, tag.description)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.filter_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def apply_filter(self, text: str) -> None:
        """Show only rows where every word of ``text`` appears in the name, units or description."""
        words = text.lower().split()
        for row in range(self.table.rowCount()):
            haystack = " ".join(self.table.item(row, column).text().lower() for column in range(len(COLUMNS)))
            self.table.setRowHidden(row, not all(word in haystack for word in words))

    def visible_tags(self) -> list[str]:
        """Names of the rows the filter lets through."""
        return [
            self.table.item(row, 0).text()
            for row in range(self.table.rowCount())
            if not self.table.isRowHidden(row)
        ]

    def selected_tags(self) -> list[str]:
        """Names of the selected, visible rows, in table order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).text() for row in rows if not self.table.isRowHidden(row)]

    def select(self, names: Collection[str]) -> None:
        """Select these tags (keyboard-free selection for tests and scripted use)."""
        self.table.clearSelection()
        model = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() in names:
                model.select(self.table.model().index(row, 0), flags)


def _by_name(tag: TagDef) -> str:
    return tag.name
