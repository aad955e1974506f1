"""Demo plant (real Modbus TCP + OPC UA servers) -> drivers -> runtime -> history rows and widgets."""

import pytest

from hmi.historian.reader import HistoryReader
from hmi.model import ConnectionState, Quality, Reason

pytestmark = pytest.mark.gui


def all_good(window, tags):
    return all(window.latest.get(t) is not None and window.latest[t].is_good for t in tags)


def confirm_write(qtbot, window):
    """A command (a writable bool) asks before it goes out: the operator clicks Write."""
    from PySide6.QtCore import Qt

    dialog = window.screen_view.confirmation
    assert dialog is not None and dialog.isVisible()
    qtbot.mouseClick(dialog.write_button, Qt.MouseButton.LeftButton)


def watch(window, tags):
    """The test watches ``tags`` as a panel showing them would: the bridge carries only tags shown."""
    window.context.show_tags("test watch list", tags)


def test_values_flow_from_the_plant_to_history_and_the_screen(running_demo, qtbot, tmp_path):
    project, session, window = running_demo
    watch(window, project.tags)
    qtbot.waitUntil(lambda: all_good(window, project.tags), timeout=20000)
    level = window.latest["TANK1.LEVEL"].value
    assert 0.0 <= level <= 100.0
    display = window.screen_view.items_by_id["level"]
    qtbot.waitUntil(
        lambda: "%" in display.display_text() and any(c.isdigit() for c in display.display_text())
    )
    qtbot.waitUntil(lambda: window.connection_bar.states.get("plc1") is ConnectionState.CONNECTED)
    qtbot.waitUntil(lambda: window.connection_bar.states.get("ua1") is ConnectionState.CONNECTED)
    # the bridge coalesces: far fewer frames than samples offered
    assert session.bridge.frames > 0
    window.close()
    session.stop()
    reader = HistoryReader(tmp_path / "history.db")
    for tag in project.tags:
        assert reader.count(tag) > 0, f"no history rows for {tag}"


def test_setpoint_entry_writes_to_the_plc_and_shows_the_result(running_demo, qtbot):
    _project, session, window = running_demo
    qtbot.waitUntil(lambda: all_good(window, ["PUMP1.SPEED_SP"]), timeout=20000)
    entry = window.screen_view.items_by_id["speed_sp"]
    results = []
    entry.sig_write_requested.connect(lambda value: results.append(value))
    window.screen_view.submit_write("PUMP1.SPEED_SP", 900, entry)
    qtbot.waitUntil(lambda: window.latest["PUMP1.SPEED_SP"].value == 900, timeout=10000)
    assert session.plant.process.speed_setpoint == 900
    window.screen_view.submit_write("PUMP1.SPEED_SP", 5000, entry)
    qtbot.waitUntil(lambda: "outside the limits" in window.message.text(), timeout=5000)
    assert session.plant.process.speed_setpoint == 900


def test_losing_the_plcs_modbus_server_turns_its_tags_bad_and_they_recover(running_demo, qtbot):
    project, session, window = running_demo
    modbus_tags = [name for name, tag in project.tags.items() if tag.connection == "plc1"]
    watch(window, project.tags)
    qtbot.waitUntil(lambda: all_good(window, project.tags), timeout=20000)
    session.set_plant_modbus(False).result(timeout=10)
    qtbot.waitUntil(lambda: all(window.latest[t].quality is Quality.BAD for t in modbus_tags), timeout=8000)
    assert window.latest["TANK1.LEVEL"].reason is Reason.COMM_FAILURE
    assert window.latest["TANK1.TEMP"].is_good  # the OPC UA side is untouched
    qtbot.waitUntil(lambda: window.connection_bar.states.get("plc1") is ConnectionState.BACKING_OFF)
    session.set_plant_modbus(True).result(timeout=10)
    qtbot.waitUntil(lambda: all_good(window, modbus_tags), timeout=20000)
    qtbot.waitUntil(lambda: window.connection_bar.states.get("plc1") is ConnectionState.CONNECTED)


def test_operator_navigates_to_the_pump_screen_and_stops_the_pump(running_demo, qtbot):
    _project, session, window = running_demo
    watch(window, ["PUMP1.AUTO"])  # shown on the pump screen only, and awaited before going there
    qtbot.waitUntil(lambda: all_good(window, ["PUMP1.RUN", "PUMP1.AUTO", "PUMP1.SPEED"]), timeout=20000)
    window.screen_view.items_by_id["to_pump"].click()
    assert window.screen_view.screen_def.name == "pump1"
    speed = window.screen_view.items_by_id["speed"]
    assert "rpm" in speed.display_text()  # latest values applied at once, not on the next change
    window.screen_view.items_by_id["auto_off"].click()
    confirm_write(qtbot, window)
    qtbot.waitUntil(lambda: window.latest["PUMP1.AUTO"].value is False, timeout=10000)
    window.screen_view.items_by_id["stop"].click()
    confirm_write(qtbot, window)
    qtbot.waitUntil(lambda: window.latest["PUMP1.RUN"].value is False, timeout=10000)
    assert session.plant.process.pump_running is False
    window.screen_view.items_by_id["back"].click()
    assert window.screen_view.screen_def.name == "overview"
