"""Factories of the built-in screen item types: typed props and bound tags in, a wired symbol out.

Each function is named by its type's declaration in ``hmi.model.symbol_catalog``
and called by :func:`widgets.registry.build_item`. Units and decimals come from
the bound tag unless the props override them.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtWidgets import QGraphicsItem

from hmi.model.symbol_props import ButtonProps, EquipmentProps, LabelProps, PipeProps, TankProps, ValueProps
from widgets.button_item import ButtonItem
from widgets.label_item import LabelItem
from widgets.pipe import PipeItem
from widgets.pump import PumpSymbol
from widgets.registry import SymbolContext
from widgets.setpoint_entry import SetpointEntry
from widgets.symbols import MimicSymbol
from widgets.tank import TankSymbol
from widgets.value_display import ValueDisplay
from widgets.valve import ValveSymbol

_DEFAULT_TEXT_SIZE = 12


def label(context: SymbolContext) -> QGraphicsItem:
    """Static text."""
    props = cast(LabelProps, context.props)
    return LabelItem(props.text, props.size if props.size is not None else _DEFAULT_TEXT_SIZE)


def tank(context: SymbolContext) -> QGraphicsItem:
    """A vessel showing its level in the tag's units."""
    props = cast(TankProps, context.props)
    shown = context.display()
    symbol = TankSymbol(
        context.w, context.h, props.label, props.min, props.max, props.hi, props.lo,
        units=shown.units, decimals=shown.decimals,
    )  # fmt: skip
    context.hooks.bind(context.tag, symbol.set_sample)
    return symbol


def _equipment(context: SymbolContext, symbol: MimicSymbol) -> MimicSymbol:
    tag = context.tag or ""
    context.hooks.bind(context.tag, symbol.set_sample)
    symbol.sig_clicked.connect(lambda: context.hooks.symbol_clicked(tag))
    return symbol


def pump(context: SymbolContext) -> QGraphicsItem:
    """A pump, running or stopped; a click opens its faceplate."""
    return _equipment(context, PumpSymbol(context.w, context.h, cast(EquipmentProps, context.props).label))


def valve(context: SymbolContext) -> QGraphicsItem:
    """A valve, open/closed or by position; a click opens its faceplate."""
    return _equipment(context, ValveSymbol(context.w, context.h, cast(EquipmentProps, context.props).label))


def pipe(context: SymbolContext) -> QGraphicsItem:
    """A pipe run along scene points, showing flow from its flow tag."""
    props = cast(PipeProps, context.props)
    item = PipeItem([(float(x), float(y)) for x, y in props.points])
    context.hooks.bind(props.flow_tag, item.set_sample)
    return item


def _caption(context: SymbolContext) -> str:
    written = cast(ValueProps, context.props).label
    return written if written is not None else (context.tag or "")


def value(context: SymbolContext) -> QGraphicsItem:
    """A readout of any tag, in its units and decimals."""
    shown = context.display()
    display = ValueDisplay(context.w, context.h, _caption(context), shown.units, shown.decimals)
    context.hooks.bind(context.tag, display.set_sample)
    return display


def setpoint(context: SymbolContext) -> QGraphicsItem:
    """An entry that asks to write its tag, within the tag's limits."""
    shown = context.display()
    definition = context.tag_def
    low, high = definition.limits if definition is not None and definition.limits else (None, None)
    tag = context.tag or ""
    entry = SetpointEntry(
        context.w,
        context.h,
        _caption(context),
        shown.units,
        shown.decimals,
        minimum=low,  # a hint only: acceptance is the runtime's own check
        maximum=high,
        validate=context.hooks.write_validator(tag),
    )
    context.hooks.bind(context.tag, entry.set_sample)
    entry.sig_write_requested.connect(lambda asked: context.hooks.request_write(tag, asked, entry))
    return entry


def button(context: SymbolContext) -> QGraphicsItem:
    """A button that navigates, writes a value or opens a saved trend."""
    props = cast(ButtonProps, context.props)
    item = ButtonItem(context.w, context.h, props.label)
    hooks = context.hooks
    if props.screen is not None:
        screen = props.screen
        item.sig_clicked.connect(lambda: hooks.navigate(screen))
    elif props.write is not None:
        write = props.write
        item.sig_clicked.connect(lambda: hooks.request_write(write.tag, write.value, None))
    elif props.trend is not None:
        trend = props.trend
        item.sig_clicked.connect(lambda: hooks.open_trend(trend))
    return item
