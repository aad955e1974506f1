"""The ISA-18.2 state machine, table-driven, with a controllable clock (no sleeps)."""

from __future__ import annotations

import pytest

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind
from hmi.alarms.ordering import banner_alarm, counts, operator_order
from hmi.model import Reason, Sample
from hmi.project.config import AlarmDef

S = AlarmState


class Clock:
    """Wall time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make(priority: str = "high", **limits: float) -> tuple[AlarmEngine, Clock, list]:
    clock = Clock()
    definition = AlarmDef(name="A", tag="T", type="hi", limit=50.0, priority=priority)
    engine = AlarmEngine({"A": definition}, clock=clock, max_shelve=limits or None)
    events: list = []
    engine.subscribe(lambda event, _status: events.append(event))
    return engine, clock, events


def act(engine: AlarmEngine, clock: Clock, step: str) -> object:
    """One step of a scenario: a value, an operator action, or time passing."""
    verb, _, argument = step.partition(" ")
    if verb == "value":
        engine.on_sample("T", Sample.good(float(argument)))
    elif verb == "bad":
        engine.on_sample("T", Sample.bad(Reason.COMM_FAILURE))
    elif verb == "ack":
        return engine.acknowledge("A", "op", argument)
    elif verb == "shelve":
        return engine.shelve("A", float(argument), "chattering transmitter", "op")
    elif verb == "unshelve":
        return engine.unshelve("A", "op")
    elif verb == "oos":
        return engine.remove_from_service("A", "transmitter replaced", "eng")
    elif verb == "in_service":
        return engine.return_to_service("A", "eng")
    elif verb == "wait":
        clock.now += float(argument)
        engine.expire_shelving()
    else:
        raise AssertionError(step)
    return None


SCENARIOS = {
    "raise": (["value 60"], S.UNACKED),
    "raise, ack": (["value 60", "ack"], S.ACKED),
    "raise, return": (["value 60", "value 40"], S.RETURNED_UNACKED),
    "raise, return, ack": (["value 60", "value 40", "ack"], S.NORMAL),
    "raise, ack, return": (["value 60", "ack", "value 40"], S.NORMAL),
    "returned, raised again": (["value 60", "value 40", "value 61"], S.UNACKED),
    "shelve while active": (["value 60", "shelve 600"], S.SHELVED),
    "shelve while normal": (["shelve 600"], S.SHELVED),
    "shelved: raise and clear stay shelved": (["shelve 600", "value 60", "value 40"], S.SHELVED),
    "unshelve after return to normal": (["value 60", "shelve 600", "value 40", "unshelve"], S.NORMAL),
    "unshelve while still active re-alarms": (["value 60", "ack", "shelve 600", "unshelve"], S.UNACKED),
    "shelve expiry with the alarm still active": (["value 60", "shelve 600", "wait 600"], S.UNACKED),
    "shelve expiry after return": (["value 60", "shelve 600", "value 40", "wait 601"], S.NORMAL),
    "not yet expired": (["value 60", "shelve 600", "wait 599"], S.SHELVED),
    "raised while shelved, announced at expiry": (["shelve 60", "value 60", "wait 60"], S.UNACKED),
    "out of service while active": (["value 60", "oos"], S.OUT_OF_SERVICE),
    "out of service hides raises": (["oos", "value 60"], S.OUT_OF_SERVICE),
    "back in service, still active": (["oos", "value 60", "in_service"], S.UNACKED),
    "back in service, normal": (["value 60", "oos", "value 40", "in_service"], S.NORMAL),
    "out of service overrides shelving": (["shelve 600", "oos", "wait 601"], S.OUT_OF_SERVICE),
    "bad quality keeps the state": (["value 60", "bad"], S.UNACKED),
    "bad quality while shelved": (["value 60", "shelve 600", "bad", "wait 600"], S.UNACKED),
}


@pytest.mark.parametrize("steps, final", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_state_machine(steps: list[str], final: AlarmState) -> None:
    engine, clock, events = make()
    for step in steps:
        assert act(engine, clock, step) in (None, True), step
    assert engine.statuses["A"].state is final
    # Every event that changed the state says where it came from: the journal's from -> to.
    previous = S.NORMAL
    for event in events:
        if event.from_state is not None:
            assert event.from_state is previous, (event.kind, event.from_state, previous)
        previous = event.state


REFUSALS = {
    "unshelve when not shelved": (["value 60"], "unshelve", "not shelved"),
    "shelve past the priority's maximum": ([], "shelve 14401", "at most 4 h for a high alarm"),
    "shelve for no time": ([], "shelve 0", "must be positive"),
    "shelve out of service": (["oos"], "shelve 60", "return it to service"),
    "out of service twice": (["oos"], "oos", "already out of service"),
    "return to service when in service": ([], "in_service", "not out of service"),
}


@pytest.mark.parametrize("before, step, why", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_actions_say_why_and_change_nothing(before: list[str], step: str, why: str) -> None:
    engine, clock, events = make()
    for earlier in before:
        act(engine, clock, earlier)
    state, count = engine.statuses["A"].state, len(events)
    refusal = act(engine, clock, step)
    assert isinstance(refusal, str) and why in refusal and refusal.startswith("A: ")
    assert engine.statuses["A"].state is state and len(events) == count


def test_shelving_needs_a_reason_and_a_priority_with_a_limit() -> None:
    engine, _clock, _events = make(priority="urgent", high=3600.0)
    assert "reason" in (engine.shelve("A", 60, "  ", "op") or "")
    assert "urgent alarms may not be shelved" in (engine.shelve("A", 60, "why", "op") or "")


def test_shelve_event_records_who_why_and_until_when() -> None:
    engine, clock, events = make()
    act(engine, clock, "value 60")
    assert engine.shelve("A", 1800, "instrument fault", "alice") is None
    status = engine.statuses["A"]
    assert status.shelved_until == clock.now + 1800 and status.set_aside_by == "alice"
    shelved = events[-1]
    assert (shelved.kind, shelved.from_state, shelved.state) == (EventKind.SHELVED, S.UNACKED, S.SHELVED)
    assert (shelved.user, shelved.comment, shelved.ts) == ("alice", "instrument fault", clock.now)
    assert "30 min" in shelved.message
    assert engine.shown() == [] and [s.name for s in engine.set_aside()] == ["A"]
    clock.now += 1800
    assert engine.expire_shelving() == 1
    back = events[-1]
    assert (back.kind, back.from_state, back.state) == (EventKind.UNSHELVED, S.SHELVED, S.UNACKED)
    assert status.raised_at == clock.now  # re-alarmed: it is new to the operator


def test_acknowledge_with_a_comment_and_acknowledge_only_the_visible_ones() -> None:
    clock = Clock()
    defs = {n: AlarmDef(name=n, tag="T", type="hi", limit=50.0 + i) for i, n in enumerate(("A", "B", "C"))}
    engine = AlarmEngine(defs, clock=clock)
    events: list = []
    engine.subscribe(lambda event, _status: events.append(event))
    engine.on_sample("T", Sample.good(60.0))
    assert engine.acknowledge_all("op", "seen, calling maintenance", names=["A", "C"]) == 2
    assert [engine.statuses[n].state for n in "ABC"] == [S.ACKED, S.UNACKED, S.ACKED]
    assert {e.comment for e in events if e.kind is EventKind.ACKNOWLEDGED} == {"seen, calling maintenance"}


def status_of(name: str, state: AlarmState, priority: str, raised_at: float):
    from hmi.alarms.engine import AlarmStatus

    definition = AlarmDef(name=name, tag="T", type="hi", limit=1.0, priority=priority)
    return AlarmStatus(definition, state=state, raised_at=raised_at)


def test_the_banner_never_puts_a_returned_or_acknowledged_alarm_above_an_active_unacknowledged_one() -> None:
    rows = [
        status_of("URGENT.RETURNED", S.RETURNED_UNACKED, "urgent", 30.0),
        status_of("URGENT.ACKED", S.ACKED, "urgent", 40.0),
        status_of("LOW.ACTIVE.OLD", S.UNACKED, "low", 10.0),
        status_of("LOW.ACTIVE.NEW", S.UNACKED, "low", 20.0),
        status_of("HIGH.ACTIVE", S.UNACKED, "high", 5.0),
        status_of("URGENT.SHELVED", S.SHELVED, "urgent", 50.0),
        status_of("LOW.RETURNED", S.RETURNED_UNACKED, "low", 60.0),
    ]
    assert [s.name for s in operator_order(r for r in rows if r.shown)] == [
        "HIGH.ACTIVE",
        "LOW.ACTIVE.NEW",
        "LOW.ACTIVE.OLD",
        "URGENT.RETURNED",
        "LOW.RETURNED",
        "URGENT.ACKED",
    ]
    top = banner_alarm(rows)
    assert top is not None and top.name == "HIGH.ACTIVE"
    tally = counts(rows)
    assert tally["unacked"] == {"low": 2, "high": 1} and tally["shelved"] == {"urgent": 1}
