"""Reset of a latched alarm and run-time limit edits, through the command path and the real access policy."""

from __future__ import annotations

from pathlib import Path

from no_runtime import NoRuntime

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind
from hmi.core.commands import AlarmAction, AlarmActionRequest, AuditStage, CommandPath, Origin, secured
from hmi.model import Sample
from hmi.project.config import AlarmDef
from hmi.security.policy import AccessPolicy
from hmi.security.users import UserStore

PASSWORD = "correct horse 42"


def policy_of(tmp_path: Path) -> AccessPolicy:
    store = UserStore(tmp_path / "machine" / "users.db")
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    store.add_user("ada", "administrator", PASSWORD)
    store.add_user("oli", "operator", PASSWORD)
    store.add_user("eve", "engineer", PASSWORD)
    policy = AccessPolicy(store.directory())
    policy.log_on("oli")
    policy.log_on("eve")
    return policy


def engine() -> AlarmEngine:
    alarms = {
        "TANK.HI": AlarmDef(name="TANK.HI", tag="TANK", type="hi", limit=80.0, latched=True),
        "TANK.LO": AlarmDef(name="TANK.LO", tag="TANK", type="lo", limit=20.0),
    }
    return AlarmEngine(alarms)


def request(action: AlarmAction, actor: str, limit: float | None = None) -> AlarmActionRequest:
    return AlarmActionRequest("TANK.HI", action, actor, Origin.SCREEN, "retuned after trial", limit=limit)


def test_an_operator_resets_a_latched_alarm_through_the_command_path(tmp_path: Path) -> None:
    alarms, audit = engine(), []
    path = CommandPath(NoRuntime(), alarms, policy=secured(policy_of(tmp_path)), audit=audit.append)
    alarms.on_sample("TANK", Sample.good(90.0))
    refused = path.alarm_action(request(AlarmAction.RESET, "oli"))
    assert not refused.ok and "still active" in (refused.error or "")
    alarms.acknowledge("TANK.HI", "oli")
    alarms.on_sample("TANK", Sample.good(50.0))
    assert alarms.statuses["TANK.HI"].state is AlarmState.LATCHED
    assert path.alarm_action(request(AlarmAction.RESET, "oli")).ok
    assert alarms.statuses["TANK.HI"].state is AlarmState.NORMAL
    assert audit[-1].stage is AuditStage.DONE


def test_only_an_engineer_edits_a_limit_and_the_journal_says_old_to_new(tmp_path: Path) -> None:
    alarms, events = engine(), []
    alarms.subscribe(lambda event, _status: events.append(event))
    path = CommandPath(NoRuntime(), alarms, policy=secured(policy_of(tmp_path)))
    refused = path.alarm_action(request(AlarmAction.EDIT_LIMIT, "oli", 85.0))
    assert not refused.ok and "lacks the permission edit_alarm_limits" in (refused.error or "")
    assert alarms.statuses["TANK.HI"].definition.limit == 80.0 and events == []
    assert path.alarm_action(request(AlarmAction.EDIT_LIMIT, "eve", 85.0)).ok
    edit = events[-1]
    assert (edit.kind, edit.user, edit.comment) == (
        EventKind.LIMIT_EDITED,
        "eve",
        "limit 80 -> 85; retuned after trial",
    )
    assert alarms.statuses["TANK.HI"].definition.limit == 85.0


def test_an_edit_limit_without_a_limit_or_below_the_lo_is_refused(tmp_path: Path) -> None:
    alarms = engine()
    path = CommandPath(NoRuntime(), alarms, policy=secured(policy_of(tmp_path)))
    missing = path.alarm_action(request(AlarmAction.EDIT_LIMIT, "eve"))
    assert not missing.ok and missing.error == "TANK.HI: give the new limit"
    crossing = path.alarm_action(request(AlarmAction.EDIT_LIMIT, "eve", 10.0))
    assert not crossing.ok and "must stay above TANK.LO's lo limit 20" in (crossing.error or "")


def test_a_new_limit_applies_to_the_current_value_at_once() -> None:
    alarms = engine()
    alarms.on_sample("TANK", Sample.good(75.0))
    assert alarms.edit_limit("TANK.HI", 70.0, "eve") is None
    assert alarms.statuses["TANK.HI"].state is AlarmState.UNACKED
