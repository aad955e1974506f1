"""The Modbus poll plan, the scan deadlines and the priority lock, without a server."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.modbus_address import Table
from drivers.modbus_lock import POLL, WRITE, PriorityLock
from drivers.modbus_plan import (
    MAX_READ_BITS,
    MAX_READ_REGISTERS,
    ModbusPollPlan,
    ReadBlock,
    read_limit,
    split_block,
)
from drivers.modbus_schedule import DeadlineSchedule
from drivers.settings import ModbusTagLink
from drivers.tasks import cancel_and_wait
from hmi.model import DataType, TagDef


def tag(name: str, address: str, data_type: DataType = DataType.UINT16, period: float = 1.0, **kw) -> TagDef:
    link = ModbusTagLink(**{key: kw.pop(key) for key in ("byte_order", "unit", "verify") if key in kw})
    return TagDef(name, "plc", address, data_type, scan_period=period, link=link, **kw)


def spans(plan: ModbusPollPlan) -> list[tuple[float, str, int, int]]:
    return [(g.period, b.table.value, b.start, b.count) for g in plan.groups for b in g.blocks]


def test_neighbours_within_the_gap_share_one_read() -> None:
    plan = ModbusPollPlan.build(
        [tag("a", "hr:0", DataType.FLOAT32), tag("b", "hr:2"), tag("c", "hr:10"), tag("d", "hr:30")],
        max_gap=8,
    )
    assert spans(plan) == [(1.0, "hr", 0, 11), (1.0, "hr", 30, 1)]
    assert [p.tag.name for p in plan.groups[0].blocks[0].tags] == ["a", "b", "c"]


def test_gap_zero_joins_only_adjacent_registers() -> None:
    plan = ModbusPollPlan.build([tag("a", "hr:0"), tag("b", "hr:1"), tag("c", "hr:3")], max_gap=0)
    assert spans(plan) == [(1.0, "hr", 0, 2), (1.0, "hr", 3, 1)]


def test_groups_split_by_period_and_table() -> None:
    plan = ModbusPollPlan.build(
        [
            tag("fast", "hr:0", period=0.1),
            tag("slow", "hr:1", period=10),
            tag("coil", "co:0", DataType.BOOL, period=0.1),
            tag("input", "ir:1", period=0.1),
            tag("di", "di:5", DataType.BOOL, period=0.1),
        ],
        max_gap=8,
    )
    assert [g.period for g in plan.groups] == [0.1, 10]
    assert {(b.table, b.start) for b in plan.groups[0].blocks} == {
        (Table.HOLDING_REGISTER, 0),
        (Table.COIL, 0),
        (Table.INPUT_REGISTER, 1),
        (Table.DISCRETE_INPUT, 5),
    }
    assert plan.block_count == 5


def test_overlapping_tags_and_bits_of_one_register_are_read_once() -> None:
    plan = ModbusPollPlan.build(
        [
            tag("word", "hr:5"),
            tag("bit0", "hr:5.0", DataType.BOOL),
            tag("bit15", "hr:5.15", DataType.BOOL),
            tag("float", "hr:4", DataType.FLOAT32),
        ],
        max_gap=0,
    )
    assert spans(plan) == [(1.0, "hr", 4, 2)]


def test_blocks_respect_the_register_limit() -> None:
    tags = [tag(f"t{i}", f"hr:{i * 4}", DataType.FLOAT64) for i in range(100)]  # 400 registers, no gaps
    plan = ModbusPollPlan.build(tags, max_gap=8)
    counts = [b.count for b in plan.groups[0].blocks]
    assert max(counts) <= MAX_READ_REGISTERS
    assert sum(counts) == 400
    assert len(counts) == 4


def test_bit_gaps_count_sixteen_bits_per_register() -> None:
    plan = ModbusPollPlan.build(
        [tag("a", "co:0", DataType.BOOL), tag("b", "co:17", DataType.BOOL), tag("c", "co:40", DataType.BOOL)],
        max_gap=1,
    )
    assert spans(plan) == [(1.0, "co", 0, 18), (1.0, "co", 40, 1)]


def test_tags_that_cannot_be_polled_are_set_aside_with_a_reason() -> None:
    plan = ModbusPollPlan.build(
        [
            tag("ok", "hr:0"),
            tag("typo", "hx:0"),
            tag("float_coil", "co:0", DataType.FLOAT32),
            tag("order", "hr:1", DataType.INT32, byte_order="ABDC"),
            tag("huge", "hr:2", DataType.STRING, string_length=300),
            tag("edge", "hr:65535", DataType.FLOAT32),
            tag("never", "hr:3", period=0),
        ],
        max_gap=8,
    )
    assert spans(plan) == [(1.0, "hr", 0, 1)]
    assert set(plan.rejected) == {"typo", "float_coil", "order", "huge", "edge", "never"}
    assert "bad Modbus address 'hx:0'" in plan.rejected["typo"]
    assert "coils and discrete inputs hold bool only" in plan.rejected["float_coil"]
    assert "unknown byte order" in plan.rejected["order"]
    assert "more than one read can fetch" in plan.rejected["huge"]
    assert "runs past the last address" in plan.rejected["edge"]
    assert "scan period must be positive" in plan.rejected["never"]


def test_split_halves_isolate_tags() -> None:
    plan = ModbusPollPlan.build([tag(f"t{i}", f"hr:{i * 2}") for i in range(5)], max_gap=8)
    (block,) = plan.groups[0].blocks
    left, right = split_block(block)
    assert (left.start, left.count, len(left.tags)) == (0, 3, 2)
    assert (right.start, right.count, len(right.tags)) == (4, 5, 3)
    single = split_block(left)[0]
    with pytest.raises(ValueError, match="single tag"):
        split_block(single)


def test_readback_block_covers_the_tag_and_the_bits_inside_it() -> None:
    plan = ModbusPollPlan.build(
        [tag("word", "hr:5"), tag("bit", "hr:5.3", DataType.BOOL), tag("next", "hr:6")], max_gap=8
    )
    block = plan.readback_block("word")
    assert block is not None
    assert (block.start, block.count) == (5, 1)
    assert {p.tag.name for p in block.tags} == {"word", "bit"}
    assert plan.readback_block("unknown") is None


def test_span_of_slices_a_tag_out_of_the_response() -> None:
    plan = ModbusPollPlan.build([tag("a", "hr:10"), tag("b", "hr:12", DataType.INT32)], max_gap=8)
    (block,) = plan.groups[0].blocks
    assert block.span_of(block.tags[1], [0, 1, 2, 3]) == [2, 3]


_TYPES = [DataType.UINT16, DataType.FLOAT32, DataType.FLOAT64, DataType.BOOL]


@st.composite
def tag_sets(draw: st.DrawFn) -> list[TagDef]:
    tags = []
    for i in range(draw(st.integers(1, 60))):
        table = draw(st.sampled_from(["hr", "ir", "co"]))
        data_type = DataType.BOOL if table == "co" else draw(st.sampled_from(_TYPES))
        index = draw(st.integers(0, 3000))
        address = f"{table}:{index}" + (".3" if data_type is DataType.BOOL and table != "co" else "")
        tags.append(tag(f"t{i}", address, data_type, period=draw(st.sampled_from([0.1, 1.0]))))
    return tags


def _clusters_fit(blocks: list[ReadBlock]) -> bool:
    """True when no chain of overlapping tags is longer than one read (then no register may repeat)."""
    tags = sorted((p for b in blocks for p in b.tags), key=lambda p: p.start)
    start, end = -1, -1
    for planned in tags:
        if planned.start < end:
            end = max(end, planned.end)
        else:
            start, end = planned.start, planned.end
        if end - start > read_limit(planned.address.table):
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(tag_sets(), st.integers(0, 20))
def test_every_tag_is_read_once_within_limits(tags: list[TagDef], max_gap: int) -> None:
    plan = ModbusPollPlan.build(tags, max_gap)
    assert not plan.rejected
    seen: list[str] = []
    for group in plan.groups:
        by_table: dict[Table, list[ReadBlock]] = {}
        for block in group.blocks:
            assert 1 <= block.count <= (MAX_READ_BITS if block.table.is_bit else MAX_READ_REGISTERS)
            for planned in block.tags:
                assert planned.tag.scan_period == group.period
                assert block.start <= planned.start and planned.end <= block.end
                seen.append(planned.tag.name)
            by_table.setdefault(block.table, []).append(block)
        for blocks in by_table.values():
            blocks.sort(key=lambda b: b.start)
            if _clusters_fit(blocks):
                for before, after in itertools.pairwise(blocks):
                    assert before.end <= after.start, "a register is read twice in one cycle"
    assert sorted(seen) == sorted(t.name for t in tags)


def test_deadlines_do_not_drift_with_cycle_time() -> None:
    schedule = DeadlineSchedule(1.0, start=100.0)
    assert schedule.advance(100.3) == pytest.approx(0.7)
    assert schedule.deadline == 101.0
    assert schedule.advance(101.9) == pytest.approx(0.1)
    assert schedule.overruns == 0


def test_a_late_cycle_catches_up_once_then_skips_whole_periods() -> None:
    schedule = DeadlineSchedule(1.0, start=0.0)
    assert schedule.advance(1.5) == 0.0  # late by half a period: run the next cycle at once
    assert schedule.overruns == 0
    assert schedule.advance(5.2) == 0.0  # late by 3.2 periods: skip 2, 3 and 4, run 5 at once
    assert schedule.overruns == 3
    assert schedule.deadline == 5.0
    assert schedule.advance(5.3) == pytest.approx(0.7)  # back on the grid


async def test_writes_go_ahead_of_queued_polls() -> None:
    lock = PriorityLock()
    order: list[str] = []

    async def request(label: str, priority: int) -> None:
        async with lock.hold(priority):
            order.append(label)
            await asyncio.sleep(0)

    await lock.acquire(POLL)  # a poll in flight
    waiters = [asyncio.create_task(request(label, p)) for label, p in [("poll1", POLL), ("poll2", POLL)]]
    await asyncio.sleep(0)
    waiters.append(asyncio.create_task(request("write", WRITE)))
    await asyncio.sleep(0)
    lock.release()
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=2)
    assert order == ["write", "poll1", "poll2"]
    assert not lock.locked


async def test_a_cancelled_waiter_does_not_lose_the_lock() -> None:
    lock = PriorityLock()
    await lock.acquire(POLL)
    doomed = asyncio.create_task(lock.acquire(WRITE))
    survivor = asyncio.create_task(lock.acquire(POLL))
    await asyncio.sleep(0)
    lock.release()  # hands the lock to the write waiter...
    doomed.cancel()  # ...which is cancelled before it runs: the lock must pass on
    await asyncio.wait_for(survivor, timeout=2)
    assert doomed.cancelled()
    assert lock.locked
    lock.release()
    assert not lock.locked


async def test_cancel_and_wait_ends_a_task_that_swallows_a_cancellation() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        # As asyncio.wait_for on Python 3.11 may do when a response lands with the cancellation.
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            swallowed.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task]), 2)
    assert swallowed.is_set() and task.cancelled()
