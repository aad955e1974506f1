"""The alarm summary during a flood: a "Flood HH:MM-now, N alarms" row, the first out shown, the rest folded.

The raises reach the panel as the runtime hands them over (the bridge's frame); a flood counts raises,
so an alarm raised again and again counts each time while it is one row of the summary.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus, EventKind
from hmi.core.resources import demo_project_dir
from hmi.project.config import AlarmDef
from hmi.project.loader import load_project
from hmi.ui.alarm_flood_group import GROUP_ROLE_NAME
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, PanelContext

pytestmark = pytest.mark.gui

NOW = 1_800_000_000.0


def alarm(name: str, raised_at: float, priority: str = "medium") -> AlarmStatus:
    definition = AlarmDef(name, "T", "hi", 0.0, priority=priority, message=f"{name} message")
    return AlarmStatus(definition, AlarmState.UNACKED, raised_at=raised_at, message=f"{name} message")


FIRST_OUT = alarm("SURGE.FIRST", NOW - 300, "high")
FLOOD = [alarm(f"SURGE.{i:02d}", NOW - 290 + i * 10, "urgent" if i == 5 else "medium") for i in range(12)]
STANDING = alarm("OLD.STANDING", NOW - 7200, "low")
SHOWN = [STANDING, *FLOOD, FIRST_OUT]


def raises(rows: list[AlarmStatus], again: int = 0) -> list[AlarmEvent]:
    """A raise event per row (oldest first), and ``again`` more of the first row's alarm."""
    events = [
        AlarmEvent(r.raised_at or 0.0, r.name, EventKind.RAISED, AlarmState.UNACKED, "medium", 1.0, r.name)
        for r in sorted(rows, key=lambda r: r.raised_at or 0.0)
    ]
    first = events[0] if events else None
    return events + [first] * again if first is not None else events


def frame(bridge: RuntimeBridge, rows: list[AlarmStatus], events: list[AlarmEvent]) -> None:
    for event in events:
        bridge.offer_alarm_event(event)
    bridge.offer_alarm_snapshot(rows)
    bridge.flush()


@pytest.fixture
def panel(qtbot: Any) -> Any:
    context = PanelContext(
        load_project(demo_project_dir()),
        RuntimeBridge(),
        Commands(write=lambda *_a: None, acknowledge=lambda _a: None),
        FutureRelay(),
        lambda: None,
        lambda _t: None,
    )
    panel = AlarmPanel()
    panel.clock = lambda: NOW
    qtbot.addWidget(panel)
    panel.attach(context)
    panel.resize(1100, 600)
    panel.show()
    yield panel, context.bridge
    panel.detach()
    context.close()


def shown_names(table: QTableWidget) -> list[str]:
    return [
        table.item(row, 0).data(Qt.ItemDataRole.UserRole)
        for row in range(table.rowCount())
        if not table.isRowHidden(row)
    ]


def click(qtbot: Any, table: QTableWidget, row: int) -> None:
    item = table.item(row, 0)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(item).center())


def test_a_flood_folds_under_one_row_with_the_first_out_shown(panel: Any, qtbot: Any) -> None:
    panel, bridge = panel
    frame(bridge, SHOWN, raises([FIRST_OUT, *FLOOD]))
    table = panel.table
    assert panel.flood is not None and panel.flood.count == 13
    group = table.item(0, 0)
    assert group.data(Qt.ItemDataRole.UserRole) == GROUP_ROLE_NAME
    assert "Flood" in group.text() and "-now, 13 alarms" in group.text() and "SURGE.FIRST" in group.text()
    assert table.columnSpan(0, 0) == table.columnCount()
    assert shown_names(table) == [GROUP_ROLE_NAME, "SURGE.FIRST", "OLD.STANDING"]
    assert [row.name for row in panel.visible] == ["SURGE.FIRST", "OLD.STANDING"]

    click(qtbot, table, 0)  # open the group: every flood alarm, in operator order (urgent first)
    names = shown_names(table)
    assert len(names) == 15 and names[:3] == [GROUP_ROLE_NAME, "SURGE.FIRST", "SURGE.05"]
    assert names[-1] == "OLD.STANDING" and table.item(0, 0).text().startswith("▾")
    click(qtbot, table, 0)  # and fold it again
    assert shown_names(table) == [GROUP_ROLE_NAME, "SURGE.FIRST", "OLD.STANDING"]
    assert panel.selected_alarm() is None, "the group row is no alarm to acknowledge"


def test_group_flood_off_shows_every_alarm_in_operator_order(panel: Any, qtbot: Any) -> None:
    panel, bridge = panel
    frame(bridge, SHOWN, raises([FIRST_OUT, *FLOOD]))
    assert panel.flood is not None
    qtbot.mouseClick(panel.group_button, Qt.MouseButton.LeftButton)
    assert not panel.group_button.isChecked() and panel.flood is None
    names = shown_names(panel.table)
    assert len(names) == 14 and GROUP_ROLE_NAME not in names and names[0] == "SURGE.05"
    assert panel.table.columnSpan(0, 0) == 1


def test_ten_alarms_in_ten_minutes_are_no_flood(panel: Any) -> None:
    panel, bridge = panel
    rows = [STANDING, *FLOOD[:9], FIRST_OUT]
    frame(bridge, rows, raises([FIRST_OUT, *FLOOD[:9]]))
    assert panel.flood is None and GROUP_ROLE_NAME not in shown_names(panel.table)


def test_an_alarm_raised_again_and_again_makes_a_flood_of_few_rows(panel: Any) -> None:
    """Four alarms, fourteen raises (the demo's surge): the flood is grouped, the first out on top."""
    panel, bridge = panel
    rows = [STANDING, FIRST_OUT, *FLOOD[:3]]
    frame(bridge, rows, raises([FIRST_OUT, *FLOOD[:3]], again=10))
    assert panel.flood is not None and panel.flood.count == 14 and panel.flood.first_out is FIRST_OUT
    assert "14 alarms" in panel.table.item(0, 0).text()
    assert shown_names(panel.table) == [GROUP_ROLE_NAME, "SURGE.FIRST", "OLD.STANDING"]
