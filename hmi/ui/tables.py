"""Read-only tables of the views: one way to build them and to fill their cells in place.

The views refresh every second or so; reusing each row's items (rather than making new ones)
keeps the selection and the scroll position across a refresh and spares the allocations.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget


def read_only_table(
    columns: Sequence[str], parent: QWidget | None = None, *, stretch_column: int | None = None
) -> QTableWidget:
    """A table the operator selects whole rows in but never edits; columns fit their contents.

    The spare width goes to ``stretch_column``, or to the last column when none is given.
    """
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    if stretch_column is None:
        header.setStretchLastSection(True)
    else:
        header.setSectionResizeMode(stretch_column, QHeaderView.ResizeMode.Stretch)
    return table


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item at ``row``, ``column``, made empty there first if the cell has none yet."""
    item = table.item(row, column)
    if item is None:
        item = QTableWidgetItem()
        table.setItem(row, column, item)
    return item


def fill_rows(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    """Show ``rows`` (the texts of each row, column by column), as many rows as given."""
    table.setRowCount(len(rows))
    for row, texts in enumerate(rows):
        for column, text in enumerate(texts):
            cell(table, row, column).setText(text)
