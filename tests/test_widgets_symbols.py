"""Mimic symbols and readouts: each shows good, uncertain, bad and waiting samples distinctly."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView

from hmi.model import Quality, Reason, Sample
from widgets import palette
from widgets.button_item import ButtonItem
from widgets.label_item import LabelItem
from widgets.palette import QualityStyle
from widgets.pipe import PipeItem
from widgets.pump import PumpSymbol
from widgets.setpoint_entry import SetpointEntry, SetpointPanel, parse_setpoint
from widgets.tank import TankSymbol
from widgets.value_display import ValueDisplay
from widgets.valve import ValveSymbol

pytestmark = pytest.mark.gui

T0 = 1_800_000_000.0


def good(value: object) -> Sample:
    return Sample.good(value, T0)


def stale(value: object) -> Sample:
    return Sample(value, Quality.UNCERTAIN, T0, Reason.STALE)


def failed(value: object = None) -> Sample:
    return Sample.bad(Reason.COMM_FAILURE, value, T0)


WAITING = Sample(None, Quality.BAD, T0, Reason.WAITING)


def render(item: QGraphicsItem, scale: float = 2.0) -> QImage:
    """The item alone on the mimic background, at ``scale`` so small marks span several pixels."""
    scene = QGraphicsScene()
    scene.setBackgroundBrush(palette.BACKGROUND)
    scene.addItem(item)
    source = item.mapRectToScene(item.boundingRect())
    image = QImage(int(source.width() * scale), int(source.height() * scale), QImage.Format.Format_ARGB32)
    image.fill(palette.BACKGROUND)
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), source)
    painter.end()
    scene.removeItem(item)
    return image


def pixel(image: QImage, item: QGraphicsItem, x: float, y: float, scale: float = 2.0) -> QColor:
    """Colour of the rendered image at the item's local point (x, y)."""
    origin = item.boundingRect().topLeft()
    return image.pixelColor(int((x - origin.x()) * scale), int((y - origin.y()) * scale))


def count_near(image: QImage, colour: QColor, tolerance: int = 40) -> int:
    """Pixels within ``tolerance`` (summed RGB distance) of ``colour``."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    rgb = rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(int)
    distance = np.abs(rgb - np.array(colour.getRgb()[:3])).sum(axis=2)
    return int((distance <= tolerance).sum())


def close_to(actual: QColor, expected: QColor, tolerance: int = 12) -> bool:
    pairs = zip(actual.getRgb()[:3], expected.getRgb()[:3], strict=True)
    return all(abs(a - b) <= tolerance for a, b in pairs)


# --- the quality rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "style", "text", "reason"),
    [
        (good(12.345), QualityStyle.NORMAL, "12.35", ""),
        (stale(12.345), QualityStyle.UNCERTAIN, "12.35?", "stale"),
        (failed(12.345), QualityStyle.BAD, "####", "comm failure"),
        (Sample(5, Quality.BAD, T0), QualityStyle.BAD, "####", "bad quality"),
        (WAITING, QualityStyle.WAITING, "…", ""),
        (None, QualityStyle.WAITING, "…", ""),
    ],
)
def test_quality_rule(sample, style, text, reason):
    assert palette.style_for(sample) is style
    assert palette.value_text(sample, 2) == text
    assert palette.reason_text(sample) == reason


def test_bad_tooltip_keeps_the_last_known_value_out_of_the_main_text():
    assert palette.quality_tooltip(failed(42.0), 1, "%") == "Bad quality: comm failure — last known 42.0 %"
    assert palette.value_text(failed(42.0)) == "####"


def test_booleans_and_non_finite_numbers_are_formatted_for_operators():
    assert palette.format_value(True) == "ON"
    assert palette.format_value(7) == "7"
    assert palette.format_value(float("nan")) == "####"


# --- value display ---------------------------------------------------------------------------------------


def test_value_display_follows_quality(qtbot):
    display = ValueDisplay(230, 44, "Temperature", "°C", 1)
    assert display.value_text() == "…"
    display.set_sample(good(63.27))
    assert (display.display_text(), display.quality_style) == ("63.3 °C", QualityStyle.NORMAL)
    display.set_sample(stale(63.27))
    assert (display.display_text(), display.reason_text()) == ("63.3? °C", "stale")
    display.set_sample(failed(63.27))
    assert display.value_text() == "####"
    assert display.reason_text() == "comm failure"
    assert "last known 63.3 °C" in display.toolTip()


def test_value_display_draws_bad_quality_in_magenta_only_when_bad(qtbot):
    display = ValueDisplay(230, 44, "Level", "%", 1)
    display.set_sample(good(50.0))
    assert count_near(render(display), palette.BAD_QUALITY) == 0
    display.set_sample(failed(50.0))
    assert count_near(render(display), palette.BAD_QUALITY) > 50
    display.set_sample(stale(50.0))
    image = render(display)
    assert count_near(image, palette.BAD_QUALITY) == 0
    assert count_near(image, palette.UNCERTAIN_QUALITY) > 20


# --- tank ------------------------------------------------------------------------------------------------


def test_tank_fill_follows_level_and_limits(qtbot):
    tank = TankSymbol(200, 420, "T-101", 0, 100, hi=85, lo=10)
    tank.set_sample(good(50.0))
    assert tank.fill_fraction == pytest.approx(0.5)
    assert not tank.limit_exceeded
    assert tank.display_text() == "50.0 %"
    image = render(tank)
    assert close_to(pixel(image, tank, 150, 400), palette.LIQUID)  # low in the vessel: liquid
    assert close_to(pixel(image, tank, 150, 60), palette.PANEL)  # high in the vessel: empty

    tank.set_sample(good(92.0))
    assert tank.limit_exceeded
    assert close_to(pixel(render(tank), tank, 150, 400), palette.LIMIT_EXCEEDED)
    tank.set_sample(good(5.0))
    assert tank.limit_exceeded and tank.fill_colour == palette.LIMIT_EXCEEDED
    tank.set_sample(good(250.0))
    assert tank.fill_fraction == 1.0


def test_tank_never_draws_a_bad_level_as_liquid(qtbot):
    tank = TankSymbol(200, 420, "T-101", hi=85)
    tank.set_sample(failed(50.0))
    assert tank.level is None and tank.quality_style is QualityStyle.BAD
    assert tank.display_text() == "####"
    assert tank.reason_text() == "comm failure"
    image = render(tank)
    assert count_near(image, palette.LIQUID, 10) == 0
    assert count_near(image, palette.BAD_QUALITY) > 100

    tank.set_sample(stale(50.0))
    assert tank.level == 50.0 and tank.display_text() == "50.0? %"
    assert count_near(render(tank), palette.UNCERTAIN_QUALITY) > 50

    tank.set_sample(WAITING)
    assert tank.display_text() == "…" and tank.level is None


def test_tank_writes_its_level_in_the_units_and_decimals_it_is_given(qtbot):
    tank = TankSymbol(200, 420, "T-102", 0, 5, units="m", decimals=2)
    tank.set_sample(good(3.2))
    assert tank.display_text() == "3.20 m"
    tank.set_sample(stale(3.2))
    assert tank.display_text() == "3.20? m"
    tank.set_sample(failed(3.2))
    assert tank.display_text() == "####"  # no units after a value that is not shown
    counted = TankSymbol(200, 420, "T-103", 0, 2000, units="l", decimals=0)
    counted.set_sample(good(1200))
    assert counted.display_text() == "1200 l"


def test_tank_rejects_an_empty_range():
    with pytest.raises(ValueError, match="must exceed"):
        TankSymbol(100, 200, "T", minimum=10, maximum=10)


# --- pump and valve --------------------------------------------------------------------------------------


def test_pump_running_is_filled_and_stopped_is_hollow(qtbot):
    pump = PumpSymbol(90, 90, "P-101")
    probe = QPointF(45 - 0.75 * 30, 45)  # inside the body, left of the impeller triangle
    pump.set_sample(good(True))
    assert (pump.running, pump.display_text()) == (True, "RUNNING")
    assert close_to(pixel(render(pump), pump, probe.x(), probe.y()), palette.EQUIPMENT_FILL_ON)
    pump.set_sample(good(False))
    assert (pump.running, pump.display_text()) == (False, "STOPPED")
    assert close_to(pixel(render(pump), pump, probe.x(), probe.y()), palette.EQUIPMENT_FILL_OFF)
    pump.set_sample(good(850))  # a speed feedback: positive means running
    assert pump.running is True


def test_pump_quality_states(qtbot):
    pump = PumpSymbol(90, 90, "P-101")
    assert pump.display_text() == "…" and pump.running is None
    pump.set_sample(stale(True))
    assert (pump.display_text(), pump.quality_style) == ("RUNNING?", QualityStyle.UNCERTAIN)
    pump.set_sample(failed(True))
    assert pump.running is None and pump.display_text() == "####"
    assert "comm failure" in pump.toolTip()
    assert count_near(render(pump), palette.BAD_QUALITY) > 30


def test_valve_bool_and_position(qtbot):
    valve = ValveSymbol(60, 60, "XV-101")
    valve.set_sample(good(True))
    assert (valve.is_open, valve.display_text()) == (True, "OPEN")
    valve.set_sample(good(False))
    assert (valve.is_open, valve.display_text()) == (False, "CLOSED")
    valve.set_sample(good(45))
    assert (valve.position, valve.display_text()) == (45.0, "45 %")
    valve.set_sample(good(0))
    assert valve.is_open is False and valve.display_text() == "0 %"
    valve.set_sample(stale(45))
    assert valve.display_text() == "45 %?"
    valve.set_sample(failed(45))
    assert valve.position is None and valve.display_text() == "####"
    assert count_near(render(valve), palette.BAD_QUALITY) > 20


def click_item(qtbot, item: QGraphicsItem, local: QPointF) -> QGraphicsView:
    """Click the item through a real view, as an operator would; the view owns the scene."""
    view = QGraphicsView()
    scene = QGraphicsScene(0, 0, 400, 300, view)
    view.setScene(scene)
    scene.addItem(item)
    item.setPos(50, 50)
    qtbot.addWidget(view)
    view.resize(420, 320)
    view.show()
    qtbot.waitExposed(view)
    at = view.mapFromScene(item.mapToScene(local))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    return view


@pytest.mark.parametrize("make", [lambda: PumpSymbol(90, 90, "P-101"), lambda: ValveSymbol(60, 60, "XV-101")])
def test_symbols_report_clicks(qtbot, make):
    symbol = make()
    with qtbot.waitSignal(symbol.sig_clicked, timeout=1000):
        click_item(qtbot, symbol, QPointF(30, 30))


def test_tank_is_not_clickable_by_default(qtbot):
    tank = TankSymbol(200, 420, "T-101")
    assert tank.acceptedMouseButtons() == Qt.MouseButton.NoButton
    with qtbot.assertNotEmitted(tank.sig_clicked):
        tank.click()


# --- pipe ------------------------------------------------------------------------------------------------


def test_pipe_maps_flow_samples(qtbot):
    pipe = PipeItem([(0, 10), (100, 10), (100, 60)], width=10)
    assert pipe.flowing is None
    pipe.set_sample(good(True))
    assert pipe.flowing is True
    assert close_to(pixel(render(pipe), pipe, 50, 10), palette.PIPE_LIQUID)
    pipe.set_sample(good(0.0))
    assert pipe.flowing is False
    assert close_to(pixel(render(pipe), pipe, 50, 10), palette.EQUIPMENT_FILL_OFF)
    pipe.set_sample(good(3.2))
    assert pipe.flowing is True
    pipe.set_sample(stale(True))
    assert pipe.flowing is None  # a pipe never claims flow from stale data
    pipe.set_sample(failed(True))
    assert pipe.flowing is None
    assert count_near(render(pipe), palette.PIPE_LIQUID, 10) == 0


def test_pipe_needs_two_points():
    with pytest.raises(ValueError, match="two points"):
        PipeItem([(0, 0)])


# --- label and button ------------------------------------------------------------------------------------


def test_label_item_text(qtbot):
    label = LabelItem("Tank 1 — fill and drain", 18.0)  # sizes from YAML may arrive as floats
    width = label.boundingRect().width()
    label.set_text("Tank 1")
    assert label.text == "Tank 1" and label.boundingRect().width() < width


def test_button_item_clicks_only_when_enabled(qtbot):
    button = ButtonItem(100, 30, "Trends")
    with qtbot.waitSignal(button.sig_clicked, timeout=1000):
        view = click_item(qtbot, button, QPointF(50, 15))
    button.setEnabled(False)
    with qtbot.assertNotEmitted(button.sig_clicked):
        button.click()
    assert view.scene() is button.scene()


# --- setpoint entry --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("1200", 1200.0, ""),
        (" 12,5 ", 12.5, ""),
        ("abc", None, "'abc' is not a number"),
        ("nan", None, "'nan' is not a number"),
        ("", None, "enter a value"),
        ("-1", None, "below minimum 0"),
        ("1500.5", None, "above maximum 1500"),
    ],
)
def test_parse_setpoint(text, value, problem):
    assert parse_setpoint(text, 0, 1500) == (value, problem)


@pytest.fixture
def setpoint(qtbot) -> SetpointPanel:
    panel = SetpointPanel("Speed SP", "rpm", 0, minimum=0, maximum=1500)
    qtbot.addWidget(panel)
    return panel


@pytest.mark.parametrize("typed", ["abc", "2000", "-5", ""])
def test_setpoint_refuses_without_emitting(qtbot, setpoint, typed):
    setpoint.entry.setText(typed)
    with qtbot.assertNotEmitted(setpoint.sig_write_requested):
        qtbot.mouseClick(setpoint.apply_button, Qt.MouseButton.LeftButton)
    assert setpoint.message_kind == "error"
    assert setpoint.message_text
    assert not setpoint.busy


def test_setpoint_emits_goes_busy_and_shows_the_result(qtbot, setpoint):
    qtbot.keyClicks(setpoint.entry, "1200")
    with qtbot.waitSignal(setpoint.sig_write_requested, timeout=1000) as emitted:
        qtbot.keyClick(setpoint.entry, Qt.Key.Key_Return)
    assert emitted.args == [1200.0]
    assert setpoint.busy
    assert not setpoint.entry.isEnabled() and not setpoint.apply_button.isEnabled()
    with qtbot.assertNotEmitted(setpoint.sig_write_requested):
        setpoint.apply()  # a second request while the first is pending is ignored

    setpoint.set_write_result(False, "PLC refused the write")
    assert not setpoint.busy and setpoint.entry.isEnabled()
    assert (setpoint.message_kind, setpoint.message_text) == ("error", "PLC refused the write")
    assert setpoint.entry.text() == "1200"  # kept so the operator can correct it

    with qtbot.waitSignal(setpoint.sig_write_requested, timeout=1000):
        setpoint.apply()
    setpoint.set_write_result(True, "")
    assert setpoint.message_kind == "ok" and setpoint.message_text == "written"
    assert setpoint.entry.text() == ""


def test_setpoint_sample_updates_current_value_not_the_typing(qtbot, setpoint):
    setpoint.entry.setText("900")
    setpoint.set_sample(good(1180))
    assert setpoint.display_text() == "1180 rpm"
    assert setpoint.entry.text() == "900"
    setpoint.set_sample(failed(1180))
    assert setpoint.display_text() == "####"
    assert setpoint.quality_style is QualityStyle.BAD
    assert setpoint.message_text == "comm failure"  # no operator message pending: the reason shows


def test_setpoint_entry_item_forwards_the_request(qtbot):
    entry = SetpointEntry(300, 44, "Valve SP", "%", 0, minimum=0, maximum=100)
    scene = QGraphicsScene()
    scene.addItem(entry)
    assert entry.size().width() == 300
    entry.panel.entry.setText("45")
    with qtbot.waitSignal(entry.sig_write_requested, timeout=1000) as emitted:
        entry.panel.apply()
    assert emitted.args == [45.0]
    entry.set_write_result(True, "written 45 %")
    assert entry.panel.message_text == "written 45 %"
    entry.set_sample(stale(44))
    assert entry.panel.display_text() == "44? %"
