"""Common ground of the mimic symbols: a fixed box, a tag label, the quality rule and click reporting.

A symbol is a ``QGraphicsObject`` that the screen builder places at ``(x, y)``
and that draws itself inside ``(0, 0, w, h)``. It keeps no business state:
the screen feeds it with :meth:`MimicSymbol.set_sample` and listens to
``sig_clicked``. When the sample is not good, the reason is drawn in a thin
band just under the box (and always in the tooltip), so that a frozen or
failed value is never mistaken for a live one.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from hmi.model import Sample
from widgets import palette
from widgets.palette import QualityStyle

REASON_BAND = 14.0  # height of the strip under a symbol where a bad/uncertain reason is written
_MARGIN = 3.0  # room for thick quality outlines and the hover ring outside the box


def draw_text(
    painter: QPainter,
    rect: QRectF,
    text: str,
    font: QFont,
    colour: QColor,
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
) -> None:
    """Draw one line of text in ``rect``, elided on the right if it does not fit."""
    painter.setFont(font)
    painter.setPen(colour)
    metrics = painter.fontMetrics()
    shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, int(rect.width()))
    painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), shown)


def hatch_brush() -> QBrush:
    """Brush that says 'state unknown': grey diagonal hatching instead of a fill."""
    return QBrush(palette.TEXT_DIM, Qt.BrushStyle.BDiagPattern)


class MimicSymbol(QGraphicsObject):
    """Base of every mimic symbol: geometry, label, last sample, quality style and clicks."""

    sig_clicked = Signal()
    """The operator clicked the symbol (the screen opens its faceplate)."""

    def __init__(
        self,
        w: float,
        h: float,
        label: str = "",
        *,
        clickable: bool = False,
        parent: QGraphicsItem | None = None,
    ) -> None:
        super().__init__(parent)
        self._w = float(w)
        self._h = float(h)
        self._label = label
        self._sample: Sample | None = None
        self._style = QualityStyle.WAITING
        self._clickable = clickable
        self._hovered = False
        self._pressed = False
        if clickable:
            self.setAcceptHoverEvents(True)
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        else:
            self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._refresh_tooltip()

    # --- what the screen and the tests look at -------------------------------------------------------
    @property
    def label(self) -> str:
        """The tag label drawn with the symbol (e.g. 'P-101')."""
        return self._label

    @property
    def sample(self) -> Sample | None:
        """The last sample fed in, or None before the first one."""
        return self._sample

    @property
    def quality_style(self) -> QualityStyle:
        """How the current sample is drawn: normal, uncertain, bad or waiting."""
        return self._style

    def display_text(self) -> str:
        """The value or state text the symbol shows right now."""
        return palette.value_text(self._sample)

    def reason_text(self) -> str:
        """The quality reason written under the symbol (empty when the value is good)."""
        return palette.reason_text(self._sample)

    def set_label(self, label: str) -> None:
        """Change the tag label."""
        self._label = label
        self._refresh_tooltip()
        self.update()

    def set_sample(self, sample: Sample | None) -> None:
        """Show a new sample of the bound tag (None returns to 'waiting for a value')."""
        self._sample = sample
        self._style = palette.style_for(sample)
        self._sample_changed()
        self._refresh_tooltip()
        self.update()

    def _sample_changed(self) -> None:
        """Hook for subclasses that derive state (running, level...) from the new sample."""

    def _refresh_tooltip(self) -> None:
        explanation = palette.quality_tooltip(self._sample)
        parts = [p for p in (self._label, explanation) if p]
        self.setToolTip("\n".join(parts))

    # --- geometry and painting -----------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        """The box, the quality band under it and a margin for thick outlines."""
        return QRectF(-_MARGIN, -_MARGIN, self._w + 2 * _MARGIN, self._h + REASON_BAND + 2 * _MARGIN)

    def shape(self) -> QPainterPath:
        """Clicks and hover count inside the symbol's box only."""
        path = QPainterPath()
        path.addRect(QRectF(0, 0, self._w, self._h))
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the symbol, the hover ring and the quality reason."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint_symbol(painter)
        if self._hovered:
            ring = QPen(palette.HOVER, 1.5, Qt.PenStyle.DotLine)
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(-1.5, -1.5, self._w + 3, self._h + 3), 4, 4)
        reason = self.reason_text()
        if reason:
            colour = palette.look_for(self._style).outline
            band = QRectF(-20, self._h + 1, self._w + 40, REASON_BAND - 2)
            draw_text(painter, band, reason, palette.label_font(11), colour)

    def _paint_symbol(self, painter: QPainter) -> None:
        """Subclasses draw their equipment inside (0, 0, w, h)."""
        raise NotImplementedError

    # --- operator interaction ------------------------------------------------------------------------
    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Show the focus ring so the operator sees the symbol can be clicked."""
        self._hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Hide the focus ring."""
        self._hovered = False
        self.update()
        super().hoverLeaveEvent(event)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Take the press so that the release comes back to this symbol."""
        if self._clickable and event.button() == Qt.MouseButton.LeftButton:
            self._pressed = True
            event.accept()
        else:
            event.ignore()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """A click is a press and a release inside the box: dragging off cancels it."""
        was_pressed, self._pressed = self._pressed, False
        if was_pressed and self.shape().contains(event.pos()):
            self.sig_clicked.emit()
        event.accept()

    def click(self) -> None:
        """Act as if the operator clicked (keyboard activation and tests)."""
        if self._clickable:
            self.sig_clicked.emit()


def centre_line(painter: QPainter, start: QPointF, end: QPointF, colour: QColor, width: float) -> None:
    """A straight stroke with flat ends, used for pipe stubs that meet a pipe at the box edge."""
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    painter.setPen(pen)
    painter.drawLine(start, end)
