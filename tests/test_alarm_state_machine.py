"""Every transition of the ISA-18.2 state machine, table-driven, on a loop whose clock the test moves.

The engine's delays run on ``loop.call_later``; the loop here reads its time from the same
controllable clock as the engine, so an on-delay or a shelving ends exactly when the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hmi.alarms.engine import AlarmEngine, AlarmEvent, AlarmState, EventKind
from hmi.model import Reason, Sample
from hmi.project.config import AlarmDef

S = AlarmState


class ManualLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when the test moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


class Plant:
    """Alarm ``A`` on tag ``T`` (hi 50 unless a scenario says), parent ``P`` on ``PT``, and its steps."""

    def __init__(self, loop: ManualLoop, **overrides: Any) -> None:
        self.loop = loop
        fields: dict[str, Any] = {"name": "A", "tag": "T", "type": "hi", "limit": 50.0, "priority": "high"}
        fields.update(overrides)
        alarms = {
            "A": AlarmDef(**fields),
            "P": AlarmDef(name="P", tag="PT", type="hi", limit=50.0, priority="urgent"),
        }
        self.engine = AlarmEngine(alarms, clock=loop.time)
        self.events: list[AlarmEvent] = []
        self.engine.subscribe(
            lambda event, _status: self.events.append(event) if event.alarm == "A" else None
        )

    def sample(self, tag: str, value: Any) -> None:
        self.engine.on_sample(tag, Sample.good(value, ts=self.loop.now))

    def step(self, step: str) -> object:
        """One step: a value, an operator action, or time passing; run on the loop, as the runtime does."""

        async def run() -> object:
            return self._do(step)

        return self.loop.run_until_complete(run())

    def _do(self, step: str) -> object:
        verb, _, argument = step.partition(" ")
        engine = self.engine
        actions: dict[str, Callable[[], object]] = {
            "ack": lambda: engine.acknowledge("A", "op", argument),
            "shelve": lambda: engine.shelve("A", float(argument), "chattering transmitter", "op"),
            "unshelve": lambda: engine.unshelve("A", "op"),
            "oos": lambda: engine.remove_from_service("A", "transmitter replaced", "eng"),
            "in_service": lambda: engine.return_to_service("A", "eng"),
            "reset": lambda: engine.reset("A", "op"),
            "edit": lambda: engine.edit_limit("A", float(argument), "eng", "retuned"),
        }
        if verb in actions:
            return actions[verb]()
        if verb == "value":
            self.sample("T", True if argument == "true" else float(argument))
        elif verb == "bad":
            engine.on_sample("T", Sample.bad(Reason.COMM_FAILURE, ts=self.loop.now))
        elif verb == "suppress":
            if argument == "bad":
                engine.on_sample("S", Sample.bad(Reason.COMM_FAILURE, ts=self.loop.now))
            else:
                self.sample("S", argument == "on")
        elif verb == "parent":
            self.sample("PT", float(argument))
        elif verb == "sp":
            self.sample("SP", float(argument))
        elif verb == "wait":
            self.loop.now += float(argument)
            engine.expire_shelving()
        else:
            raise AssertionError(step)
        return None

    def settle(self) -> None:
        """Let timers that are due by now fire."""
        for _ in range(3):
            self.loop.run_until_complete(asyncio.sleep(0))


@pytest.fixture
def loop() -> Iterator[ManualLoop]:
    manual = ManualLoop()
    yield manual
    manual.close()


LATCHED = {"latched": True}
SUPPRESS_TAG = {"suppress_when": "S"}
SUPPRESS_PARENT = {"suppress_by": "P"}
RELEASED_LATER = {"suppress_by": "P", "suppress_release": 3.0}

SCENARIOS: dict[str, tuple[dict[str, Any], list[str], AlarmState]] = {
    # raise, acknowledge, return
    "raise": ({}, ["value 60"], S.UNACKED),
    "raise, ack": ({}, ["value 60", "ack"], S.ACKED),
    "return unacknowledged": ({}, ["value 60", "value 40"], S.RETURNED_UNACKED),
    "return unacknowledged, ack": ({}, ["value 60", "value 40", "ack"], S.NORMAL),
    "ack, return": ({}, ["value 60", "ack", "value 40"], S.NORMAL),
    "returned, raised again": ({}, ["value 60", "value 40", "value 61"], S.UNACKED),
    "deadband holds": ({"deadband": 5.0}, ["value 60", "value 46"], S.UNACKED),
    "deadband passed": ({"deadband": 5.0}, ["value 60", "value 44"], S.RETURNED_UNACKED),
    # latched
    "latched: ack, return stays latched": (LATCHED, ["value 60", "ack", "value 40"], S.LATCHED),
    "latched: reset": (LATCHED, ["value 60", "ack", "value 40", "reset"], S.NORMAL),
    "latched: return unacknowledged stays unacknowledged": (LATCHED, ["value 60", "value 40"], S.UNACKED),
    "latched: returned, ack": (LATCHED, ["value 60", "value 40", "ack"], S.LATCHED),
    "latched: returned, ack, reset": (LATCHED, ["value 60", "value 40", "ack", "reset"], S.NORMAL),
    "latched: raised again before reset": (LATCHED, ["value 60", "ack", "value 40", "value 70"], S.UNACKED),
    # shelving
    "shelve while active": ({}, ["value 60", "shelve 600"], S.SHELVED),
    "unshelve after return": ({}, ["value 60", "shelve 600", "value 40", "unshelve"], S.NORMAL),
    "unshelve while active re-alarms": ({}, ["value 60", "ack", "shelve 600", "unshelve"], S.UNACKED),
    "shelve expiry, still active": ({}, ["value 60", "shelve 600", "wait 600"], S.UNACKED),
    "shelve expiry after return": ({}, ["value 60", "shelve 600", "value 40", "wait 600"], S.NORMAL),
    "shelve, not yet expired": ({}, ["value 60", "shelve 600", "wait 599"], S.SHELVED),
    # suppression by design: a tag
    "suppression on while active": (SUPPRESS_TAG, ["value 60", "suppress on"], S.SUPPRESSED),
    "suppression off, still active, announces": (
        SUPPRESS_TAG,
        ["value 60", "suppress on", "suppress off"],
        S.UNACKED,
    ),
    "raised while suppressed": (SUPPRESS_TAG, ["suppress on", "value 60"], S.SUPPRESSED),
    "suppression off after return": (
        SUPPRESS_TAG,
        ["suppress on", "value 60", "value 40", "suppress off"],
        S.NORMAL,
    ),
    "a bad suppressing tag does not suppress": (SUPPRESS_TAG, ["suppress bad", "value 60"], S.UNACKED),
    "suppressed while shelved: shelving wins": (SUPPRESS_TAG, ["shelve 600", "suppress on"], S.SHELVED),
    "shelving ends into suppression": (
        SUPPRESS_TAG,
        ["value 60", "shelve 600", "suppress on", "wait 600"],
        S.SUPPRESSED,
    ),
    "back in service into suppression": (
        SUPPRESS_TAG,
        ["suppress on", "oos", "in_service"],
        S.SUPPRESSED,
    ),
    # suppression by design: a parent alarm
    "parent active suppresses the child": (SUPPRESS_PARENT, ["parent 60", "value 60"], S.SUPPRESSED),
    "parent raised after the child": (SUPPRESS_PARENT, ["value 60", "parent 60"], S.SUPPRESSED),
    "parent returns, child still active": (
        SUPPRESS_PARENT,
        ["parent 60", "value 60", "parent 40"],
        S.UNACKED,
    ),
    # ... released some time after the parent returns: a consequence still clearing is not announced
    "parent returns, child held for its release": (
        RELEASED_LATER,
        ["parent 60", "value 60", "parent 40", "wait 2.9"],
        S.SUPPRESSED,
    ),
    "child returns within the release: nothing announced": (
        RELEASED_LATER,
        ["parent 60", "value 60", "parent 40", "wait 1", "value 40", "wait 3"],
        S.NORMAL,
    ),
    "child still active after the release: announced": (
        RELEASED_LATER,
        ["parent 60", "value 60", "parent 40", "wait 3"],
        S.UNACKED,
    ),
    "parent back within the release: still suppressed after it": (
        RELEASED_LATER,
        ["parent 60", "value 60", "parent 40", "wait 2", "parent 60", "wait 3"],
        S.SUPPRESSED,
    ),
    "parent back and gone again: a new release time": (
        RELEASED_LATER,
        ["parent 60", "value 60", "parent 40", "wait 2", "parent 60", "parent 40", "wait 2"],
        S.SUPPRESSED,
    ),
    # out of service
    "out of service while active": ({}, ["value 60", "oos"], S.OUT_OF_SERVICE),
    "out of service hides raises": ({}, ["oos", "value 60"], S.OUT_OF_SERVICE),
    "back in service, still active": ({}, ["oos", "value 60", "in_service"], S.UNACKED),
    "back in service, normal": ({}, ["value 60", "oos", "value 40", "in_service"], S.NORMAL),
    "out of service overrides shelving": ({}, ["shelve 600", "oos", "wait 601"], S.OUT_OF_SERVICE),
    # bad quality
    "bad quality keeps the state": ({}, ["value 60", "bad"], S.UNACKED),
    "bad quality alarm raised": ({"type": "bad_quality"}, ["value 1", "bad"], S.UNACKED),
    "bad quality alarm returns": ({"type": "bad_quality"}, ["bad", "value 1"], S.RETURNED_UNACKED),
    # delays
    "on-delay not yet over": ({"on_delay": 5.0}, ["value 60", "wait 4"], S.NORMAL),
    "on-delay over": ({"on_delay": 5.0}, ["value 60", "wait 5"], S.UNACKED),
    "short excursion inside the on-delay": (
        {"on_delay": 5.0},
        ["value 60", "wait 3", "value 40", "wait 5"],
        S.NORMAL,
    ),
    "bad quality restarts the on-delay": (
        {"on_delay": 5.0},
        ["value 60", "wait 3", "bad", "value 60", "wait 5"],
        S.UNACKED,
    ),
    "off-delay not yet over": ({"off_delay": 5.0}, ["value 60", "ack", "value 40", "wait 4"], S.ACKED),
    "off-delay over": ({"off_delay": 5.0}, ["value 60", "ack", "value 40", "wait 5"], S.NORMAL),
    # the other alarm types
    "deviation above": (
        {"type": "deviation", "setpoint": "SP", "limit": 5.0},
        ["sp 50", "value 56"],
        S.UNACKED,
    ),
    "deviation within": (
        {"type": "deviation", "setpoint": "SP", "limit": 5.0},
        ["sp 50", "value 54"],
        S.NORMAL,
    ),
    "deviation without a setpoint yet": (
        {"type": "deviation", "setpoint": "SP", "limit": 5.0},
        ["value 99"],
        S.NORMAL,
    ),
    "deviation: the setpoint follows": (
        {"type": "deviation", "setpoint": "SP", "limit": 5.0},
        ["sp 50", "value 56", "sp 55"],
        S.RETURNED_UNACKED,
    ),
    "rate of change slow": ({"type": "roc", "limit": 2.0}, ["value 0", "wait 1", "value 1.5"], S.NORMAL),
    "rate of change fast": ({"type": "roc", "limit": 2.0}, ["value 0", "wait 1", "value 5"], S.UNACKED),
    "rate of change settles": (
        {"type": "roc", "limit": 2.0},
        ["value 0", "wait 1", "value 5", "wait 1", "value 5", "wait 1", "value 5"],
        S.RETURNED_UNACKED,
    ),
    "discrete off-normal": ({"type": "discrete", "normal": 0.0}, ["value true"], S.UNACKED),
    "discrete back to normal": (
        {"type": "discrete", "normal": 0.0},
        ["value 1", "value 0"],
        S.RETURNED_UNACKED,
    ),
    "journal-only: logged, never announced": ({"priority": "journal"}, ["value 60"], S.ACKED),
    "journal-only: return": ({"priority": "journal"}, ["value 60", "value 40"], S.NORMAL),
    # run-time limit edits
    "limit raised above the value": ({}, ["value 55", "edit 60"], S.RETURNED_UNACKED),
    "limit lowered below the value": ({}, ["value 45", "edit 40"], S.UNACKED),
}


@pytest.mark.parametrize("overrides, steps, final", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_every_transition(
    loop: ManualLoop, overrides: dict[str, Any], steps: list[str], final: AlarmState
) -> None:
    plant = Plant(loop, **overrides)
    try:
        for step in steps:
            assert plant.step(step) in (None, True), step
            plant.settle()
        assert plant.engine.statuses["A"].state is final
        # Every event that changed the state says where it came from: the journal's from -> to.
        previous = S.NORMAL
        for event in plant.events:
            if event.from_state is not None:
                assert event.from_state is previous, (event.kind, event.from_state, previous)
            previous = event.state
        raises = [e for e in plant.events if e.kind is EventKind.RAISED]
        assert len(raises) <= sum(step.startswith(("value", "bad", "sp", "edit")) for step in steps)
    finally:
        plant.engine.close()


REFUSALS = {
    "reset when not latched": ({}, ["value 60", "ack", "value 40"], "reset", "not latched"),
    "reset while still active": (LATCHED, ["value 60", "ack"], "reset", "still active"),
    "reset before the acknowledgement": (LATCHED, ["value 60", "value 40"], "reset", "acknowledge it before"),
    "edit the limit of a discrete alarm": ({"type": "discrete"}, [], "edit 3", "has no limit to edit"),
    "edit a rate limit to zero": ({"type": "roc", "limit": 2.0}, [], "edit 0", "must be positive"),
}


@pytest.mark.parametrize("overrides, before, step, why", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_actions_say_why_and_change_nothing(
    loop: ManualLoop, overrides: dict[str, Any], before: list[str], step: str, why: str
) -> None:
    plant = Plant(loop, **overrides)
    for earlier in before:
        plant.step(earlier)
    state, count = plant.engine.statuses["A"].state, len(plant.events)
    refusal = plant.step(step)
    assert isinstance(refusal, str) and why in refusal, refusal
    assert plant.engine.statuses["A"].state is state and len(plant.events) == count
    plant.engine.close()


def test_suppressed_alarms_are_journalled_but_not_shown(loop: ManualLoop) -> None:
    plant = Plant(loop, **SUPPRESS_TAG)
    for step in ("suppress on", "value 60", "value 40", "value 60"):
        plant.step(step)
    assert [e.kind for e in plant.events] == [
        EventKind.SUPPRESSED,
        EventKind.RAISED,
        EventKind.CLEARED,
        EventKind.RAISED,
    ]
    assert plant.engine.shown() == [] and [s.name for s in plant.engine.set_aside()] == ["A"]
    plant.step("suppress off")
    assert [s.name for s in plant.engine.shown()] == ["A"]
    assert plant.events[-1].kind is EventKind.UNSUPPRESSED and plant.events[-1].state is S.UNACKED


def test_a_limit_edit_is_journalled_old_to_new_with_who_and_why(loop: ManualLoop) -> None:
    plant = Plant(loop)
    assert plant.step("edit 65") is None
    event = plant.events[-1]
    assert event.kind is EventKind.LIMIT_EDITED and event.user == "eng"
    assert event.comment == "limit 50 -> 65; retuned" and "50 -> 65" in event.message
    assert plant.engine.statuses["A"].definition.limit == 65.0


def test_a_limit_edit_keeps_hi_above_lo_on_the_same_tag() -> None:
    alarms = {
        "T.HI": AlarmDef(name="T.HI", tag="T", type="hi", limit=80.0),
        "T.LO": AlarmDef(name="T.LO", tag="T", type="lo", limit=20.0),
    }
    engine = AlarmEngine(alarms)
    refusal = engine.edit_limit("T.HI", 20.0, "eng")
    assert refusal is not None and "must stay above T.LO's lo limit 20" in refusal
    assert engine.edit_limit("T.LO", 85.0, "eng") is not None
    assert engine.statuses["T.HI"].definition.limit == 80.0
    assert engine.edit_limit("T.HI", 70.0, "eng") is None


def test_a_journal_only_alarm_is_never_shown(loop: ManualLoop) -> None:
    plant = Plant(loop, priority="journal")
    plant.step("value 60")
    assert plant.engine.shown() == [] and plant.events[-1].kind is EventKind.RAISED


def test_a_start_or_a_stop_of_the_suppressing_tag_keeps_the_suppression(loop: ManualLoop) -> None:
    plant = Plant(loop, **SUPPRESS_TAG)
    plant.step("suppress on")
    plant.step("value 60")
    for reason in (Reason.NOT_CONNECTED, Reason.WAITING):
        plant.engine.on_sample("S", Sample.bad(reason, ts=loop.now))
        assert plant.engine.statuses["A"].state is S.SUPPRESSED
    plant.step("suppress bad")  # a real fault of the suppressing tag: the alarm is announced
    assert plant.engine.statuses["A"].state is S.UNACKED


def test_latched_and_suppressed_alarms_are_counted_and_ordered() -> None:
    from hmi.alarms.ordering import counts, operator_order

    plant_loop = ManualLoop()
    try:
        latched = Plant(plant_loop, **LATCHED)
        for step in ("value 60", "ack", "value 40"):
            latched.step(step)
        suppressed = Plant(plant_loop, **SUPPRESS_TAG)
        suppressed.step("suppress on")
        rows = [latched.engine.statuses["A"], suppressed.engine.statuses["A"]]
        tally = counts(rows)
        assert tally["latched"] == {"high": 1} and tally["suppressed"] == {"high": 1}
        fresh = Plant(plant_loop)
        fresh.step("value 60")
        assert [r.state for r in operator_order([rows[0], fresh.engine.statuses["A"]])] == [
            S.UNACKED,
            S.LATCHED,
        ]
    finally:
        plant_loop.close()


def test_a_restored_suppression_ends_on_the_first_false_value_and_announces(loop: ManualLoop) -> None:
    plant = Plant(loop, **SUPPRESS_TAG)
    assert plant.engine.restore_state("A", S.SUPPRESSED, True, loop.now - 60, 70.0, "A hi")
    plant.step("value 70")
    assert plant.engine.statuses["A"].state is S.SUPPRESSED and not plant.events, "not raised again"
    plant.step("suppress off")
    assert plant.engine.statuses["A"].state is S.UNACKED
    assert [e.kind for e in plant.events] == [EventKind.UNSUPPRESSED]
