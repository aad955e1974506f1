"""Dragging a tag off a mimic screen: press on a bound symbol or value, move, and drop it on a trend."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QDrag, QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsView

from widgets.trend_mime import tag_mime_data


class TagDragSource(QObject):
    """Starts a tag drag when a press on a bound item moves far enough (an event filter on the view).

    Clicks stay clicks: a drag starts only past the platform's drag distance,
    so a pump's faceplate still opens on a plain click.
    """

    def __init__(self, view: QGraphicsView, tags_by_item: Mapping[int, str]) -> None:
        super().__init__(view)
        self._view = view
        self._tags_by_item = dict(tags_by_item)  # id() of a top-level graphics item -> its tag
        self._press: QPoint | None = None
        self._tag: str | None = None
        self.drags_started = 0
        view.viewport().installEventFilter(self)

    def tag_at(self, pos: QPoint) -> str | None:
        """The tag bound to the item under ``pos`` (viewport coordinates), if any."""
        item: QGraphicsItem | None = self._view.itemAt(pos)
        while item is not None:
            tag = self._tags_by_item.get(id(item))
            if tag is not None:
                return tag
            item = item.parentItem()
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Track press, move and release; never swallow them, so the items still see their clicks."""
        if not isinstance(event, QMouseEvent):
            return False
        pos = event.position().toPoint()
        if event.type() == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._press, self._tag = pos, self.tag_at(pos)
        elif event.type() == QEvent.Type.MouseMove and self._tag is not None and self._press is not None:
            held = bool(event.buttons() & Qt.MouseButton.LeftButton)
            if held and (pos - self._press).manhattanLength() >= QApplication.startDragDistance():
                tag, self._press, self._tag = self._tag, None, None
                self.start_drag(tag)
                return True
        elif event.type() == QEvent.Type.MouseButtonRelease:
            self._press, self._tag = None, None
        return False

    def start_drag(self, tag: str) -> None:
        """Run the drag of ``tag`` (blocks in Qt's drag loop until dropped or cancelled)."""
        self.drags_started += 1
        drag = QDrag(self._view)
        drag.setMimeData(tag_mime_data(tag))
        drag.exec(Qt.DropAction.CopyAction)
