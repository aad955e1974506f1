"""Process pipe: a polyline drawn hollow when idle, filled when flowing, dashed when unknown."""

from __future__ import annotations

import numbers

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from hmi.model import Sample
from widgets import palette


class PipeItem(QGraphicsObject):
    """A pipe along ``points`` (in the item's own coordinates) showing whether it carries flow.

    Flowing is a pipe filled with liquid colour, idle is a hollow pipe, and
    unknown (no data or bad data) is a dashed grey outline: the three differ in
    shape, not only in colour. A screen whose points are absolute scene
    coordinates keeps the item at position (0, 0).
    """

    def __init__(
        self,
        points: list[tuple[float, float]],
        width: float = 8.0,
        *,
        flow_threshold: float = 0.0,
        parent: QGraphicsItem | None = None,
    ) -> None:
        super().__init__(parent)
        if len(points) < 2:
            raise ValueError(f"a pipe needs at least two points, got {len(points)}")
        self._points = [QPointF(float(x), float(y)) for x, y in points]
        self._width = float(width)
        self._flow_threshold = flow_threshold
        self._flowing: bool | None = None
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._path = QPainterPath(self._points[0])
        for point in self._points[1:]:
            self._path.lineTo(point)
        self.setZValue(-1)  # equipment sits on top of the pipes that join it

    @property
    def flowing(self) -> bool | None:
        """True flowing, False idle, None unknown."""
        return self._flowing

    @property
    def points(self) -> list[tuple[float, float]]:
        """The polyline, in item coordinates."""
        return [(p.x(), p.y()) for p in self._points]

    def set_flowing(self, flowing: bool | None) -> None:
        """Show flow (True), no flow (False) or unknown (None: no data or bad data)."""
        if flowing is not self._flowing:
            self._flowing = flowing
            self.update()

    def set_sample(self, sample: Sample | None) -> None:
        """Map a sample of the flow tag: a good truthy or positive value means flowing.

        Anything but good quality means unknown: a pipe never claims flow from stale data.
        """
        if sample is None or not sample.is_good:
            self.set_flowing(None)
            return
        value = sample.value
        if isinstance(value, numbers.Real):
            self.set_flowing(float(value) > self._flow_threshold)
        else:
            self.set_flowing(bool(value))
        self.setToolTip("" if self._flowing is not None else palette.quality_tooltip(sample))

    def boundingRect(self) -> QRectF:
        """The polyline widened by the pipe's width."""
        margin = self._width / 2 + 2
        return self._path.boundingRect().adjusted(-margin, -margin, margin, margin)

    def shape(self) -> QPainterPath:
        """The stroked outline of the pipe."""
        stroker = QPainterPathStroker()
        stroker.setWidth(self._width)
        return stroker.createStroke(self._path)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the pipe wall, then the bore: liquid, background or nothing (unknown)."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        wall = QPen(palette.PIPE_EDGE, self._width)
        wall.setCapStyle(Qt.PenCapStyle.FlatCap)
        wall.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        bore_width = max(self._width - 3.0, 1.0)
        bore = QPen(palette.EQUIPMENT_FILL_OFF, bore_width)
        bore.setCapStyle(Qt.PenCapStyle.FlatCap)
        bore.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        if self._flowing is None:
            wall.setColor(palette.TEXT_DIM)
            wall.setStyle(Qt.PenStyle.DashLine)
            wall.setDashPattern([2.0, 1.0])  # in pipe widths: short dashes read as 'broken' data
            painter.setPen(wall)
            painter.drawPath(self._path)
            bore.setColor(palette.BACKGROUND)
            painter.setPen(bore)
            painter.drawPath(self._path)
            return
        painter.setPen(wall)
        painter.drawPath(self._path)
        bore.setColor(palette.PIPE_LIQUID if self._flowing else palette.EQUIPMENT_FILL_OFF)
        painter.setPen(bore)
        painter.drawPath(self._path)
