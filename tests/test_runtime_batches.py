"""Batched fan-out and per-block freshness: a read is one call to each listener, a block one refresh time.

The driver is a scripted in-memory source (a real ``Driver`` subclass fed by the test): the rules here
do not depend on a protocol; the Modbus driver's blocks are covered against a real server below.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from drivers.base import Driver
from drivers.settings import ModbusSettings
from hmi.core.freshness import FreshnessTracker
from hmi.core.runtime import Feed, TagRuntime
from hmi.model import DataType, Quality, Reason, Sample, StalePolicy, TagDef
from hmi.project.config import ConnectionConfig, HistorySettings, Project

POLICY = StalePolicy(periods=3, minimum=1.0)


class ScriptedDriver(Driver):
    reports_every_scan = True

    async def _connect(self) -> None:
        pass

    async def _serve(self) -> None:
        await asyncio.Event().wait()

    async def _disconnect(self) -> None:
        pass

    async def write(self, tag: TagDef, value: object) -> None:
        raise NotImplementedError


def _project(tags: dict[str, TagDef], connection: ConnectionConfig) -> Project:
    return Project(
        name="batches",
        root=Path("."),
        connections={connection.name: connection},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


def _scripted(names: Sequence[str], slow: Sequence[str] = ()) -> tuple[TagRuntime, dict[str, ScriptedDriver]]:
    """A runtime over one scripted driver; tags in ``slow`` scan every second (stale after 3 s), the
    others every 100 ms (stale after the policy's minimum, 1 s)."""
    tags = {
        n: TagDef(n, "plc", f"hr:{i}", DataType.UINT16, scan_period=1.0 if n in slow else 0.1)
        for i, n in enumerate(names)
    }
    drivers: dict[str, ScriptedDriver] = {}

    def factory(config, tags, on_sample, on_status, stale=None):  # type: ignore[no-untyped-def]
        drivers[config.name] = ScriptedDriver(config.name, tags, on_sample, on_status)
        return drivers[config.name]

    project = _project(tags, ConnectionConfig("plc", "scripted", None))
    return TagRuntime(project, driver_factory=factory, stale=POLICY), drivers


async def test_a_read_reaches_each_batch_listener_once_and_per_sample_listeners_still_work() -> None:
    runtime, drivers = _scripted(["A", "B", "C"])
    batches: list[list[tuple[str, Sample]]] = []
    raw_batches: list[list[tuple[str, Sample]]] = []
    one_by_one: list[str] = []
    runtime.subscribe_batch(lambda batch: batches.append(list(batch)))
    runtime.subscribe_batch(lambda batch: raw_batches.append(list(batch)), Feed.RAW)
    runtime.subscribe(lambda name, _sample: one_by_one.append(name))
    runtime.subscribe_batch(lambda batch: 1 / 0)  # a broken consumer starves nobody
    await runtime.start()
    try:
        driver = drivers["plc"]
        batches.clear(), raw_batches.clear(), one_by_one.clear()
        now = time.time()
        driver.publish_batch(
            [("A", Sample.good(1, now)), ("B", Sample.good(2, now)), ("C", Sample.good(3, now))]
        )
        assert [[name for name, _ in batch] for batch in batches] == [["A", "B", "C"]]
        assert one_by_one == ["A", "B", "C"]
        driver.publish_batch([("A", Sample.good(1, now + 1)), ("B", Sample.good(5, now + 1))])
        assert [name for name, _ in batches[-1]] == ["B"], "the changes feed drops an unchanged value"
        assert [name for name, _ in raw_batches[-1]] == ["A", "B"], "the raw feed keeps every sample"
        assert runtime.values["B"].value == 5 and runtime.listener_errors >= 2
    finally:
        await runtime.stop()


async def test_a_block_that_is_no_longer_vouched_for_turns_stale_in_one_step_and_recovers() -> None:
    runtime, drivers = _scripted(["A", "B", "C"], slow=["C"])
    changes: list[list[tuple[str, Sample]]] = []
    runtime.subscribe_batch(lambda batch: changes.append(list(batch)))
    await runtime.start()
    try:
        driver = drivers["plc"]
        assert driver.on_refresh is not None
        block = ("A", "B")
        now = time.time()
        driver.publish_batch(
            [("A", Sample.good(1, now)), ("B", Sample.good(2, now)), ("C", Sample.good(3, now))]
        )
        driver.on_refresh(block)
        driver.on_refresh(("C",))
        start = time.monotonic()
        assert runtime.check_staleness(start + POLICY.minimum / 2) == 0
        changes.clear()
        later = start + POLICY.minimum + 0.1  # past A and B's limit, within C's
        assert runtime.check_staleness(later) == 2
        assert [sorted(name for name, _ in batch) for batch in changes] == [["A", "B"]], "one batch"
        assert runtime.values["A"].reason is Reason.STALE and runtime.values["A"].value == 1
        assert runtime.values["C"].is_good
        assert runtime.check_staleness(start + 3.2) == 1, "C, only now older than its limit"
        assert runtime.check_staleness(start + 4) == 0, "a stale block is reported once"
        changes.clear()
        driver.on_refresh(block)  # the block answers again with the same words: its tags are good again
        assert runtime.values["A"].is_good and runtime.values["B"].quality is Quality.GOOD
        assert [sorted(name for name, _ in batch) for batch in changes] == [["A", "B"]]
    finally:
        await runtime.stop()


def test_a_tick_with_every_block_fresh_looks_at_blocks_not_tags() -> None:
    looked: list[str] = []

    def limit_of(name: str) -> float:
        looked.append(name)
        return 3.0

    tracker = FreshnessTracker(limit_of, lambda _name: True)
    blocks = [tuple(f"T{b}_{i}" for i in range(100)) for b in range(100)]  # 10,000 tags
    for block in blocks:
        tracker.vouch(block, 0.0)
    looked.clear()
    for tick in range(1, 6):  # bounded: five ticks of a steady plant
        for block in blocks:
            tracker.vouch(block, float(tick))
        assert tracker.expired(tick + 0.5) == []
    assert looked == [], "no per-tag work while every block is fresh"


def test_a_tag_in_two_blocks_is_stale_only_when_both_are() -> None:
    tracker = FreshnessTracker(lambda _name: 3.0, lambda _name: True)
    whole, half = ("A", "B", "C", "D"), ("A", "B")  # a block split after a refusal: the halves go on
    tracker.vouch(whole, 0.0)
    tracker.vouch(half, 2.0)
    assert sorted(tracker.expired(4.0)) == ["C", "D"]
    assert sorted(tracker.expired(6.0)) == ["A", "B"]


def _modbus_project(port: int, count: int) -> Project:
    settings = ModbusSettings("127.0.0.1", port, unit=1, timeout=5.0)
    tags = {
        f"R{i}": TagDef(f"R{i}", "plc1", f"hr:{i}", DataType.UINT16, scan_period=0.1) for i in range(count)
    }
    return _project(tags, ConnectionConfig("plc1", "modbus", settings))


async def test_a_modbus_block_reaches_the_runtime_as_one_batch(free_port: Callable[[], int]) -> None:
    port = free_port()
    async with modbus_server(port, device(hr=list(range(100)))):
        runtime = TagRuntime(_modbus_project(port, 100), stale=POLICY)
        batches: list[int] = []
        runtime.subscribe_batch(lambda batch: batches.append(len(batch)), Feed.RAW)
        await runtime.start()
        try:
            await wait_for(lambda: all(runtime.values[f"R{i}"].is_good for i in range(100)))
            assert 100 in batches, "the first read of the block: one batch of all its tags"
            assert runtime.values["R42"].value == 42
            count = len(batches)
            await asyncio.sleep(0.35)  # a few scans of unchanged words: refreshes only, no samples
            assert len(batches) == count
            assert runtime.check_staleness(time.monotonic()) == 0
        finally:
            await runtime.stop()


async def test_the_changes_feed_of_a_batch_follows_the_deadband_rule_sample_by_sample() -> None:
    import random

    from hmi.core.runtime import _changed

    rng = random.Random(5)
    runtime, drivers = _scripted(["A"])
    tag = TagDef("A", "plc", "hr:0", DataType.FLOAT64, deadband=0.5, scan_period=0.1)
    runtime.tags["A"] = tag
    runtime.project.tags["A"] = tag
    seen: list[Sample] = []
    runtime.subscribe_batch(lambda batch: seen.extend(sample for _name, sample in batch))
    await runtime.start()
    try:
        expected: list[Sample] = []
        previous = runtime.values["A"]
        for _ in range(50):  # bounded: 50 batches of 1..5 samples
            batch = []
            for _ in range(rng.randint(1, 5)):
                if rng.random() < 0.15:
                    sample = Sample.bad(rng.choice([Reason.COMM_FAILURE, Reason.DEVICE_FAILURE]))
                else:
                    sample = Sample.good(rng.choice([1.0, 1.2, 1.6, 2.5, 2.5, float("nan")]))
                batch.append(("A", sample))
                if sample.value is None and previous.value is not None:
                    sample = Sample(previous.value, sample.quality, sample.ts, sample.reason)
                if _changed(tag, previous, sample):
                    expected.append(sample)
                    previous = sample
            drivers["plc"].publish_batch(batch)
        assert seen[-len(expected) :] == expected
    finally:
        await runtime.stop()


def test_samples_built_in_bulk_equal_those_built_one_by_one() -> None:
    import dataclasses

    import pytest

    values = [1, 2.5, "text", True, None]
    bulk = Sample.many_good(values, 7.0)
    assert bulk == [Sample.good(v, 7.0) for v in values]
    assert [hash(s) for s in bulk] == [hash(Sample.good(v, 7.0)) for v in values]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bulk[0].value = 2  # type: ignore[misc]
    assert Sample.many_good([], 1.0) == []
