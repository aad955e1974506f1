"""Valve symbol: a bow-tie body with a stem and actuator, for on/off or positioned valves."""

from __future__ import annotations

import numbers

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPolygonF

from widgets import palette
from widgets.palette import QualityStyle
from widgets.symbols import MimicSymbol, centre_line, draw_text, hatch_brush

_CLOSED_BELOW = 0.5  # % open under which a positioned valve is drawn closed


class ValveSymbol(MimicSymbol):
    """Bow-tie valve. A bool means open/closed; a number is a 0–100 % position shown as text.

    Open is a filled body and closed a hollow one; a positioned valve fills
    from the bottom in proportion to its opening. Pipes meet the body at the
    middle of the left and right edges.
    """

    def __init__(self, w: float, h: float, label: str = "") -> None:
        super().__init__(w, h, label, clickable=True)
        self._position: float | None = None  # 0..100, None when unknown
        self._discrete = True

    @property
    def position(self) -> float | None:
        """Opening in % (a bool shows as 0 or 100); None when the state is unknown."""
        return self._position

    @property
    def is_open(self) -> bool | None:
        """True when open at all, False when closed, None when unknown."""
        return None if self._position is None else self._position >= _CLOSED_BELOW

    def display_text(self) -> str:
        """OPEN / CLOSED or 'NN %', with the palette's quality marks when not good."""
        if self._style in (QualityStyle.BAD, QualityStyle.WAITING) or self._position is None:
            return palette.value_text(self._sample)
        state = "OPEN" if self.is_open else "CLOSED"
        text = state if self._discrete else f"{self._position:.0f} %"
        return text + palette.UNCERTAIN_MARK if self._style is QualityStyle.UNCERTAIN else text

    def _sample_changed(self) -> None:
        value = None if self._sample is None else self._sample.value
        usable = self._style in (QualityStyle.NORMAL, QualityStyle.UNCERTAIN)
        if not usable or not isinstance(value, numbers.Real):
            self._position = None
            return
        self._discrete = isinstance(value, bool)
        self._position = 100.0 if value is True else min(max(float(value), 0.0), 100.0)

    def _paint_symbol(self, painter: QPainter) -> None:
        line_h = max(min(self._h * 0.22, 15.0), 10.0)
        cy = self._h / 2
        half_w = max(min(self._w * 0.36, self._h * 0.5), 5.0)
        # the body leaves the upper half of the room between label and waist to the actuator
        half_h = max(min(half_w * 0.62, (cy - line_h) * 0.5), 4.0)
        cx = self._w / 2

        centre_line(painter, QPointF(0, cy), QPointF(cx - half_w, cy), palette.PIPE_EDGE, half_h * 0.7)
        centre_line(painter, QPointF(cx + half_w, cy), QPointF(self._w, cy), palette.PIPE_EDGE, half_h * 0.7)

        # actuator: a dome on a stem that rises from the body's waist
        dome_top = line_h + 1
        dome_h = max((cy - half_h - dome_top) * 0.7, 3.0)
        dome_w = max(half_w * 0.8, 2 * dome_h)
        painter.setPen(palette.outline_pen(QualityStyle.NORMAL, palette.EQUIPMENT_LINE, 1.3))
        painter.drawLine(QPointF(cx, cy), QPointF(cx, dome_top + dome_h))
        dome = QRectF(cx - dome_w / 2, dome_top, dome_w, 2 * dome_h)
        painter.setBrush(palette.EQUIPMENT_FILL_OFF)
        painter.drawChord(dome, 0, 180 * 16)

        body = QPainterPath()
        body.addPolygon(
            QPolygonF(
                [
                    QPointF(cx - half_w, cy - half_h),
                    QPointF(cx, cy),
                    QPointF(cx - half_w, cy + half_h),
                ]
            )
        )
        body.closeSubpath()
        body.addPolygon(
            QPolygonF(
                [
                    QPointF(cx + half_w, cy - half_h),
                    QPointF(cx, cy),
                    QPointF(cx + half_w, cy + half_h),
                ]
            )
        )
        body.closeSubpath()

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.EQUIPMENT_FILL_OFF)
        painter.drawPath(body)
        if self._position is None:
            painter.setBrush(hatch_brush())
            painter.drawPath(body)
        elif self._position >= _CLOSED_BELOW:
            # filled from the bottom in proportion to the opening: full means fully open
            filled_h = 2 * half_h * self._position / 100.0
            painter.save()
            painter.setClipRect(QRectF(0, cy + half_h - filled_h, self._w, filled_h))
            painter.setBrush(palette.EQUIPMENT_FILL_ON)
            painter.drawPath(body)
            painter.restore()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(palette.outline_pen(self._style, palette.EQUIPMENT_LINE, 1.6))
        painter.drawPath(body)

        font = palette.label_font(int(line_h * 0.85), bold=True)
        draw_text(painter, QRectF(-14, 0, self._w + 28, line_h), self._label, font, palette.TEXT)
        state_colour = palette.look_for(self._style).value_colour
        draw_text(
            painter,
            QRectF(-14, self._h - line_h, self._w + 28, line_h),
            self.display_text(),
            palette.label_font(int(line_h * 0.85)),
            state_colour,
        )
