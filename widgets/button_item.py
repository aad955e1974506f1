"""A flat push button drawn in the scene, for navigation and commands on a mimic."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from widgets import palette
from widgets.symbols import draw_text


class ButtonItem(QGraphicsObject):
    """A calm grey button; a click is a press and release inside it. Disable with ``setEnabled(False)``."""

    sig_clicked = Signal()
    """The operator clicked the button."""

    def __init__(self, w: float, h: float, label: str, *, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._w = float(w)
        self._h = float(h)
        self._label = label
        self._hovered = False
        self._pressed = False
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    @property
    def label(self) -> str:
        """Text on the button."""
        return self._label

    def set_label(self, label: str) -> None:
        """Change the text on the button."""
        self._label = label
        self.update()

    def click(self) -> None:
        """Act as if the operator clicked (keyboard activation and tests); ignored when disabled."""
        if self.isEnabled():
            self.sig_clicked.emit()

    def boundingRect(self) -> QRectF:
        """The button's box."""
        return QRectF(0, 0, self._w, self._h)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the face, the border (blue under the mouse) and the label."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        enabled = self.isEnabled()
        face = palette.EQUIPMENT_FILL_OFF.darker(112) if self._pressed else palette.PANEL
        border = palette.HOVER if (self._hovered and enabled) else palette.EQUIPMENT_LINE
        painter.setBrush(face)
        painter.setPen(QPen(border if enabled else palette.DISABLED_TEXT, 1.2))
        painter.drawRoundedRect(QRectF(0.6, 0.6, self._w - 1.2, self._h - 1.2), 3, 3)
        text_colour = palette.TEXT if enabled else palette.DISABLED_TEXT
        font = palette.label_font(int(min(max(self._h * 0.4, 10), 15)), bold=True)
        draw_text(painter, QRectF(4, 0, self._w - 8, self._h), self._label, font, text_colour)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Highlight the border under the mouse."""
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Drop the highlight."""
        self._hovered = False
        self._pressed = False
        self.update()
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Show the pressed face and keep the release for this button."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = True
            self.update()
            event.accept()
        else:
            event.ignore()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Emit when released over the button; sliding off cancels."""
        was_pressed, self._pressed = self._pressed, False
        self.update()
        if was_pressed and self.boundingRect().contains(event.pos()):
            self.click()
        event.accept()
