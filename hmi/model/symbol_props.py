"""The typed ``props`` of the built-in screen item types, as the screen file writes them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictFloat, StrictInt, model_validator

from hmi.model.symbols import SymbolProps

Label = Annotated[str, Field(max_length=200)]
Decimals = Annotated[StrictInt | None, Field(ge=0, le=12)]
Units = Annotated[str | None, Field(max_length=40)]


class LabelProps(SymbolProps):
    """Static text; ``size`` is the font size in scene pixels."""

    text: str
    size: StrictFloat | None = Field(None, gt=0)


class TankProps(SymbolProps):
    """A vertical vessel filled in proportion to its tag between ``min`` and ``max``.

    The level is written with the tag's units and decimals unless ``units`` or ``decimals`` are given.
    """

    label: Label = ""
    min: StrictFloat = 0.0
    max: StrictFloat = 100.0
    hi: StrictFloat | None = None
    lo: StrictFloat | None = None
    units: Units = None
    decimals: Decimals = None

    @model_validator(mode="after")
    def _check_range(self) -> TankProps:
        if not self.min < self.max:
            raise ValueError(f"min {self.min:g} must be below max {self.max:g}")
        if self.lo is not None and self.hi is not None and not self.lo < self.hi:
            raise ValueError(f"lo {self.lo:g} must be below hi {self.hi:g}")
        return self


class EquipmentProps(SymbolProps):
    """A symbol with a caption (pump, valve)."""

    label: Label = ""


class PipeProps(SymbolProps):
    """A polyline, animated while ``flow_tag`` is true or non-zero."""

    points: list[tuple[StrictFloat, StrictFloat]] = Field(min_length=2)
    flow_tag: str | None = None


class ValueProps(SymbolProps):
    """A caption (the tag's name when left out) and a value; ``units`` and ``decimals`` override the tag's."""

    label: Label | None = None
    units: Units = None
    decimals: Decimals = None


class WriteAction(SymbolProps):
    """Write ``value`` to ``tag`` when pressed."""

    tag: str
    value: Any


class ButtonProps(SymbolProps):
    """A push button that navigates to ``screen``, performs ``write`` or opens saved trend ``trend``."""

    label: Label = ""
    screen: str | None = None
    write: WriteAction | None = None
    trend: str | None = None

    @model_validator(mode="after")
    def _check_one_action(self) -> ButtonProps:
        if [self.screen, self.write, self.trend].count(None) != 2:
            raise ValueError(
                "a button needs exactly one action: screen (to navigate), write (to set a tag)"
                " or trend (to open a saved trend)"
            )
        return self
