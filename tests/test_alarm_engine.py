import asyncio

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind
from hmi.model import Quality, Reason, Sample
from hmi.project.config import AlarmDef


def engine_with(**overrides):
    fields = dict(
        name="L.HI",
        tag="L",
        type="hi",
        limit=85.0,
        deadband=2.0,
        priority="high",
        message="level high ({value:.1f} %)",
    )
    definition = AlarmDef(**{**fields, **overrides})
    engine = AlarmEngine({definition.name: definition})
    events = []
    engine.subscribe(lambda event, status: events.append(event))
    return engine, events


def feed(engine, *values):
    for value in values:
        engine.on_sample("L", Sample.good(value))


async def test_hi_alarm_raises_above_limit_and_clears_only_past_the_deadband():
    engine, events = engine_with()
    feed(engine, 80, 86)
    status = engine.statuses["L.HI"]
    assert status.state is AlarmState.UNACKED
    assert status.message == "level high (86.0 %)"
    feed(engine, 84)  # inside the deadband: still active
    assert status.active
    feed(engine, 82.9)
    assert status.state is AlarmState.RETURNED_UNACKED
    assert [e.kind for e in events] == [EventKind.RAISED, EventKind.CLEARED]


async def test_acknowledge_follows_isa_18_2_states():
    engine, events = engine_with()
    feed(engine, 90)
    assert engine.acknowledge("L.HI", "alice")
    assert engine.statuses["L.HI"].state is AlarmState.ACKED
    assert not engine.acknowledge("L.HI")  # nothing left to acknowledge
    feed(engine, 50)
    assert engine.statuses["L.HI"].state is AlarmState.NORMAL
    assert engine.shown() == []
    assert events[1].kind is EventKind.ACKNOWLEDGED and events[1].user == "alice"


async def test_on_delay_suppresses_a_short_excursion():
    engine, events = engine_with(on_delay=0.2)
    feed(engine, 90, 70)
    await asyncio.sleep(0.3)
    assert events == []
    feed(engine, 90)
    await asyncio.sleep(0.3)
    assert engine.statuses["L.HI"].state is AlarmState.UNACKED
    engine.close()


async def test_bad_quality_flags_the_alarm_without_raising_or_clearing():
    engine, events = engine_with()
    feed(engine, 90)
    engine.on_sample("L", Sample.bad(Reason.COMM_FAILURE))
    status = engine.statuses["L.HI"]
    assert status.active and status.bad_quality
    engine.on_sample("L", Sample(95.0, Quality.UNCERTAIN, 0.0, Reason.STALE))
    assert status.active
    feed(engine, 91)
    assert not status.bad_quality
    assert [e.kind for e in events] == [EventKind.RAISED, EventKind.QUALITY_BAD, EventKind.QUALITY_GOOD]


async def test_lo_alarm_and_priority_order():
    lo = AlarmDef(name="L.LO", tag="L", type="lo", limit=10.0, deadband=1.0, priority="low")
    hi = AlarmDef(name="L.HIHI", tag="L", type="hihi", limit=5.0, priority="urgent")
    engine = AlarmEngine({lo.name: lo, hi.name: hi})
    feed(engine, 8)
    assert [s.name for s in engine.shown()] == ["L.HIHI", "L.LO"]
    feed(engine, 10.5)  # within the lo deadband
    assert engine.statuses["L.LO"].active
    feed(engine, 11.5)
    assert not engine.statuses["L.LO"].active
