"""The alarm indicator drawn beside a value or equipment on a mimic (ISA-101).

One shape and one colour per priority, with the priority number inside, so the mark reads
without colour too: urgent a red square "1", high an orange triangle "2", medium a yellow
diamond "3", low a blue circle "4". Unacknowledged, the mark blinks (the screen hands every
mark the same phase, so they blink together); acknowledged it is steady; a shelved or
out-of-service alarm shows a hollow grey circle with "S" or "O"; normal shows nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from widgets.palette import TEXT_DIM, label_font, priority_look

MARK_SIZE = 20.0
"""Width and height of a mark in scene units."""


class MarkShape(enum.StrEnum):
    """The outline of a mark: each priority has its own."""

    SQUARE = "square"
    TRIANGLE = "triangle"
    DIAMOND = "diamond"
    CIRCLE = "circle"


class MarkState(enum.StrEnum):
    """What the mark says about its alarm."""

    NONE = "none"
    """No alarm (or returned and acknowledged): nothing drawn."""
    UNACKED = "unacked"
    """Waiting for an acknowledgement: blinks."""
    ACKED = "acked"
    """Active and acknowledged: steady."""
    SHELVED = "shelved"
    OUT_OF_SERVICE = "out of service"


@dataclass(frozen=True, slots=True)
class MarkStyle:
    """Shape and label of one priority's mark (its colours are the banner's: ``priority_look``)."""

    shape: MarkShape
    label: str


MARK_STYLES: dict[str, MarkStyle] = {
    "urgent": MarkStyle(MarkShape.SQUARE, "1"),
    "high": MarkStyle(MarkShape.TRIANGLE, "2"),
    "medium": MarkStyle(MarkShape.DIAMOND, "3"),
    "low": MarkStyle(MarkShape.CIRCLE, "4"),
}
UNKNOWN_STYLE = MarkStyle(MarkShape.CIRCLE, "?")
SET_ASIDE_LABELS = {MarkState.SHELVED: "S", MarkState.OUT_OF_SERVICE: "O"}


def mark_style(priority: str) -> MarkStyle:
    """The shape and label of ``priority``'s mark."""
    return MARK_STYLES.get(priority, UNKNOWN_STYLE)


def shape_path(shape: MarkShape, rect: QRectF) -> QPainterPath:
    """The outline of ``shape`` filling ``rect``."""
    path = QPainterPath()
    if shape is MarkShape.SQUARE:
        path.addRect(rect)
    elif shape is MarkShape.CIRCLE:
        path.addEllipse(rect)
    elif shape is MarkShape.TRIANGLE:
        path.addPolygon(
            QPolygonF([QPointF(rect.center().x(), rect.top()), rect.bottomRight(), rect.bottomLeft()])
        )
        path.closeSubpath()
    else:
        centre = rect.center()
        path.addPolygon(
            QPolygonF(
                [
                    QPointF(centre.x(), rect.top()),
                    QPointF(rect.right(), centre.y()),
                    QPointF(centre.x(), rect.bottom()),
                    QPointF(rect.left(), centre.y()),
                ]
            )
        )
        path.closeSubpath()
    return path


class AlarmMark(QGraphicsItem):
    """A small priority mark; :meth:`set_alarm` says which, :meth:`set_blink_phase` drives the blinking."""

    def __init__(self, tag: str, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.tag = tag
        self.priority = ""
        self.state = MarkState.NONE
        self.blink_on = True
        """The shared blink phase: an unacknowledged mark is filled when on, hollow when off."""
        self.setZValue(10)  # above the equipment it marks
        self.setVisible(False)

    @property
    def blinking(self) -> bool:
        """True while the mark blinks (its alarm is unacknowledged)."""
        return self.isVisible() and self.state is MarkState.UNACKED

    @property
    def filled(self) -> bool:
        """True when the mark is drawn filled now (steady, or the "on" half of a blink)."""
        return self.state is MarkState.ACKED or (self.state is MarkState.UNACKED and self.blink_on)

    def set_alarm(self, priority: str, state: MarkState) -> None:
        """Show the mark of ``priority`` in ``state`` (``MarkState.NONE`` hides it)."""
        if (priority, state) == (self.priority, self.state):
            return
        self.priority, self.state = priority, state
        self.setVisible(state is not MarkState.NONE)
        self.setToolTip(f"{priority} alarm, {state.value}" if state is not MarkState.NONE else "")
        self.update()

    def set_blink_phase(self, on: bool) -> None:
        """The screen's blink clock ticked; only an unacknowledged mark repaints."""
        self.blink_on = on
        if self.state is MarkState.UNACKED:
            self.update()

    def boundingRect(self) -> QRectF:
        """The mark's box, with room for its outline."""
        return QRectF(-1, -1, MARK_SIZE + 2, MARK_SIZE + 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the shape, filled or hollow, with the priority's number (or S / O when set aside)."""
        rect = QRectF(0, 0, MARK_SIZE, MARK_SIZE)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.state in SET_ASIDE_LABELS:
            painter.setPen(QPen(TEXT_DIM, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(rect)
            self._label(painter, rect, SET_ASIDE_LABELS[self.state], TEXT_DIM)
            return
        style = mark_style(self.priority)
        look = priority_look(self.priority)
        path = shape_path(style.shape, rect)
        painter.setPen(QPen(look.background.darker(140), 1.5))
        painter.setBrush(QBrush(look.background) if self.filled else Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        text_colour = look.text if self.filled else look.background.darker(140)
        # a triangle's centre of mass sits low: the number goes there so it stays inside the shape
        text_rect = rect.adjusted(0, 5, 0, 0) if style.shape is MarkShape.TRIANGLE else rect
        self._label(painter, text_rect, style.label, text_colour)

    @staticmethod
    def _label(painter: QPainter, rect: QRectF, text: str, colour: QColor) -> None:
        painter.setFont(label_font(11, bold=True))
        painter.setPen(colour)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
