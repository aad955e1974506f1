"""A mimic screen: the items of a screen file placed in a QGraphicsScene and bound to tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFocusEvent, QHideEvent, QPainter, QPen, QResizeEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget

from hmi.core.commands import CommandResult, new_request_id
from hmi.model import ConfirmMode, Sample
from hmi.model.symbols import SymbolProps
from hmi.project.config import Project, ScreenDef, ScreenItem
from hmi.ui.trend_drag import TagDragSource
from hmi.ui.write_confirm import WriteConfirmDialog, ask_to_confirm
from hmi.ui.write_feedback import WriteValidator, setpoint_validator
from widgets.alarm_mark import MARK_SIZE, AlarmMark, MarkState
from widgets.palette import HOVER, SCREEN_BACKGROUND
from widgets.registry import SymbolContext, build_item, symbol_type

Binder = Callable[[Sample], None]


class ScreenView(QGraphicsView):
    """Shows one screen, scaled to fit, and routes tag values to its symbols."""

    sig_write_requested = Signal(str, str, object)
    """(request id, tag, value): an operator asked to write a value; answer with ``show_write_result``."""

    sig_navigate = Signal(str)
    """(screen name): an operator clicked a navigation button."""

    sig_symbol_clicked = Signal(str)
    """(tag): an operator clicked an equipment symbol (faceplates open from here)."""

    sig_open_trend = Signal(str)
    """(trend name): an operator clicked a button that opens a saved trend."""

    def __init__(self, screen: ScreenDef, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.screen_def = screen
        self.project = project
        self.tag_defs = project.every_tag()
        self.setScene(QGraphicsScene(QRectF(0, 0, screen.width, screen.height), self))
        self.setBackgroundBrush(SCREEN_BACKGROUND)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The view passes keys to the scene's focus item (a setpoint field): it is reached by a click only.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._bindings: dict[str, list[Binder]] = {}
        self._hooks = _ViewHooks(self, self._bindings)
        self._awaiting: dict[str, Any] = {}  # request id -> the entry waiting for its result
        self._latest: dict[str, Sample] = {}  # the old value a confirmation shows
        self.confirmation: WriteConfirmDialog | None = None
        """The confirmation or signature dialog open on this screen, if any."""
        self.signer: Callable[[], str] = lambda: ""
        """The name a signature dialog shows as the signer (the session's user, when the window says)."""
        self.items_by_id: dict[str, QGraphicsItem] = {}
        for item in screen.items:
            graphics = self._build(item)
            self.items_by_id[item.id] = graphics
            self.scene().addItem(graphics)
        self.tag_drag = TagDragSource(self, self._draggable_tags())
        self.alarm_marks: dict[str, list[AlarmMark]] = {}
        """Tag → the marks beside the items bound to it (only tags some alarm watches)."""
        self.selected_tag: str | None = None
        """The tag whose items an alarm's click-through selected."""
        self._selection: QGraphicsRectItem | None = None
        self._place_alarm_marks({alarm.tag for alarm in project.alarms.values()})

    def _draggable_tags(self) -> dict[int, str]:
        """Bound items an operator can drag onto a trend (those whose type says so: not setpoint entries)."""
        return {
            id(self.items_by_id[item.id]): item.tag
            for item in self.screen_def.items
            if item.tag and symbol_type(item.type).trend_source and item.id in self.items_by_id
        }

    @property
    def bound_tags(self) -> set[str]:
        """Every tag this screen shows."""
        return set(self._bindings)

    def apply_values(self, values: dict[str, Sample]) -> None:
        """Feed the changed samples of one frame to the symbols bound to them."""
        for tag, sample in values.items():
            binders = self._bindings.get(tag, ())
            if binders:
                self._latest[tag] = sample
            for binder in binders:
                binder(sample)

    def apply_alarm_marks(self, marks: dict[str, tuple[str, MarkState]]) -> None:
        """Show each tag's mark: (priority, state) of its most important alarm; a tag left out shows none."""
        for tag in marks.keys() - self.alarm_marks.keys():
            self._place_alarm_marks({tag})  # an alarm the project file does not list (a link alarm)
        for tag, tag_marks in self.alarm_marks.items():
            priority, state = marks.get(tag, ("", MarkState.NONE))
            for mark in tag_marks:
                mark.set_alarm(priority, state)

    def set_blink_phase(self, on: bool) -> None:
        """The shared blink clock ticked."""
        for tag_marks in self.alarm_marks.values():
            for mark in tag_marks:
                mark.set_blink_phase(on)

    def select_tag(self, tag: str) -> bool:
        """Frame the items bound to ``tag`` (an alarm's click-through); False when none is on this screen."""
        items = [
            self.items_by_id[i.id] for i in self.screen_def.items if i.tag == tag and i.id in self.items_by_id
        ]
        if self._selection is not None:
            self.scene().removeItem(self._selection)
            self._selection = None
        self.selected_tag = tag if items else None
        if not items:
            return False
        box = items[0].sceneBoundingRect()
        for item in items[1:]:
            box = box.united(item.sceneBoundingRect())
        self._selection = QGraphicsRectItem(box.adjusted(-4, -4, 4, 4))
        pen = QPen(HOVER, 3)
        pen.setStyle(Qt.PenStyle.DashLine)
        self._selection.setPen(pen)
        self._selection.setZValue(9)
        self.scene().addItem(self._selection)
        return True

    def _place_alarm_marks(self, alarmed_tags: set[str]) -> None:
        # beside the item's top right corner; an item at the screen's right edge gets it on its left
        width = self.sceneRect().width()
        for tag in alarmed_tags:
            self.alarm_marks.setdefault(tag, [])  # known, even with no item here: looked up once
        for item in self.screen_def.items:
            graphics = self.items_by_id.get(item.id)
            if not item.tag or item.tag not in alarmed_tags or graphics is None:
                continue
            box = graphics.sceneBoundingRect()
            mark = AlarmMark(item.tag)
            x = box.right() + 3 if box.right() + 3 + MARK_SIZE <= width else box.left() - 3 - MARK_SIZE
            mark.setPos(x, box.top())
            self.scene().addItem(mark)
            self.alarm_marks[item.tag].append(mark)

    def submit_write(self, tag: str, value: Any, entry: Any = None) -> str:
        """Ask for a write (``entry``, if given, is told the outcome); returns the request id.

        Only the id travels with the request: the entry that asked stays on this screen.
        A tag marked ``confirm:`` asks first (:mod:`hmi.ui.write_confirm`); Cancel writes nothing.
        """
        request_id = new_request_id()
        if entry is not None:
            self._awaiting[request_id] = entry
        definition = self.tag_defs.get(tag)
        if definition is None or definition.confirm is ConfirmMode.NONE:
            self.sig_write_requested.emit(request_id, tag, value)
            return request_id
        if self.confirmation is not None:  # one question at a time: a second click waits for none
            self.confirmation.reject()

        def write(payload: Any) -> None:
            self.confirmation = None
            self.sig_write_requested.emit(request_id, tag, payload)

        def cancel() -> None:
            self.confirmation = None
            waiting = self._awaiting.pop(request_id, None)
            if waiting is not None:
                waiting.set_write_result(False, "cancelled: nothing was written")

        old = self._latest.get(tag)
        self.confirmation = ask_to_confirm(self, definition, old, value, write, cancel, self.signer())
        return request_id

    def show_write_result(self, result: CommandResult) -> bool:
        """Tell the entry that asked for ``result``; False when the request was not this screen's."""
        entry = self._awaiting.pop(result.request_id, None)
        if entry is None:
            return False
        entry.set_write_result(result.ok, "written" if result.ok else result.error)
        return True

    def discard_pending(self) -> None:
        """Throw away every setpoint text typed on this screen and not applied (the screen is left)."""
        for item in self.items_by_id.values():
            discard = getattr(item, "discard_pending", None)
            if callable(discard):
                discard()

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Focus that comes back by itself (a hidden button, the window reactivated) reaches no item.

        The scene would give it to the item that had it last, typically a setpoint field with
        the operator's old text, and the next Enter, meant for something else, would apply it.
        """
        super().focusInEvent(event)
        if event.reason() is not Qt.FocusReason.MouseFocusReason:
            self.scene().setFocusItem(None)

    def hideEvent(self, event: QHideEvent) -> None:
        """A screen out of sight (another in front, the window closed) keeps nothing typed for later."""
        self.discard_pending()
        super().hideEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the whole screen visible at any window size."""
        super().resizeEvent(event)
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    # -- building ------------------------------------------------------------------
    def _build(self, item: ScreenItem) -> QGraphicsItem:
        # Every type is built the same way: its declaration names the factory that knows its props.
        props = cast(SymbolProps, item.props)
        box = (item.x, item.y, item.w, item.h)
        context = SymbolContext(
            symbol_type(item.type), item.id, *box, item.tag, props, self.tag_defs, self._hooks
        )
        return build_item(context)


class _ViewHooks:
    """The screen's side of :class:`widgets.registry.ScreenHooks`: symbols' requests become its signals."""

    def __init__(self, view: ScreenView, bindings: dict[str, list[Binder]]) -> None:
        self._view = view
        self._bindings = bindings

    def bind(self, tag: str | None, feed: Binder) -> None:
        """Route the samples of ``tag`` to ``feed``."""
        if tag:
            self._bindings.setdefault(tag, []).append(feed)

    def symbol_clicked(self, tag: str) -> None:
        """An equipment symbol was clicked."""
        self._view.sig_symbol_clicked.emit(tag)

    def request_write(self, tag: str, value: Any, requester: Any) -> None:
        """An entry or a button asked to write."""
        self._view.submit_write(tag, value, requester)

    def write_validator(self, tag: str) -> WriteValidator:
        """The runtime's own write check for ``tag``, for an entry's feedback."""
        return setpoint_validator(self._view.tag_defs, tag)

    def navigate(self, screen: str) -> None:
        """A button asked for another screen."""
        self._view.sig_navigate.emit(screen)

    def open_trend(self, trend: str) -> None:
        """A button asked for a saved trend."""
        self._view.sig_open_trend.emit(trend)
