"""The drag-and-drop format of a tag: screens start such drags, trends accept them (``TagDropFilter``)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

TAG_MIME_TYPE = "application/x-converge-tag"
"""MIME type whose payload is one tag name in UTF-8."""


def tag_mime_data(tag: str) -> QMimeData:
    """Mime data carrying ``tag`` (also as plain text, so it can be dropped into a text field)."""
    mime = QMimeData()
    mime.setData(TAG_MIME_TYPE, tag.encode("utf-8"))
    mime.setText(tag)
    return mime


def tag_from_mime(mime: QMimeData | None) -> str | None:
    """The tag name a drag carries, or None when it carries none."""
    if mime is None or not mime.hasFormat(TAG_MIME_TYPE):
        return None
    name = bytes(mime.data(TAG_MIME_TYPE).data()).decode("utf-8", errors="replace").strip()
    return name or None


class TagDropFilter(QObject):
    """Makes the widget it is installed on accept dropped tags, and says which tag was dropped."""

    sig_tag_dropped = Signal(str)
    """(tag name): a tag was dropped on the widget."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Accept tag drags on enter and move; on drop, emit the tag."""
        if not isinstance(event, QDragEnterEvent | QDragMoveEvent | QDropEvent):
            return False
        tag = tag_from_mime(event.mimeData())
        if tag is None:
            return False
        event.acceptProposedAction()
        if event.type() == QEvent.Type.Drop:
            self.sig_tag_dropped.emit(tag)
        return True
