"""Screen items to widgets: each registered type's factory, resolved on first use, builds its symbol.

The declarations live in ``hmi.model.symbol_catalog`` (Qt-free, shared with the
headless validator); this module turns a declaration's factory name into the
function and calls it with a :class:`SymbolContext`: the typed props, the box,
the bound tags' definitions and the :class:`ScreenHooks` through which the
symbol reports clicks, write requests and navigation. A screen needs no code
per item type.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtWidgets import QGraphicsItem

from hmi.model import Sample, TagDef
from hmi.model.symbol_catalog import SYMBOLS
from hmi.model.symbols import (
    DisplayFormat,
    Geometry,
    SymbolFactory,
    SymbolProps,
    SymbolRegistry,
    SymbolType,
    display_format,
)

Feed = Callable[[Sample], None]


class ScreenHooks(Protocol):
    """What a symbol may ask of the screen it sits on."""

    def bind(self, tag: str | None, feed: Feed) -> None:
        """Feed every new sample of ``tag`` to ``feed`` (no-op for ``None``)."""

    def symbol_clicked(self, tag: str) -> None:
        """The operator clicked an equipment symbol bound to ``tag`` (its faceplate opens)."""

    def request_write(self, tag: str, value: Any, requester: Any) -> None:
        """The operator asked to write ``value`` to ``tag``; ``requester`` (if any) gets the result."""

    def write_validator(self, tag: str) -> Callable[[str], tuple[Any, str]]:
        """The runtime's own check of an operator's text for ``tag``: (value, "") or (None, why not)."""

    def navigate(self, screen: str) -> None:
        """The operator asked for screen ``screen``."""

    def open_trend(self, trend: str) -> None:
        """The operator asked for saved trend ``trend``."""


@dataclass(frozen=True, slots=True)
class SymbolContext:
    """What a factory gets: the item (typed props, box, tag), the project's tags and the screen's hooks."""

    symbol: SymbolType
    item_id: str
    x: float
    y: float
    w: float
    h: float
    tag: str | None
    props: SymbolProps
    tags: Mapping[str, TagDef]
    hooks: ScreenHooks

    @property
    def tag_def(self) -> TagDef | None:
        """The definition of the item's tag, when it has one the project knows."""
        return self.tags.get(self.tag) if self.tag else None

    def display(self) -> DisplayFormat:
        """Units and decimals for the item's value: the props' where written, else the tag's."""
        return display_format(
            self.tag_def, getattr(self.props, "units", None), getattr(self.props, "decimals", None)
        )


class UnknownSymbolError(LookupError):
    """A screen item of a type no one registered (a validated screen never has one)."""


_resolved: dict[str, SymbolFactory] = {}


def factory_of(symbol: SymbolType) -> SymbolFactory:
    """The callable that builds ``symbol``'s widget, imported on first use."""
    if callable(symbol.factory):
        return symbol.factory
    found = _resolved.get(symbol.factory)
    if found is None:
        module, _, name = symbol.factory.partition(":")
        found = getattr(importlib.import_module(module), name)
        _resolved[symbol.factory] = found
    return found


def build_item(context: SymbolContext) -> QGraphicsItem:
    """Build the item's graphics, placed at its box (a line item is drawn in scene coordinates as given)."""
    graphics: QGraphicsItem = factory_of(context.symbol)(context)
    if context.symbol.geometry is Geometry.BOX:
        graphics.setPos(context.x, context.y)
    return graphics


def symbol_type(name: str, registry: SymbolRegistry = SYMBOLS) -> SymbolType:
    """The declaration of type ``name``."""
    symbol = registry.get(name)
    if symbol is None:
        raise UnknownSymbolError(f"no screen item type {name!r} is registered")
    return symbol
