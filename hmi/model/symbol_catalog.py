"""The built-in screen item types, registered in :data:`SYMBOLS` (what screens are checked against)."""

from __future__ import annotations

from hmi.model.symbol_props import (
    ButtonProps,
    EquipmentProps,
    LabelProps,
    PipeProps,
    TankProps,
    ValueProps,
)
from hmi.model.symbols import (
    ANY_TAG,
    BOOL,
    NUMBER,
    NUMBER_OR_BOOL,
    WRITABLE,
    WRITABLE_NUMBER,
    Geometry,
    PropBinding,
    SymbolRegistry,
    SymbolType,
)

_FACTORIES = "widgets.symbol_factories"

SYMBOLS = SymbolRegistry(
    [
        SymbolType(
            "label", LabelProps, f"{_FACTORIES}:label", title="Text", category="Annotation",
            default_size=(200, 30),
        ),
        SymbolType(
            "tank", TankProps, f"{_FACTORIES}:tank", tag=NUMBER, title="Tank", category="Equipment",
            default_size=(200, 420),
        ),
        SymbolType(
            "pump", EquipmentProps, f"{_FACTORIES}:pump", tag=BOOL, title="Pump", category="Equipment",
            default_size=(90, 90),
        ),
        SymbolType(
            "valve", EquipmentProps, f"{_FACTORIES}:valve", tag=NUMBER_OR_BOOL, title="Valve",
            category="Equipment", default_size=(60, 60),
        ),
        SymbolType(
            "pipe", PipeProps, f"{_FACTORIES}:pipe", title="Pipe", category="Lines",
            prop_bindings=(PropBinding(("flow_tag",), NUMBER_OR_BOOL),), geometry=Geometry.POINTS,
            default_size=(120, 10),
        ),
        SymbolType(
            "value", ValueProps, f"{_FACTORIES}:value", tag=ANY_TAG, title="Value", category="Readouts",
            default_size=(230, 44),
        ),
        SymbolType(
            "setpoint", ValueProps, f"{_FACTORIES}:setpoint", tag=WRITABLE_NUMBER, title="Setpoint",
            category="Controls", default_size=(300, 44), trend_source=False,  # it is for typing into
        ),
        SymbolType(
            "button", ButtonProps, f"{_FACTORIES}:button", title="Button", category="Controls",
            prop_bindings=(PropBinding(("write", "tag"), WRITABLE),), default_size=(170, 40),
        ),
    ]
)  # fmt: skip
"""Every screen item type a screen file may use, in the order errors and designers list them."""
