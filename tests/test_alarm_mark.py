"""Alarm marks beside the items on the graphics: shape and colour per priority, blinking, set-aside, gone."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QColor, QImage, QPainter

from hmi.alarms.engine import AlarmState, AlarmStatus
from hmi.core.resources import demo_project_dir
from hmi.project.config import AlarmDef
from hmi.project.loader import load_project
from hmi.ui.alarm_blink import BlinkClock
from hmi.ui.alarm_marks import AlarmMarks, mark_states
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext
from hmi.ui.screen_view import ScreenView
from widgets.alarm_mark import MARK_SIZE, MARK_STYLES, AlarmMark, MarkState
from widgets.palette import priority_look

pytestmark = pytest.mark.gui


def status(name: str, tag: str, state: AlarmState, priority: str) -> AlarmStatus:
    definition = AlarmDef(name, tag, "hi", 1.0, priority=priority, screen="overview")
    return AlarmStatus(definition, state, value=2.0, message=name, raised_at=100.0)


@pytest.fixture
def marked(qtbot: Any) -> Any:
    project = load_project(demo_project_dir())
    bridge = RuntimeBridge()
    commands = Commands(write=lambda *_a: None, acknowledge=lambda _a: None)
    context = PanelContext(project, bridge, commands, FutureRelay(), lambda: None, lambda _t: None)
    views = {name: ScreenView(screen, project) for name, screen in project.screens.items()}
    for view in views.values():
        qtbot.addWidget(view)
    clock = BlinkClock()
    marks = AlarmMarks(views, clock)
    marks.attach(context)
    yield bridge, views, clock, marks
    marks.detach()
    context.close()


def offer(bridge: RuntimeBridge, rows: list[AlarmStatus]) -> None:
    bridge.offer_alarm_snapshot(rows)
    bridge.flush()


def test_every_priority_has_its_own_shape_and_label_and_the_banners_colour() -> None:
    shapes = {style.shape for style in MARK_STYLES.values()}
    labels = {style.label for style in MARK_STYLES.values()}
    assert len(shapes) == len(labels) == len(MARK_STYLES) == 4
    colours = {priority_look(p).background.name() for p in MARK_STYLES}
    assert len(colours) == 4


def test_an_unacknowledged_alarm_marks_its_items_and_blinks_then_steadies_when_acknowledged(
    marked: Any,
) -> None:
    bridge, views, clock, _marks = marked
    overview = views["overview"]
    temp_marks = overview.alarm_marks["TANK1.TEMP"]
    assert len(temp_marks) == 1 and not temp_marks[0].isVisible()
    offer(bridge, [status("TANK1.TEMP.HI", "TANK1.TEMP", AlarmState.UNACKED, "medium")])
    mark = temp_marks[0]
    assert mark.isVisible() and mark.blinking and mark.priority == "medium" and clock.running
    # beside the value box, not on it
    box = overview.items_by_id["temp"].sceneBoundingRect()
    assert mark.sceneBoundingRect().left() >= box.right() or mark.sceneBoundingRect().right() <= box.left()
    filled = [mark.filled]
    for _ in range(3):
        clock.tick()
        filled.append(mark.filled)
    assert filled == [True, False, True, False]
    offer(bridge, [status("TANK1.TEMP.HI", "TANK1.TEMP", AlarmState.ACKED, "medium")])
    assert mark.isVisible() and not mark.blinking and mark.filled and not clock.running
    offer(bridge, [])
    assert not mark.isVisible() and mark.state is MarkState.NONE


def test_the_most_important_alarm_of_a_tag_wins_and_set_aside_alarms_show_a_distinct_mark(
    marked: Any,
) -> None:
    bridge, views, _clock, _marks = marked
    level_marks = views["overview"].alarm_marks["TANK1.LEVEL"]
    assert len(level_marks) == 2  # the tank and the value box are both bound to it
    offer(
        bridge,
        [
            status("TANK1.LEVEL.HI", "TANK1.LEVEL", AlarmState.ACKED, "high"),
            status("TANK1.LEVEL.HIHI", "TANK1.LEVEL", AlarmState.UNACKED, "urgent"),
            status("TANK1.LEVEL.LO", "TANK1.LEVEL", AlarmState.SHELVED, "low"),
        ],
    )
    assert {(m.priority, m.state) for m in level_marks} == {("urgent", MarkState.UNACKED)}
    offer(bridge, [status("TANK1.LEVEL.LO", "TANK1.LEVEL", AlarmState.SHELVED, "low")])
    assert {m.state for m in level_marks} == {MarkState.SHELVED}
    assert mark_states([status("X", "T", AlarmState.NORMAL, "high")]) == {}


def test_an_alarm_the_project_does_not_list_marks_its_items_too(marked: Any) -> None:
    bridge, views, _clock, _marks = marked
    offer(bridge, [status("SYSTEM.LINK.plc1.LOST", "SYSTEM.LINK.plc1.UP", AlarmState.UNACKED, "high")])
    assert [m.isVisible() for m in views["pump1"].alarm_marks["SYSTEM.LINK.plc1.UP"]] == [True]


@pytest.mark.parametrize("priority", list(MARK_STYLES))
def test_a_mark_paints_in_its_priority_colour(qtbot: Any, priority: str) -> None:
    mark = AlarmMark("T")
    mark.set_alarm(priority, MarkState.ACKED)
    image = QImage(int(MARK_SIZE) + 2, int(MARK_SIZE) + 2, QImage.Format.Format_ARGB32)
    image.fill(QColor("#D3D5D7"))
    painter = QPainter(image)
    painter.translate(1, 1)
    mark.paint(painter, None)  # type: ignore[arg-type]
    painter.end()
    wanted = priority_look(priority).background.rgb()
    hits = sum(1 for x in range(image.width()) for y in range(image.height()) if image.pixel(x, y) == wanted)
    assert hits > 20
