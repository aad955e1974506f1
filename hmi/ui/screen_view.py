"""A mimic screen: the items of a screen file placed in a QGraphicsScene and bound to tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QResizeEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QWidget

from hmi.core.commands import CommandResult, new_request_id
from hmi.model import Sample
from hmi.project.config import Project, ScreenDef, ScreenItem
from hmi.ui.trend_drag import TagDragSource
from hmi.ui.write_feedback import limits_hint, setpoint_validator
from widgets.button_item import ButtonItem
from widgets.label_item import LabelItem
from widgets.palette import SCREEN_BACKGROUND
from widgets.pipe import PipeItem
from widgets.pump import PumpSymbol
from widgets.setpoint_entry import SetpointEntry
from widgets.tank import TankSymbol
from widgets.value_display import ValueDisplay
from widgets.valve import ValveSymbol

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
        self.setScene(QGraphicsScene(QRectF(0, 0, screen.width, screen.height), self))
        self.setBackgroundBrush(SCREEN_BACKGROUND)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._bindings: dict[str, list[Binder]] = {}
        self._awaiting: dict[str, SetpointEntry] = {}  # request id -> the entry waiting for its result
        self.items_by_id: dict[str, QGraphicsItem] = {}
        for item in screen.items:
            graphics = self._build(item)
            if graphics is not None:
                self.items_by_id[item.id] = graphics
                self.scene().addItem(graphics)
        self.tag_drag = TagDragSource(self, self._draggable_tags())

    def _draggable_tags(self) -> dict[int, str]:
        """Bound items an operator can drag onto a trend (setpoint entries are for typing into)."""
        items = self.screen_def.items
        return {
            id(self.items_by_id[item.id]): item.tag
            for item in items
            if item.tag and item.type != "setpoint" and item.id in self.items_by_id
        }

    @property
    def bound_tags(self) -> set[str]:
        """Every tag this screen shows."""
        return set(self._bindings)

    def apply_values(self, values: dict[str, Sample]) -> None:
        """Feed the changed samples of one frame to the symbols bound to them."""
        for tag, sample in values.items():
            for binder in self._bindings.get(tag, ()):
                binder(sample)

    def submit_write(self, tag: str, value: Any, entry: SetpointEntry | None = None) -> str:
        """Ask for a write (``entry``, if given, is told the outcome); returns the request id."""
        request_id = new_request_id()
        if entry is not None:
            self._awaiting[request_id] = entry
        self.sig_write_requested.emit(request_id, tag, value)
        return request_id

    def show_write_result(self, result: CommandResult) -> bool:
        """Tell the entry that asked for ``result``; False when the request was not this screen's."""
        entry = self._awaiting.pop(result.request_id, None)
        if entry is None:
            return False
        entry.set_write_result(result.ok, "written" if result.ok else result.error)
        return True

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the whole screen visible at any window size."""
        super().resizeEvent(event)
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    # -- building ------------------------------------------------------------------
    def _bind(self, tag: str | None, binder: Binder) -> None:
        if tag:
            self._bindings.setdefault(tag, []).append(binder)

    def _build(self, item: ScreenItem) -> QGraphicsItem | None:
        builder = getattr(self, f"_build_{item.type}", None)
        if builder is None:
            return None
        graphics: QGraphicsItem = builder(item)
        if item.type != "pipe":
            graphics.setPos(item.x, item.y)
        return graphics

    def _tag_units(self, tag: str | None) -> tuple[str, int]:
        definition = self.project.tags.get(tag or "")
        return (definition.units, definition.decimals) if definition else ("", 2)

    def _build_label(self, item: ScreenItem) -> QGraphicsItem:
        return LabelItem(str(item.props.get("text", "")), float(item.props.get("size", 12)))

    def _build_tank(self, item: ScreenItem) -> QGraphicsItem:
        p = item.props
        tank = TankSymbol(
            item.w,
            item.h,
            label=str(p.get("label", "")),
            minimum=float(p.get("min", 0.0)),
            maximum=float(p.get("max", 100.0)),
            hi=p.get("hi"),
            lo=p.get("lo"),
        )
        self._bind(item.tag, tank.set_sample)
        return tank

    def _build_pump(self, item: ScreenItem) -> QGraphicsItem:
        pump = PumpSymbol(item.w, item.h, label=str(item.props.get("label", "")))
        self._bind(item.tag, pump.set_sample)
        tag = item.tag or ""
        pump.sig_clicked.connect(lambda: self.sig_symbol_clicked.emit(tag))
        return pump

    def _build_valve(self, item: ScreenItem) -> QGraphicsItem:
        valve = ValveSymbol(item.w, item.h, label=str(item.props.get("label", "")))
        self._bind(item.tag, valve.set_sample)
        tag = item.tag or ""
        valve.sig_clicked.connect(lambda: self.sig_symbol_clicked.emit(tag))
        return valve

    def _build_pipe(self, item: ScreenItem) -> QGraphicsItem:
        points = [(float(x), float(y)) for x, y in item.props.get("points", [])]
        pipe = PipeItem(points)
        self._bind(item.props.get("flow_tag"), pipe.set_sample)
        return pipe

    def _build_value(self, item: ScreenItem) -> QGraphicsItem:
        units, decimals = self._tag_units(item.tag)
        display = ValueDisplay(
            item.w,
            item.h,
            str(item.props.get("label", item.tag or "")),
            units,
            int(item.props.get("decimals", decimals)),
        )
        self._bind(item.tag, display.set_sample)
        return display

    def _build_setpoint(self, item: ScreenItem) -> QGraphicsItem:
        tag = item.tag or ""
        units, decimals = self._tag_units(tag)
        minimum, maximum = limits_hint(self.project.tags.get(tag))
        entry = SetpointEntry(
            item.w,
            item.h,
            str(item.props.get("label", tag)),
            units,
            int(item.props.get("decimals", decimals)),
            minimum=minimum,
            maximum=maximum,
            validate=setpoint_validator(self.project.tags, tag),  # the runtime's own check
        )
        self._bind(item.tag, entry.set_sample)
        entry.sig_write_requested.connect(lambda value: self.submit_write(tag, value, entry))
        return entry

    def _build_button(self, item: ScreenItem) -> QGraphicsItem:
        button = ButtonItem(item.w, item.h, str(item.props.get("label", "")))
        target = item.props.get("screen")
        write = item.props.get("write")
        if target:
            button.sig_clicked.connect(lambda: self.sig_navigate.emit(str(target)))
        elif isinstance(write, dict):
            button.sig_clicked.connect(lambda: self.submit_write(str(write["tag"]), write.get("value")))
        elif item.props.get("trend"):
            trend = str(item.props["trend"])
            button.sig_clicked.connect(lambda: self.sig_open_trend.emit(trend))
        return button
