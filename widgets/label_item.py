"""Static text on a mimic: titles, area names, annotations."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from widgets import palette


class LabelItem(QGraphicsObject):
    """One line of text at the item's position, in the mimic's text colour; ``size`` is in scene pixels."""

    def __init__(
        self, text: str, size: float = 12, *, bold: bool = False, parent: QGraphicsItem | None = None
    ) -> None:
        super().__init__(parent)
        self._text = text
        self._font = palette.label_font(size, bold=bold or size >= 16)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    @property
    def text(self) -> str:
        """The text shown."""
        return self._text

    def set_text(self, text: str) -> None:
        """Replace the text (the item grows or shrinks with it)."""
        self.prepareGeometryChange()
        self._text = text
        self.update()

    def boundingRect(self) -> QRectF:
        """The text's extent in its font."""
        metrics = QFontMetricsF(self._font)
        return QRectF(0, 0, metrics.horizontalAdvance(self._text) + 2, metrics.height() + 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the text."""
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.setFont(self._font)
        painter.setPen(palette.TEXT)
        painter.drawText(
            self.boundingRect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self._text
        )
