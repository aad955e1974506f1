"""The symbol registry: one declaration per item type drives validation, widget creation and units."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from project_files import write_project

from hmi.model import DataType, Sample, TagDef
from hmi.model.symbol_catalog import SYMBOLS
from hmi.model.symbols import NUMBER, Geometry, PropBinding, SymbolProps, SymbolType, display_format
from hmi.project.loader import check_project, load_project

if TYPE_CHECKING:
    from PySide6.QtWidgets import QGraphicsItem

    from widgets.registry import SymbolContext

PROJECT = """\
name: Symbols
connections:
  plc1: {driver: modbus, host: 127.0.0.1}
tags:
  LEVEL_M: {connection: plc1, address: "hr:0", type: float32, units: m}
  SPEED: {connection: plc1, address: "hr:2", type: uint16, units: rpm}
  SPEED_SP: {connection: plc1, address: "hr:3", type: uint16, writable: true, units: rpm, limits: [0, 1500]}
  TEMP: {connection: plc1, address: "hr:4", type: float64, units: "°C", decimals: 1}
  RUN: {connection: plc1, address: "co:0", type: bool}
"""


def tag(name: str, data_type: DataType, units: str = "", decimals: int = 2) -> TagDef:
    return TagDef(name, "plc1", "hr:0", type=data_type, units=units, decimals=decimals)


# --- units and decimals -------------------------------------------------------------------------------


def test_units_and_decimals_come_from_the_tag_unless_the_props_say_otherwise() -> None:
    level = tag("L", DataType.FLOAT32, "m")
    assert display_format(level) == (fmt := display_format(level, None, None))
    assert (fmt.units, fmt.decimals) == ("m", 2)
    assert display_format(tag("T", DataType.FLOAT64, "°C", decimals=1)).decimals == 1
    speed = display_format(tag("S", DataType.UINT16, "rpm"))
    assert (speed.units, speed.decimals) == ("rpm", 0)  # a raw integer has no fraction to show
    override = display_format(level, "mm", 0)
    assert (override.units, override.decimals) == ("mm", 0)
    assert display_format(tag("S", DataType.INT32), decimals=1).decimals == 1
    assert (display_format(None).units, display_format(None).decimals) == ("", 2)


# --- declarations --------------------------------------------------------------------------------------


def test_the_built_in_types_declare_their_bindings_and_designer_data() -> None:
    assert SYMBOLS.names() == ["label", "tank", "pump", "valve", "pipe", "value", "setpoint", "button"]
    assert SYMBOLS["pipe"].binding_keys == ("props.flow_tag",)
    assert SYMBOLS["pipe"].geometry is Geometry.POINTS
    assert SYMBOLS["button"].binding_keys == ("props.write.tag",)
    assert SYMBOLS["tank"].binding_keys == ("tag",)
    assert SYMBOLS["label"].props_required and not SYMBOLS["tank"].props_required
    assert not SYMBOLS["setpoint"].trend_source and SYMBOLS["value"].trend_source
    for symbol in SYMBOLS:
        assert symbol.title and symbol.category and all(size > 0 for size in symbol.default_size)


def test_a_type_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="'tank' is already registered"):
        SYMBOLS.register(SymbolType("tank", SymbolProps, "nowhere:nothing"))
    assert SYMBOLS["tank"].title == "Tank"


@pytest.mark.gui
def test_every_built_in_factory_resolves() -> None:
    from widgets.registry import factory_of

    assert all(callable(factory_of(symbol)) for symbol in SYMBOLS)


# --- a new type is one registration ----------------------------------------------------------------------


class GaugeProps(SymbolProps):
    """A dial with a caption and an optional tag for its pointer's colour."""

    caption: str
    alarm_tag: str | None = None


def make_gauge(context: SymbolContext) -> QGraphicsItem:
    """A factory as a plugin would write one: typed props and the tag's units in, a bound widget out."""
    from widgets.value_display import ValueDisplay

    shown = context.display()
    props = context.props
    assert isinstance(props, GaugeProps)
    gauge = ValueDisplay(context.w, context.h, props.caption, shown.units, shown.decimals)
    context.hooks.bind(context.tag, gauge.set_sample)
    return gauge


GAUGE = SymbolType(
    "gauge",
    GaugeProps,
    make_gauge,
    tag=NUMBER,
    prop_bindings=(PropBinding(("alarm_tag",), NUMBER),),
    title="Gauge",
    category="Readouts",
    default_size=(120, 120),
)

GAUGE_SCREEN = """\
size: [400, 300]
items:
  - {type: gauge, id: g, x: 10, y: 20, w: 200, h: 44, tag: LEVEL_M, props: {caption: Level}}
"""


def test_an_unregistered_type_is_an_error(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT, {"main": GAUGE_SCREEN})
    [error] = check_project(tmp_path)
    assert error.line == 3 and "type 'gauge' is not one of label, tank" in error.message


def test_a_registered_type_is_validated_by_its_declaration(tmp_path: Path) -> None:
    screen = GAUGE_SCREEN + (
        "  - {type: gauge, id: bad, x: 0, y: 0, w: 10, h: 10, tag: RUN, props: {caption: x, colour: red}}\n"
        "  - {type: gauge, id: alarm, x: 0, y: 0, w: 9, h: 9, tag: LEVEL_M,\n"
        "     props: {caption: x, alarm_tag: RUNN}}\n"
    )
    write_project(tmp_path, PROJECT, {"main": screen})
    with SYMBOLS.registered(GAUGE):
        errors = [f"{error.line}: {error.message}" for error in check_project(tmp_path)]
    assert errors == [
        "4: item 'bad': props: unknown key 'colour'",
        "6: unknown tag 'RUNN' in binding 'props.alarm_tag' of item 'alarm' (did you mean 'RUN'?)",
    ]


@pytest.mark.gui
def test_a_registered_type_loads_and_is_built_with_no_other_edit(qtbot, tmp_path: Path) -> None:
    from hmi.ui.screen_view import ScreenView

    write_project(tmp_path, PROJECT, {"main": GAUGE_SCREEN})
    with SYMBOLS.registered(GAUGE):
        project = load_project(tmp_path)
        item = project.screens["main"].items[0]
        assert isinstance(item.props, GaugeProps) and item.props.caption == "Level"
        view = ScreenView(project.screens["main"], project)
    qtbot.addWidget(view)
    gauge = view.items_by_id["g"]
    assert (gauge.pos().x(), gauge.pos().y()) == (10, 20)
    assert view.bound_tags == {"LEVEL_M"}
    view.apply_values({"LEVEL_M": Sample.good(3.2)})
    assert gauge.display_text() == "3.20 m"


# --- units on a screen --------------------------------------------------------------------------------------

UNITS_SCREEN = """\
size: [800, 600]
items:
  - {type: tank, id: tank, x: 10, y: 10, w: 200, h: 400, tag: LEVEL_M, props: {label: T-1, max: 5}}
  - {type: tank, id: tank_mm, x: 10, y: 10, w: 200, h: 400, tag: LEVEL_M, props: {units: mm, decimals: 0}}
  - {type: value, id: speed, x: 300, y: 10, w: 230, h: 44, tag: SPEED}
  - {type: value, id: temp, x: 300, y: 60, w: 230, h: 44, tag: TEMP, props: {label: Temperature}}
  - {type: value, id: temp3, x: 300, y: 110, w: 230, h: 44, tag: TEMP, props: {decimals: 3}}
  - {type: setpoint, id: speed_sp, x: 300, y: 160, w: 300, h: 44, tag: SPEED_SP}
"""


@pytest.mark.gui
def test_units_and_decimals_flow_from_the_tag_to_the_widgets(qtbot, tmp_path: Path) -> None:
    from hmi.ui.screen_view import ScreenView

    write_project(tmp_path, PROJECT, {"main": UNITS_SCREEN})
    project = load_project(tmp_path)
    view = ScreenView(project.screens["main"], project)
    qtbot.addWidget(view)
    view.apply_values(
        {
            "LEVEL_M": Sample.good(3.2),
            "SPEED": Sample.good(1200),
            "TEMP": Sample.good(21.456),
            "SPEED_SP": Sample.good(900),
        }
    )
    items = view.items_by_id
    assert items["tank"].display_text() == "3.20 m"
    assert items["tank_mm"].display_text() == "3 mm"  # the props' units and decimals win
    assert items["speed"].display_text() == "1200 rpm"
    assert items["temp"].display_text() == "21.5 °C"
    assert items["temp3"].display_text() == "21.456 °C"
    assert items["speed_sp"].panel.display_text() == "900 rpm"
    assert items["speed"].toolTip().startswith("SPEED")  # a readout with no label is captioned by its tag
