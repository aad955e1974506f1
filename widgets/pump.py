"""Centrifugal pump symbol: a circle with an impeller triangle pointing along the flow."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QPolygonF

from widgets import palette
from widgets.palette import QualityStyle
from widgets.symbols import MimicSymbol, centre_line, draw_text, hatch_brush


class PumpSymbol(MimicSymbol):
    """ISA-style pump; running is a filled body, stopped a hollow one, so state never rests on colour.

    Fed with a boolean run feedback (or a speed: positive means running).
    Suction enters at the middle of the left edge, discharge leaves at the
    middle of the right edge, so pipes drawn to those points meet the body.
    """

    def __init__(self, w: float, h: float, label: str = "") -> None:
        super().__init__(w, h, label, clickable=True)
        self._running: bool | None = None

    @property
    def running(self) -> bool | None:
        """Running state the symbol shows; None when the state is unknown (bad or waiting)."""
        return self._running

    def display_text(self) -> str:
        """RUNNING / STOPPED, with the quality marks of the palette when not good."""
        if self._style in (QualityStyle.BAD, QualityStyle.WAITING):
            return palette.value_text(self._sample)
        text = "RUNNING" if self._running else "STOPPED"
        return text + palette.UNCERTAIN_MARK if self._style is QualityStyle.UNCERTAIN else text

    def _sample_changed(self) -> None:
        number = palette.numeric_value(self._sample)
        known = self._style in (QualityStyle.NORMAL, QualityStyle.UNCERTAIN) and number is not None
        self._running = (number > 0) if known else None

    def _paint_symbol(self, painter: QPainter) -> None:
        line_h = max(min(self._h * 0.16, 15.0), 9.0)
        radius = max(min(self._w * 0.5 - 4, self._h * 0.5 - line_h - 1), 6.0)
        centre = QPointF(self._w / 2, self._h / 2)
        stub = max(radius * 0.3, 3.0)

        # nozzles reach the box edges so that pipes ending there look connected
        centre_line(
            painter, QPointF(0, centre.y()), QPointF(centre.x() - radius, centre.y()), palette.PIPE_EDGE, stub
        )
        centre_line(
            painter,
            QPointF(centre.x() + radius, centre.y()),
            QPointF(self._w, centre.y()),
            palette.PIPE_EDGE,
            stub,
        )

        outline = palette.outline_pen(self._style, palette.EQUIPMENT_LINE, 1.6)
        painter.setPen(outline)
        if self._running is None:
            painter.setBrush(palette.EQUIPMENT_FILL_OFF)
            painter.drawEllipse(centre, radius, radius)
            painter.setBrush(hatch_brush())
        else:
            painter.setBrush(palette.EQUIPMENT_FILL_ON if self._running else palette.EQUIPMENT_FILL_OFF)
        painter.drawEllipse(centre, radius, radius)

        if self._running is not None:
            self._paint_impeller(painter, centre, radius)

        font = palette.label_font(int(line_h * 0.85), bold=True)
        draw_text(painter, QRectF(-10, 0, self._w + 20, line_h), self._label, font, palette.TEXT)
        state_colour = palette.look_for(self._style).value_colour
        state_font = palette.label_font(int(line_h * 0.85))
        draw_text(
            painter,
            QRectF(-10, self._h - line_h, self._w + 20, line_h),
            self.display_text(),
            state_font,
            state_colour,
        )

    def _paint_impeller(self, painter: QPainter, centre: QPointF, radius: float) -> None:
        # the triangle points downstream; its colour inverts with the body fill
        r = radius * 0.62
        triangle = QPolygonF(
            [
                QPointF(centre.x() + r, centre.y()),
                QPointF(centre.x() - r * 0.5, centre.y() - r * 0.87),
                QPointF(centre.x() - r * 0.5, centre.y() + r * 0.87),
            ]
        )
        if self._running:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.EQUIPMENT_MARK_ON)
        else:
            painter.setPen(QPen(palette.EQUIPMENT_LINE, 1.4))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolygon(triangle)
