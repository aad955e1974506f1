"""The connections view: fed from the runtime thread through the session, never calling drivers itself."""

import concurrent.futures

import pytest

from hmi.model import ConnectionState
from hmi.ui.connections_view import ConnectionsView, cell_text
from hmi.ui.futures import FutureRelay

pytestmark = pytest.mark.gui


def test_cells_format_numbers_and_show_a_dash_for_missing_figures():
    assert cell_text(12.345, "{:.1f}") == "12.3"
    assert cell_text(3, "{:d}") == "3"
    assert cell_text(3.5, "{:d}") == "3.5"
    assert cell_text(None, "{:d}") == "–"
    assert cell_text("", "") == "–"


def test_the_view_shows_what_the_request_answers_and_never_asks_twice_at_once(qtbot):
    relay = FutureRelay()
    futures: list[concurrent.futures.Future] = []

    def request():
        futures.append(concurrent.futures.Future())
        return futures[-1]

    view = ConnectionsView(request, relay)
    qtbot.addWidget(view)
    view.refresh()
    view.refresh()  # the first answer is still on its way
    assert len(futures) == 1
    futures[0].set_result(
        {
            "plc1": {"state": "backing off", "errors": 4, "requests_per_s": 0.0, "last_error": "refused"},
            "ua1": {"state": "connected", "rtt_mean_ms": 1.234},
        }
    )
    qtbot.waitUntil(lambda: view.refreshes == 1)
    assert view.cell("plc1", "State") == "backing off"
    assert view.cell("plc1", "Errors") == "4"
    assert view.cell("plc1", "Last error") == "refused"
    assert view.cell("ua1", "RTT mean (ms)") == "1.23"
    assert view.cell("ua1", "Overruns") == "–"
    view.refresh()
    assert len(futures) == 2
    futures[1].set_exception(RuntimeError("runtime gone"))
    relay.close()


def test_view_connections_on_the_demo_shows_live_figures_and_a_cut_link(running_demo, qtbot, tmp_path):
    _project, session, window = running_demo
    connected = ConnectionState.CONNECTED
    qtbot.waitUntil(lambda: window.connection_bar.states.get("plc1") is connected, timeout=20000)
    window.connections_view_action.trigger()
    view = window.connections_dock.view
    qtbot.waitUntil(lambda: view.refreshes >= 2, timeout=5000)
    qtbot.waitUntil(lambda: float(view.cell("plc1", "Requests/s")) > 0, timeout=5000)
    assert view.cell("plc1", "State") == "connected"
    assert view.cell("plc1", "Errors") == "0"
    assert float(view.cell("plc1", "RTT p99 (ms)")) >= float(view.cell("plc1", "RTT mean (ms)")) > 0
    assert view.cell("ua1", "State") == "connected"
    window.resize(1400, 900)
    window.grab().save(str(tmp_path / "connections.png"))

    session.set_plant_modbus(False).result(timeout=10)
    qtbot.waitUntil(lambda: view.cell("plc1", "State") == "backing off", timeout=8000)
    assert view.cell("plc1", "Last error") != "–"
    assert int(view.cell("plc1", "Errors")) >= 1
    session.set_plant_modbus(True).result(timeout=10)
    qtbot.waitUntil(lambda: view.cell("plc1", "State") == "connected", timeout=20000)
