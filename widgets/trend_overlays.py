"""What a trend draws over its curves: bad-quality shading and the time cursor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QGraphicsObject, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget

from widgets import palette

BAND_HEIGHT_PX = 4.0
"""Height of each pen's marker row along the bottom of the plot."""

PenSpans = tuple[QColor, np.ndarray, np.ndarray]
"""(pen colour, span starts, span ends) in epoch seconds."""


def _tinted(colour: QColor, alpha: int) -> QColor:
    tinted = QColor(colour)
    tinted.setAlpha(alpha)
    return tinted


class BadQualityBands(QGraphicsObject):
    """Shades every bad-quality span: a hatched magenta wash over the plot and a row per pen at the bottom.

    The wash says "the data is wrong here" in the palette's data-quality colour;
    the row in the pen's own colour says whose data it is. It sits in the scene
    beneath every view, so the curves of all axes draw over it unchanged.
    """

    def __init__(self, view: pg.ViewBox) -> None:
        super().__init__()
        self._view = view
        self._spans: list[PenSpans] = []
        self._wash = QBrush(_tinted(palette.BAD_QUALITY, 26))
        self._hatch = QBrush(_tinted(palette.BAD_QUALITY, 80), Qt.BrushStyle.BDiagPattern)
        self.setZValue(-200)  # under the plot (z 0) and its extra views (pyqtgraph puts them at -100)
        view.sigRangeChanged.connect(self._on_view_changed)
        view.sigResized.connect(self._on_view_changed)

    def set_spans(self, spans: list[PenSpans]) -> None:
        """Replace the shaded spans; the order of ``spans`` is the order of the rows from the bottom."""
        self._spans = spans
        self.update()

    @property
    def span_count(self) -> int:
        """Number of shaded spans over all pens."""
        return sum(len(starts) for _, starts, _ in self._spans)

    def boundingRect(self) -> QRectF:
        """The view's area in the scene (whose units are the plot's pixels)."""
        return self._view.sceneBoundingRect()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw in scene pixels: a hatch pattern scaled by seconds-per-pixel would be unreadable."""
        area = self._view.sceneBoundingRect()
        (left, right), _ = self._view.viewRange()
        if not self._spans or right <= left:
            return
        scale = area.width() / (right - left)
        painter.setPen(Qt.PenStyle.NoPen)
        for row, (colour, starts, ends) in enumerate(self._spans):
            visible = (ends >= left) & (starts <= right)
            x0 = area.left() + (np.maximum(starts[visible], left) - left) * scale
            x1 = area.left() + (np.minimum(ends[visible], right) - left) * scale
            band_top = area.bottom() - (row + 1) * (BAND_HEIGHT_PX + 1)
            for a, b in zip(x0.tolist(), x1.tolist(), strict=True):
                width = max(b - a, 1.0)
                full = QRectF(a, area.top(), width, area.height())
                painter.fillRect(full, self._wash)
                painter.fillRect(full, self._hatch)
                painter.fillRect(QRectF(a, band_top, width, BAND_HEIGHT_PX), colour)

    def _on_view_changed(self, *_: object) -> None:
        self.prepareGeometryChange()
        self.update()


class TrendCursor(QObject):
    """A vertical line that follows the mouse over the plot; a click pins it there, another click frees it.

    It is not draggable: a drag on the plot pans time, even when it starts on the line
    (which, following the mouse, is always under it). :meth:`place` puts it anywhere.
    """

    sig_moved = Signal(float)
    """(epoch s): the cursor now stands at this time."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        super().__init__()
        self._plot_item = plot_item
        self.pinned = False
        pen = pg.mkPen(palette.TEXT_DIM, width=1, style=Qt.PenStyle.DashLine)
        self.line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        self.line.setZValue(20)
        self.line.setVisible(False)
        plot_item.addItem(self.line, ignoreBounds=True)
        self.line.sigPositionChanged.connect(lambda line: self.sig_moved.emit(float(line.value())))
        self._buttons_held = False
        scene = plot_item.scene()
        scene.installEventFilter(self)  # to know a button is down before pyqtgraph calls it a drag
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)

    @property
    def time(self) -> float | None:
        """Where the cursor stands (None until it was first shown)."""
        return float(self.line.value()) if self.line.isVisible() else None

    def place(self, ts: float, pin: bool = True) -> None:
        """Put the cursor at ``ts``; pinned, it stays there when the mouse moves."""
        self.pinned = pin
        self.line.setVisible(True)
        if float(self.line.value()) == ts:
            self.sig_moved.emit(ts)
        self.line.setValue(ts)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Follow the mouse buttons on the scene; every event goes on."""
        pressed = (QEvent.Type.GraphicsSceneMousePress, QEvent.Type.GraphicsSceneMouseRelease)
        if event.type() in pressed and isinstance(event, QGraphicsSceneMouseEvent):
            self._buttons_held = event.buttons() != Qt.MouseButton.NoButton
        return False

    def _view_time(self, scene_pos: QPointF) -> float | None:
        view = self._plot_item.vb
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        return float(view.mapSceneToView(scene_pos).x())

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self._buttons_held:
            return  # a drag pans the chart: the cursor keeps the time it had, which stays under the hand
        ts = self._view_time(scene_pos)
        if ts is not None and not self.pinned:
            self.place(ts, pin=False)

    def _on_mouse_clicked(self, event: MouseClickEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double():
            return  # a double-click resets the view; its first click already toggled the pin
        ts = self._view_time(event.scenePos())
        if ts is not None:
            self.place(ts, pin=not self.pinned)
