"""What an operator reads: integers without decimals, refusals in full, alarm colours at WCAG contrast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from hmi.alarms.engine import PRIORITY_RANK, AlarmState, AlarmStatus
from hmi.model import Quality, Reason, Sample
from hmi.project.config import AlarmDef, TrendDef
from hmi.project.loader import load_project
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext
from hmi.ui.screen_view import ScreenView
from hmi.ui.trend_panel import TrendPanel
from widgets import palette
from widgets.setpoint_entry import SetpointEntry
from widgets.trend_buffer import Reading

pytestmark = pytest.mark.gui

INTEGER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64")

PROJECT = """\
name: Display
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: 5020}}
tags:
{tags}
"""


def integer_project(root: Path, width: int = 245):
    tags = "\n".join(
        f'  SP_{kind.upper()}: {{connection: plc1, address: "hr:{4 * n}", type: {kind}, writable: true,'
        f" limits: [0, 1500], units: rpm}}"
        for n, kind in enumerate(INTEGER_TYPES)
    )
    (root / "project.yaml").write_text(PROJECT.format(tags=tags), "utf-8")
    (root / "screens").mkdir()
    items = "\n".join(
        f"  - {{type: setpoint, id: sp{n}, x: 10, y: {10 + 50 * n}, w: {width}, h: 36,"
        f" tag: SP_{kind.upper()}}}"
        for n, kind in enumerate(INTEGER_TYPES)
    )
    (root / "screens" / "main.yaml").write_text(f"size: [600, 400]\nitems:\n{items}\n", "utf-8")
    return load_project(root)


def good(value) -> Sample:
    return Sample(value, Quality.GOOD, time.time(), Reason.NONE)


@pytest.mark.parametrize("value", [0, 1200, 1500, 7])
def test_integer_setpoints_show_no_decimals(qtbot, tmp_path, value):
    project = integer_project(tmp_path)
    view = ScreenView(project.screens["main"], project)
    qtbot.addWidget(view)
    for n, kind in enumerate(INTEGER_TYPES):
        entry = view.items_by_id[f"sp{n}"]
        assert isinstance(entry, SetpointEntry)
        view.apply_values({f"SP_{kind.upper()}": good(value)})
        assert entry.panel.display_text() == f"{value} rpm", kind
        # and a float reading of an integer tag (a trend, a scaled read) is written the same way
        view.apply_values({f"SP_{kind.upper()}": good(float(value))})
        assert entry.panel.display_text() == f"{value} rpm", kind


def test_integer_tags_read_without_decimals_in_the_pen_table_and_the_alarm_list(qtbot, tmp_path):
    project = integer_project(tmp_path)
    relay = FutureRelay()
    panel = TrendPanel(TrendDef("t", "T", ("SP_UINT16",), 600.0), project, relay)
    qtbot.addWidget(panel)
    try:
        now = time.time()
        panel.pen_table.set_readings(now, {"SP_UINT16": Reading(now, 1200.0, Quality.GOOD)})
        assert panel.pen_table.reading_text("SP_UINT16") == ("1200", "good")
    finally:
        panel.close_panel()
        relay.close()

    alarms = AlarmPanel()
    qtbot.addWidget(alarms)
    commands = Commands(write=lambda *_args: None, acknowledge=lambda _alarm: None)
    relay = FutureRelay()
    context = PanelContext(project, RuntimeBridge(), commands, relay, lambda: None, lambda _text: None)
    alarms.attach(context)
    status = AlarmStatus(AlarmDef("SP.HI", "SP_UINT16", "hi", 1000), AlarmState.UNACKED, 1200, "high")
    alarms.set_alarms([status])
    assert alarms.table.item(0, 5).text() == "1200"
    alarms.detach()
    context.close()
    relay.close()


REFUSED = ["1200.5", "abc", "99999999999999999999999", "-3", "1e400", "12,5,6"]


@pytest.mark.parametrize("typed", REFUSED)
@pytest.mark.parametrize("width", [160, 245])
def test_a_refusal_is_read_in_full(qtbot, tmp_path, typed, width):
    project = integer_project(tmp_path, width)
    view = ScreenView(project.screens["main"], project)
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    entry = view.items_by_id["sp1"]
    assert isinstance(entry, SetpointEntry)
    panel = entry.panel
    qtbot.keyClicks(panel.entry, typed)
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert panel.message_kind == "error"
    label = panel._message
    text = panel.message_text
    assert len(text) > 10
    assert label.toolTip() == text
    # every line of the wrapped text fits inside the label, and the label inside the panel
    assert label.wordWrap()
    assert label.heightForWidth(label.width()) <= label.height()
    assert label.geometry().bottom() <= panel.height()
    assert entry.size().height() >= panel.height()


def _rendered_background(widget) -> QColor:
    image = widget.grab().toImage()
    return image.pixelColor(2, 2)


@pytest.mark.parametrize("priority", sorted(PRIORITY_RANK))
def test_every_priority_pair_reaches_wcag_aa(qtbot, priority):
    look = palette.priority_look(priority)
    assert palette.contrast_ratio(look.background, look.text) >= palette.MIN_CONTRAST

    strip = AlarmStrip()
    qtbot.addWidget(strip)
    strip.resize(600, 34)
    definition = AlarmDef("A", "T", "hi", 1.0, priority=priority, message="Tank 1 level high")
    strip.set_alarms([AlarmStatus(definition, AlarmState.UNACKED, 2.0, "Tank 1 level high", time.time())])
    assert strip.look == look
    shown = _rendered_background(strip)
    text = strip.text.palette().color(strip.text.foregroundRole())
    assert palette.contrast_ratio(shown, text) >= palette.MIN_CONTRAST, (shown.name(), text.name())

    panel = AlarmPanel()
    qtbot.addWidget(panel)
    panel.set_alarms([AlarmStatus(definition, AlarmState.UNACKED, 2.0, "x", time.time())])
    cell = panel.table.item(0, 1)
    ratio = palette.contrast_ratio(cell.background().color(), cell.foreground().color())
    assert ratio >= palette.MIN_CONTRAST


@pytest.mark.parametrize(
    "look", [palette.NO_ALARM, palette.ALARM_INACTIVE, palette.ALARM_UNKNOWN_PRIORITY], ids=str
)
def test_the_quiet_banner_colours_reach_wcag_aa(look):
    assert palette.contrast_ratio(look.background, look.text) >= palette.MIN_CONTRAST


def test_the_contrast_ratio_is_wcags():
    assert palette.contrast_ratio(QColor("#000000"), QColor("#FFFFFF")) == pytest.approx(21.0)
    assert palette.contrast_ratio(QColor("#777777"), QColor("#FFFFFF")) == pytest.approx(4.48, abs=0.01)
    assert palette.contrast_ratio(QColor("#D4A017"), QColor("#FFFFFF")) < 3  # the reported mustard
