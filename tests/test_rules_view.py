"""The rules view: rule states with enable/disable and the maintenance list with acknowledge."""

from __future__ import annotations

import concurrent.futures

import pytest
from PySide6.QtCore import Qt

from hmi.core.rules_source import RulesSnapshot
from hmi.rules.events import RuleState, RuleStatus
from hmi.ui.futures import FutureRelay
from hmi.ui.rules_view import RulesRequests, RulesView

pytestmark = pytest.mark.gui

ERROR = "ZeroDivisionError: division by zero"


def done(value=None) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_result(value)
    return future


def test_the_view_shows_states_toggles_rules_and_acknowledges_events(qtbot):
    relay = FutureRelay()
    toggled: list[tuple[str, bool]] = []
    acknowledged: list[str] = []
    snapshot = RulesSnapshot(
        [
            RuleStatus("pump1_wear", RuleState.ACTIVE, True, False, 2, 1_700_000_000.0, "", ""),
            RuleStatus("broken", RuleState.ERROR, True, False, 0, None, ERROR, ""),
            RuleStatus("held", RuleState.HELD, True, False, 0, None, "", "PUMP1.TEMP: comm failure"),
        ],
        [
            {"id": "e2", "ts": 1_700_000_100_000_000, "rule": "pump1_wear", "priority": "high",
             "message": "Pump 1 bearing wear suspected", "acked_by": None, "acked_ts": None, "dry_run": 0},
            {"id": "e1", "ts": 1_700_000_000_000_000, "rule": "pump1_wear", "priority": "high",
             "message": "earlier", "acked_by": "op", "acked_ts": 1_700_000_050_000_000, "dry_run": 0},
        ],
    )  # fmt: skip
    requests = RulesRequests(
        lambda: done(snapshot),
        lambda name, on: toggled.append((name, on)) or done(),
        lambda event: acknowledged.append(event) or done(),
    )
    view = RulesView(requests, relay)
    qtbot.addWidget(view)
    view.refresh()
    qtbot.waitUntil(lambda: view.refreshes == 1)
    assert view.rule_cell("pump1_wear", "State") == "active"
    assert view.rule_cell("pump1_wear", "Fired") == "2"
    assert view.rule_cell("broken", "Held by / last error") == ERROR
    assert view.rule_cell("held", "State") == "held"
    assert view.summary.text() == "1 not acknowledged"
    assert view.events.item(1, 3).text().startswith("op ")
    view.rules.item(1, 2).setCheckState(Qt.CheckState.Unchecked)  # the operator disables "broken"
    assert toggled == [("broken", False)]
    view.events.selectRow(0)
    view.acknowledge_selected()
    assert acknowledged == ["e2"]
    relay.close()
