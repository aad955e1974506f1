"""Panels wire themselves: attach to the window's context, detach symmetrically; one GUI-side tag cache."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus, EventKind
from hmi.core.resources import demo_project_dir
from hmi.model import ConnectionState, ConnectionStatus, Sample
from hmi.model.symbols import display_format
from hmi.project.config import AlarmDef
from hmi.project.loader import load_project
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.connection_bar import ConnectionBar
from hmi.ui.futures import FutureRelay
from hmi.ui.main_window import MainWindow
from hmi.ui.panels import Commands, PanelContext
from hmi.ui.session import GuiSession
from widgets.palette import value_text

pytestmark = pytest.mark.gui


def raised(name: str, screen: str | None = None) -> AlarmStatus:
    definition = AlarmDef(
        name, "TANK1.LEVEL", "hi", 85.0, priority="high", message=f"{name} high", screen=screen
    )
    return AlarmStatus(definition, AlarmState.UNACKED, value=90.0, message=definition.message, raised_at=1.0)


class AlarmEventCounter(QLabel):
    """A panel the window does not know: counts alarm events and reads the tag cache."""

    def __init__(self) -> None:
        super().__init__("")
        self.events = 0
        self.level: Sample | None = None
        self.detached = False
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        self._context = context
        context.bridge.sig_alarm_events.connect(self._count)
        context.tags.sig_values_changed.connect(self._read)

    def detach(self) -> None:
        assert self._context is not None
        self._context.bridge.sig_alarm_events.disconnect(self._count)
        self._context.tags.sig_values_changed.disconnect(self._read)
        self.detached = True

    def _count(self, events: list[AlarmEvent]) -> None:
        self.events += len(events)

    def _read(self, _values: dict[str, Sample]) -> None:
        assert self._context is not None
        self.level = self._context.tags.get("TANK1.LEVEL")


def test_alarm_and_connection_panels_attach_to_a_context_and_detach_symmetrically(qtbot: Any) -> None:
    project = load_project(demo_project_dir())
    bridge = RuntimeBridge()
    acknowledged: list[str | None] = []
    commands = Commands(write=lambda *_args: None, acknowledge=acknowledged.append)
    context = PanelContext(project, bridge, commands, FutureRelay(), lambda: None, lambda _text: None)
    strip, panel, bar = AlarmStrip(), AlarmPanel(), ConnectionBar(["plc1"])
    for widget in (strip, panel, bar):
        qtbot.addWidget(widget)
        widget.attach(context)
    screens: list[str] = []
    context.sig_screen_requested.connect(screens.append)

    bridge.offer_alarm_snapshot([raised("TANK1.LEVEL.HI", screen="overview")])
    bridge.offer_status(ConnectionStatus("plc1", ConnectionState.CONNECTED))
    bridge.flush()
    assert "TANK1.LEVEL.HI high" in strip.text.text()
    assert panel.summary.text() == "1 active, 1 unacknowledged"
    assert bar.states["plc1"] is ConnectionState.CONNECTED
    strip.ack.click()
    panel.table.selectRow(0)
    panel.ack_button.click()
    panel.table.itemDoubleClicked.emit(panel.table.item(0, 3))
    assert acknowledged == ["TANK1.LEVEL.HI", "TANK1.LEVEL.HI"], "both go through the command path"
    assert screens == ["overview"], "the alarm's screen is asked for, not opened by the panel itself"

    for widget in (strip, panel, bar):
        widget.detach()
    bridge.offer_alarm_snapshot([])
    bridge.offer_status(ConnectionStatus("plc1", ConnectionState.BACKING_OFF))
    bridge.flush()
    strip.ack.click()
    assert "TANK1.LEVEL.HI high" in strip.text.text() and panel.rows, "detached: no longer fed"
    assert bar.states["plc1"] is ConnectionState.CONNECTED
    assert acknowledged == ["TANK1.LEVEL.HI", "TANK1.LEVEL.HI"], "detached: no longer connected to commands"
    context.close()


@pytest.fixture
def window(qtbot: Any) -> Any:
    project = load_project(demo_project_dir())
    session = GuiSession(project, RuntimeBridge())  # never started: the window alone is under test
    main = MainWindow(project, session)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()
    session.runtime_thread.loop.close()


def test_a_new_panel_plugs_into_the_main_window_and_is_detached_when_it_closes(window: Any) -> None:
    bridge = window.session.bridge
    counter = AlarmEventCounter()
    window.attach_panel(counter)
    event = AlarmEvent(1.0, "TANK1.LEVEL.HI", EventKind.RAISED, AlarmState.UNACKED, "high", 90.0, "high")
    bridge.offer_alarm_event(event)
    bridge.offer_alarm_event(event)
    bridge.offer_alarm_snapshot([raised("TANK1.LEVEL.HI")])
    bridge.offer_sample("TANK1.LEVEL", Sample.good(42.0))
    bridge.flush()
    assert counter.events == 2
    assert counter.level is not None and counter.level.value == 42.0, "cache first, then panels"
    assert window.alarm_strip.shown is not None and window.alarm_strip.shown.name == "TANK1.LEVEL.HI"

    window.close()
    assert counter.detached and window.panels == []
    bridge.offer_alarm_event(event)
    bridge.offer_alarm_snapshot([])
    bridge.offer_sample("TANK1.LEVEL", Sample.good(43.0))
    bridge.flush()
    assert counter.events == 2
    assert window.latest["TANK1.LEVEL"].value == 42.0, "the tag cache is no longer fed either"
    assert window.alarm_strip.shown is not None, "the built-in panels are detached too"


def test_a_screen_brought_to_the_front_shows_the_latest_values_from_the_tag_cache(window: Any) -> None:
    assert window.screen_view.screen_def.name == "overview"
    bridge = window.session.bridge
    bridge.offer_sample("PUMP1.SPEED", Sample.good(1234.0))
    bridge.flush()
    assert window.latest["PUMP1.SPEED"].value == 1234.0
    window.show_screen("pump1")
    assert window.screen_view.screen_def.name == "pump1"
    assert "1234" in window.screen_view.items_by_id["speed"].display_text()
    assert window.windowTitle().startswith(window.project.screens["pump1"].title)
    window.show_screen("nope")
    assert "No screen named 'nope'" in window.message.text()
    assert window.screen_view.screen_def.name == "pump1"


class Faceplate(QLabel):
    """A panel that shows one tag while it is open, as an equipment faceplate does."""

    def __init__(self, tag: str) -> None:
        super().__init__("")
        self.tag = tag
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        self._context = context
        context.show_tags(self, [self.tag])

    def detach(self) -> None:
        assert self._context is not None
        self._context.release_tags(self)
        self._context = None


def test_panels_declare_what_they_show_and_release_it_on_detach(window: Any) -> None:
    bridge = window.session.bridge
    context = window.context
    overview = window.project.screens["overview"]
    trend_pens = set(window.trend_panel.pens)
    on_screen = {item.tag for item in overview.items if item.tag} | _flow_tags(overview)
    assert bridge.shown == on_screen | trend_pens
    assert "PUMP1.AUTO" not in bridge.shown, "on the pump screen only"
    table = {"PUMP1.AUTO": Sample.good(True, ts=5.0), "PUMP1.CMD": Sample.good(False, ts=6.0)}
    bridge.follow_table(table)  # stands in for the runtime's current-value table

    faceplate = Faceplate("PUMP1.CMD")
    window.attach_panel(faceplate)
    assert window.latest["PUMP1.CMD"].ts == 6.0, "the faceplate's tag has its value at once"
    assert context.shown.owners_of("PUMP1.CMD") == [faceplate]
    faceplate.detach()
    window.panels.remove(faceplate)
    assert "PUMP1.CMD" not in bridge.shown

    window.trend_panel.add_pen("PUMP1.AUTO")
    assert "PUMP1.AUTO" in bridge.shown and window.latest["PUMP1.AUTO"].value is True
    window.trend_panel.remove_pen("PUMP1.AUTO")
    assert "PUMP1.AUTO" not in bridge.shown
    window.close()
    assert bridge.shown == frozenset(), "a closed window shows nothing"


def _flow_tags(screen: Any) -> set[str]:
    return {item.props.flow_tag for item in screen.items if getattr(item.props, "flow_tag", None)}


def test_switching_screens_changes_what_crosses_the_bridge_and_a_tag_shown_has_its_value_at_once(
    running_demo: Any, qtbot: Any
) -> None:
    _project, session, window = running_demo
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    bridge = session.bridge
    frames: list[dict[str, Sample]] = []
    bridge.sig_values_changed.connect(frames.append)
    window.trend_panel.remove_pen("TANK1.LEVEL")  # from now on only the overview shows the level
    qtbot.waitUntil(lambda: session.station is not None, timeout=20000)
    runtime = session.station.runtime

    # Overview in front: the pump's auto flag is read by the runtime but never crosses.
    qtbot.waitUntil(
        lambda: runtime.values["PUMP1.AUTO"].is_good and _good(window, "TANK1.LEVEL"), timeout=20000
    )
    seen = bridge.frames
    qtbot.waitUntil(lambda: bridge.frames >= seen + 3, timeout=5000)
    assert "PUMP1.AUTO" not in window.latest
    assert not any("PUMP1.AUTO" in frame for frame in frames)
    assert bridge.samples_not_shown > 0

    QTest.keyClick(window, Qt.Key.Key_F2)
    assert window.screen_view.screen_def.name == "pump1"
    assert window.latest["PUMP1.AUTO"] == runtime.values["PUMP1.AUTO"], "at once, from the runtime's table"
    assert window.screen_view.items_by_id["auto"].value_text() in ("ON", "OFF"), "never blank"

    # Pump screen in front: the level (on the overview only) changes in the runtime and does not cross.
    left_behind = window.latest["TANK1.LEVEL"]
    frames.clear()
    qtbot.waitUntil(lambda: runtime.values["TANK1.LEVEL"].ts > left_behind.ts, timeout=10000)
    seen = bridge.frames
    qtbot.waitUntil(lambda: bridge.frames >= seen + 2, timeout=5000)
    assert not any("TANK1.LEVEL" in frame for frame in frames)
    assert window.latest["TANK1.LEVEL"] is left_behind

    before_click = runtime.values["TANK1.LEVEL"]
    window.screen_view.items_by_id["back"].click()
    assert window.screen_view.screen_def.name == "overview"
    shown = window.latest["TANK1.LEVEL"]
    assert shown.ts >= before_click.ts > left_behind.ts, "the current level at once, not the one left behind"
    decimals = display_format(window.project.tags["TANK1.LEVEL"]).decimals
    assert window.screen_view.items_by_id["level"].value_text() == value_text(shown, decimals)


def _good(window: Any, tag: str) -> bool:
    sample = window.latest.get(tag)
    return sample is not None and sample.is_good
