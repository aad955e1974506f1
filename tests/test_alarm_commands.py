"""Alarm actions through the command path: the policy first, the engine's rules after, every step audited."""

from __future__ import annotations

from typing import Any

from modbus_peer import wait_for
from no_runtime import NoRuntime

from hmi.alarms.engine import AlarmEngine, AlarmState
from hmi.core.commands import (
    ENGINEER_ACTIONS,
    AcknowledgeRequest,
    AlarmAction,
    AlarmActionRequest,
    AuditStage,
    CommandPath,
    Origin,
    Request,
)
from hmi.model import Sample
from hmi.project.config import AlarmDef


def engine_with_active_alarms() -> AlarmEngine:
    defs = {n: AlarmDef(name=n, tag="T", type="hi", limit=10.0, priority="high") for n in ("A", "B")}
    engine = AlarmEngine(defs, max_shelve={"high": 3600.0})
    engine.on_sample("T", Sample.good(20.0))
    return engine


def action(alarm: str, what: AlarmAction, actor: str = "op", reason: str = "why", seconds: float = 0) -> Any:
    return AlarmActionRequest(alarm, what, actor, Origin.SCREEN, reason, seconds)


def test_shelve_and_unshelve_are_carried_out_and_audited() -> None:
    engine, audit = engine_with_active_alarms(), []
    path = CommandPath(NoRuntime(), engine, audit=audit.append)
    result = path.alarm_action(action("A", AlarmAction.SHELVE, seconds=600))
    assert result.ok and engine.statuses["A"].state is AlarmState.SHELVED
    assert [r.stage for r in audit] == [AuditStage.SENDING, AuditStage.DONE]
    assert path.alarm_action(action("A", AlarmAction.UNSHELVE)).ok
    assert engine.statuses["A"].state is AlarmState.UNACKED


def test_the_engines_refusal_comes_back_as_the_error_and_is_audited_as_failed() -> None:
    engine, audit = engine_with_active_alarms(), []
    path = CommandPath(NoRuntime(), engine, audit=audit.append)
    result = path.alarm_action(action("A", AlarmAction.SHELVE, seconds=7200))
    assert not result.ok and result.error == "A: at most 1 h for a high alarm, not 2 h"
    assert audit[-1].stage is AuditStage.FAILED and engine.statuses["A"].state is AlarmState.UNACKED


def test_the_policy_is_the_one_place_that_refuses_an_operator_an_engineers_action() -> None:
    engine, audit = engine_with_active_alarms(), []

    def roles(request: Request) -> str | None:
        if isinstance(request, AlarmActionRequest) and request.action in ENGINEER_ACTIONS:
            return None if request.actor == "eng" else "out of service is an engineer's action"
        return None

    path = CommandPath(NoRuntime(), engine, policy=roles, audit=audit.append)
    refused = path.alarm_action(action("A", AlarmAction.OUT_OF_SERVICE, actor="op"))
    assert not refused.ok and refused.error == "A: out of service is an engineer's action"
    assert [r.stage for r in audit] == [AuditStage.REFUSED] and engine.statuses[
        "A"
    ].state is AlarmState.UNACKED
    assert path.alarm_action(action("A", AlarmAction.OUT_OF_SERVICE, actor="eng")).ok
    assert path.alarm_action(action("A", AlarmAction.IN_SERVICE, actor="eng")).ok
    assert path.alarm_action(action("A", AlarmAction.SHELVE, actor="op", seconds=60)).ok


def test_acknowledge_all_visible_with_a_comment() -> None:
    engine = engine_with_active_alarms()
    comments: list[str] = []
    engine.subscribe(lambda event, _status: comments.append(event.comment))
    path = CommandPath(NoRuntime(), engine)
    result = path.acknowledge(AcknowledgeRequest(None, "op", Origin.SCREEN, "seen", visible=("B",)))
    assert result.ok and result.written == 1
    assert engine.statuses["A"].state is AlarmState.UNACKED and engine.statuses["B"].state is AlarmState.ACKED
    assert comments == ["seen"]


async def test_a_shelving_runs_out_by_itself_on_the_loop() -> None:
    engine = engine_with_active_alarms()
    assert engine.shelve("A", 0.05, "a short test shelving", "op") is None
    status = engine.statuses["A"]
    assert status.state is AlarmState.SHELVED
    try:
        await wait_for(lambda: status.state is AlarmState.UNACKED, within=5)  # re-alarmed: still active
    finally:
        engine.close()
    assert status.shelved_until is None
