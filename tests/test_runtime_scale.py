"""The runtime's work at plant scale: the stale watchdog's pass over whole blocks, and the start-up heap
left out of the garbage collector's view for large projects."""

from __future__ import annotations

import gc
from pathlib import Path

from drivers.settings import ModbusSettings
from hmi.core.freshness import FreshnessTracker
from hmi.core.heap import FREEZE_MIN_TAGS, freeze_start_up_heap
from hmi.core.runtime import TagRuntime
from hmi.model import DataType, Quality, Reason, Sample, StalePolicy, TagDef
from hmi.project.config import ConnectionConfig, HistorySettings, Project

LIMIT = 3.0


def tracker(watched: set[str] | None = None) -> FreshnessTracker:
    return FreshnessTracker(lambda _name: LIMIT, lambda name: watched is None or name in watched)


def test_a_tag_of_one_expired_block_is_stale_and_reported_once() -> None:
    fresh = tracker()
    fresh.vouch(("a", "b"), 0.0)
    fresh.vouch(("c",), 2.0)
    assert sorted(fresh.expired(LIMIT + 0.5)) == ["a", "b"]
    assert fresh.expired(LIMIT + 0.6) == [], "reported once until refreshed again"
    fresh.vouch(("a", "b"), 10.0)
    assert sorted(fresh.expired(10.0 + LIMIT + 0.1)) == ["a", "b", "c"], "c expired meanwhile"


def test_a_tag_in_two_blocks_stays_fresh_while_one_of_them_answers() -> None:
    fresh = tracker()
    fresh.vouch(("a", "b"), 0.0)
    fresh.vouch(("b", "c"), 2.0)  # b is read in both blocks (a split block, a read-back span)
    assert fresh.expired(LIMIT + 0.5) == ["a"]
    assert sorted(fresh.expired(2.0 + LIMIT + 0.5)) == ["b", "c"]


def test_a_tag_refreshed_on_its_own_stays_fresh_when_its_block_expires() -> None:
    fresh = tracker()
    fresh.vouch(("a", "b"), 0.0)
    fresh.touch("b", 2.0)
    assert fresh.expired(LIMIT + 0.5) == ["a"]
    assert fresh.expired(2.0 + LIMIT + 0.5) == ["b"]


def test_an_unwatched_tag_of_a_block_is_looked_at_one_by_one_as_before() -> None:
    fresh = tracker(watched={"a"})
    fresh.vouch(("a", "x"), 0.0)
    fresh.touch("x", 2.0)
    assert fresh.expired(LIMIT + 0.5) == ["a"], "x has its own fresh refresh"


def _project(count: int) -> Project:
    tags = {
        f"T{i}": TagDef(f"T{i}", "plc", f"hr:{i}", DataType.UINT16, scan_period=1.0) for i in range(count)
    }
    return Project(
        name="scale",
        root=Path("."),
        connections={"plc": ConnectionConfig("plc", "modbus", ModbusSettings("127.0.0.1", 1))},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


def test_the_watchdog_flags_every_tag_of_expired_blocks_keeping_value_and_source_time() -> None:
    runtime = TagRuntime(_project(2_000), stale=StalePolicy(periods=3, minimum=1.0))
    names = tuple(runtime.project.tags)
    runtime._polled.update(names)
    fed: list[list[tuple[str, Sample]]] = []
    runtime.subscribe_batch(lambda batch: fed.append(list(batch)))
    good = [(name, Sample.good(i, ts=1000.0 + i)) for i, name in enumerate(names)]
    runtime._on_samples(good)
    for first in range(0, len(names), 100):  # blocks of 100 tags, each read at t = 0
        runtime._fresh.vouch(names[first : first + 100], 0.0)
    fed.clear()
    assert runtime.check_staleness(100.0) == len(names)
    (flags,) = fed
    expected = {name: sample.with_quality(Quality.UNCERTAIN, Reason.STALE) for name, sample in good}
    assert dict(flags) == expected
    assert all(runtime.values[name] == expected[name] for name in names)
    assert runtime.check_staleness(101.0) == 0, "a stale tag is flagged once"
    # A read of a block vouches for its tags again: good at a new time, the others stay stale.
    fed.clear()
    runtime._on_driver_refresh(names[:100])
    (recovered,) = fed
    assert sorted(name for name, _ in recovered) == sorted(names[:100])
    assert all(s.quality is Quality.GOOD and s.value == expected[n].value for n, s in recovered)


def test_a_small_project_leaves_the_collector_alone() -> None:
    before = gc.get_freeze_count()
    assert not freeze_start_up_heap(FREEZE_MIN_TAGS - 1)
    assert gc.get_freeze_count() == before


def test_a_large_project_freezes_what_start_up_built() -> None:
    built = [[n] for n in range(1000)]  # objects the collector tracks
    try:
        assert freeze_start_up_heap(FREEZE_MIN_TAGS)
        assert gc.get_freeze_count() >= len(built)
    finally:
        gc.unfreeze()  # the rest of the test run keeps the default
