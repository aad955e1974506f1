"""Screen item types, each declared once: props model, the tags it binds, widget factory, designer data.

A :class:`SymbolType` is all there is to know about one kind of screen item
apart from how it is drawn: ``hmi check`` validates screen files against it
headless, the widgets side builds the symbol through the factory it names, and
a designer reads its title, category, default size and bindings. Nothing here
imports Qt or the widgets: the factory is named as ``"module:function"`` and
resolved by ``widgets.registry`` on first use (a plugin or a test may give the
callable itself).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from hmi.model import DataType, TagDef


@dataclass(frozen=True, slots=True)
class TagRule:
    """Which tags a binding accepts, and how to say so in an error."""

    needs: str
    numeric: bool = False
    boolean: bool = False
    writable: bool = False

    def accepts(self, tag: TagDef) -> bool:
        """True when ``tag`` can be bound here."""
        if self.writable and not tag.writable:
            return False
        if self.numeric or self.boolean:
            return (self.numeric and tag.type.is_numeric) or (self.boolean and tag.type is DataType.BOOL)
        return True


ANY_TAG = TagRule("any tag")
NUMBER = TagRule("a numeric tag", numeric=True)
BOOL = TagRule("a bool tag", boolean=True)
NUMBER_OR_BOOL = TagRule("a numeric or bool tag", numeric=True, boolean=True)
WRITABLE_NUMBER = TagRule("a writable numeric tag", numeric=True, writable=True)
WRITABLE = TagRule("a writable tag", writable=True)


class SymbolProps(BaseModel):
    """Base of every item type's ``props``: unknown keys are errors; a number is accepted as text."""

    # Numbers become text so that an unquoted label (101) reads as written.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


Loc = tuple[str | int, ...]
Binding = tuple[Loc, str, TagRule]
"""Where a tag name sits within an item (path relative to the item), the tag name, and what it must be."""


@dataclass(frozen=True, slots=True)
class PropBinding:
    """A tag named inside the props (a pipe's ``flow_tag``, a button's ``write.tag``)."""

    path: tuple[str, ...]
    rule: TagRule

    @property
    def key(self) -> str:
        """The binding as an engineer writes it in an error or a designer: ``props.flow_tag``."""
        return ".".join(("props", *self.path))

    def tag_of(self, props: SymbolProps) -> str | None:
        """The tag name at this binding, or ``None`` when the props leave it out."""
        node: Any = props
        for name in self.path:
            node = getattr(node, name, None)
            if node is None:
                return None
        return str(node)


class Geometry(enum.StrEnum):
    """How an item is placed on its screen."""

    BOX = "box"  # at (x, y), drawn inside (w, h)
    POINTS = "points"  # along scene points given in its props (x, y, w, h only bound it)


SymbolFactory = Callable[..., Any]
"""Builds the item's graphics from a ``widgets.registry.SymbolContext`` (typed props, bound tags, hooks)."""


@dataclass(frozen=True, slots=True)
class SymbolType:
    """One kind of screen item, declared once for validation, widget creation and the designer."""

    name: str
    props: type[SymbolProps]
    factory: str | SymbolFactory
    tag: TagRule | None = None
    prop_bindings: tuple[PropBinding, ...] = ()
    title: str = ""
    category: str = "General"
    default_size: tuple[float, float] = (100.0, 40.0)
    geometry: Geometry = Geometry.BOX
    trend_source: bool = True  # an operator may drag its tag onto a trend

    @property
    def props_required(self) -> bool:
        """True when ``props`` must be written (some key of it has no default)."""
        return any(field.is_required() for field in self.props.model_fields.values())

    @property
    def binding_keys(self) -> tuple[str, ...]:
        """Every key of an item of this type that names a tag: ``tag``, ``props.flow_tag``..."""
        return (("tag",) if self.tag is not None else ()) + tuple(b.key for b in self.prop_bindings)

    def bindings(self, tag: str | None, props: SymbolProps) -> list[Binding]:
        """The tag names an item of this type refers to, each with where it sits and what it must be."""
        found: list[Binding] = [(("tag",), tag, self.tag)] if tag is not None and self.tag is not None else []
        for binding in self.prop_bindings:
            name = binding.tag_of(props)
            if name is not None:
                found.append((("props", *binding.path), name, binding.rule))
        return found


class SymbolRegistry:
    """The item types a screen may use, in registration order (the order errors and designers list them)."""

    def __init__(self, types: Iterable[SymbolType] = ()) -> None:
        self._types: dict[str, SymbolType] = {}
        for symbol in types:
            self.register(symbol)

    def register(self, symbol: SymbolType) -> SymbolType:
        """Add ``symbol``; a second type of the same name is refused."""
        if symbol.name in self._types:
            raise ValueError(f"screen item type {symbol.name!r} is already registered")
        self._types[symbol.name] = symbol
        return symbol

    def unregister(self, name: str) -> None:
        """Remove type ``name`` (unknown names are ignored)."""
        self._types.pop(name, None)

    @contextlib.contextmanager
    def registered(self, symbol: SymbolType) -> Iterator[SymbolType]:
        """``symbol`` registered for the duration of a ``with`` block."""
        self.register(symbol)
        try:
            yield symbol
        finally:
            self.unregister(symbol.name)

    def get(self, name: str) -> SymbolType | None:
        """The type called ``name``, or ``None``."""
        return self._types.get(name)

    def __getitem__(self, name: str) -> SymbolType:
        """The type called ``name``; ``KeyError`` when there is none."""
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        """True when a type of that name is registered."""
        return name in self._types

    def __iter__(self) -> Iterator[SymbolType]:
        """The types in registration order."""
        return iter(tuple(self._types.values()))

    def names(self) -> list[str]:
        """The type names in registration order."""
        return list(self._types)


@dataclass(frozen=True, slots=True)
class DisplayFormat:
    """How a value is written on a screen: its units and the number of decimals."""

    units: str
    decimals: int


def display_format(
    tag: TagDef | None, units: str | None = None, decimals: int | None = None
) -> DisplayFormat:
    """The props' units and decimals where given, else the tag's; integer tags show no decimals.

    A raw integer has no fraction to show, so "1200" beats "1200.00" whatever
    the tag's default decimals; an item may still ask for decimals explicitly.
    """
    shown_units = units if units is not None else (tag.units if tag is not None else "")
    if decimals is None:
        decimals = 2 if tag is None else (0 if tag.type.is_integer else tag.decimals)
    return DisplayFormat(shown_units, decimals)
