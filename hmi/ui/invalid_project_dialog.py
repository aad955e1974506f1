"""The dialog a person sees when the project does not load: every error in a scrolling list, OK in reach."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hmi.project.errors import ProjectError

SCREEN_SHARE = 0.8
"""The dialog never grows past this share of the screen's free area, however many errors there are."""


class InvalidProjectDialog(QDialog):
    """A count, the errors as ``file:line: message`` in a list that scrolls, and an OK button."""

    def __init__(self, errors: Sequence[ProjectError | str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Converge HMI: the project is invalid")
        count = len(errors)
        self.summary = QLabel(
            f"The project has {count} error{'s' if count != 1 else ''}; nothing was started. "
            "Fix them (hmi check PROJECT lists the same) and start again."
        )
        self.summary.setWordWrap(True)
        self.errors = QListWidget()
        self.errors.addItems([str(error) for error in errors])
        self.errors.setWordWrap(True)
        self.errors.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)  # copyable
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        self.buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.errors, 1)
        layout.addWidget(self.buttons)
        self._bound_size()

    @property
    def ok_button(self) -> QPushButton:
        """The OK button."""
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def _bound_size(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        free = screen.availableGeometry()
        most_w, most_h = int(free.width() * SCREEN_SHARE), int(free.height() * SCREEN_SHARE)
        self.setMaximumSize(most_w, most_h)
        rows = self.errors.sizeHintForRow(0) * self.errors.count() if self.errors.count() else 0
        wanted_h = self.summary.sizeHint().height() + rows + self.buttons.sizeHint().height() + 60
        wanted_w = max(self.errors.sizeHintForColumn(0) + 40, 520)
        self.resize(min(wanted_w, most_w), min(wanted_h, most_h))
