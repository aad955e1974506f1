"""The horn: sounds for new unacknowledged alarms at or above its priority, repeats, silences, re-sounds."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus, EventKind
from hmi.core.resources import demo_project_dir
from hmi.project.config import AlarmDef
from hmi.project.loader import load_project
from hmi.ui.alarm_horn import Horn, HornState
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext

pytestmark = pytest.mark.gui


def raised(name: str, priority: str, ts: float = 100.0) -> AlarmEvent:
    return AlarmEvent(ts, name, EventKind.RAISED, AlarmState.UNACKED, priority, 1.0, name)


def unacked(name: str, priority: str) -> AlarmStatus:
    return AlarmStatus(AlarmDef(name, "T", "hi", 0.0, priority=priority), AlarmState.UNACKED, raised_at=100.0)


@pytest.fixture
def horned(qtbot: Any) -> Any:
    project = load_project(demo_project_dir())
    bridge = RuntimeBridge()
    commands = Commands(write=lambda *_a: None, acknowledge=lambda _a: None)
    context = PanelContext(project, bridge, commands, FutureRelay(), lambda: None, lambda _t: None)
    played: list[int] = []
    horn = Horn(sound=lambda: played.append(1))
    strip = AlarmStrip(horn=horn)
    qtbot.addWidget(strip)
    horn.attach(context)
    strip.attach(context)
    strip.show()
    yield bridge, horn, strip, played
    strip.detach()
    horn.detach()
    context.close()


def frame(bridge: RuntimeBridge, events: list[AlarmEvent], rows: list[AlarmStatus]) -> None:
    for event in events:
        bridge.offer_alarm_event(event)
    bridge.offer_alarm_snapshot(rows)
    bridge.flush()


def test_a_new_high_alarm_sounds_until_silenced_by_the_banner_button_and_a_new_one_sounds_again(
    horned: Any, qtbot: Any
) -> None:
    bridge, horn, strip, played = horned
    assert horn.threshold == "high" and horn.state is HornState.QUIET and not strip.silence.isVisible()
    frame(bridge, [raised("A", "high")], [unacked("A", "high")])
    assert horn.state is HornState.SOUNDING and played == [1] and strip.silence.isVisible()
    qtbot.waitUntil(lambda: len(played) >= 2, timeout=5000)  # it repeats while nobody silences it
    qtbot.mouseClick(strip.silence, Qt.MouseButton.LeftButton)
    assert horn.state is HornState.SILENCED and not strip.silence.isVisible()
    count = len(played)
    frame(bridge, [], [unacked("A", "high")])
    assert horn.state is HornState.SILENCED and len(played) == count
    frame(bridge, [raised("B", "urgent")], [unacked("A", "high"), unacked("B", "urgent")])
    assert horn.state is HornState.SOUNDING and len(played) == count + 1


def test_alarms_below_the_threshold_stay_silent(horned: Any) -> None:
    bridge, horn, _strip, played = horned
    frame(bridge, [raised("M", "medium"), raised("L", "low")], [unacked("M", "medium"), unacked("L", "low")])
    assert horn.state is HornState.QUIET and played == []


def test_the_horn_goes_quiet_once_nothing_at_its_priority_waits_for_an_acknowledgement(horned: Any) -> None:
    bridge, horn, _strip, _played = horned
    frame(bridge, [raised("A", "urgent")], [unacked("A", "urgent")])
    assert horn.state is HornState.SOUNDING
    frame(bridge, [], [unacked("M", "medium")])
    assert horn.state is HornState.QUIET


def test_a_lower_threshold_sounds_for_medium(horned: Any) -> None:
    bridge, horn, _strip, played = horned
    horn.threshold = "medium"
    frame(bridge, [raised("M", "medium")], [unacked("M", "medium")])
    assert horn.state is HornState.SOUNDING and played == [1]


def test_an_unacknowledged_alarm_raised_before_the_window_followed_the_events_sounds_once(
    horned: Any,
) -> None:
    bridge, horn, _strip, played = horned
    frame(bridge, [], [unacked("A", "urgent")])  # no raise event: it came before the feed started
    assert horn.state is HornState.SOUNDING and played == [1]
    horn.silence()
    frame(bridge, [], [unacked("A", "urgent")])
    assert horn.state is HornState.SILENCED and played == [1]
