"""Modbus TCP driver: polls coalesced block reads on fixed deadlines and writes typed values.

One connection per driver (``ModbusLink``), one request on it at a time: every
request takes the link's ``PriorityLock``, and writes (with their readback) are
served before queued polls. The supervisor in ``drivers.base`` owns reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from pymodbus.pdu import ModbusPDU

from drivers.base import Backoff, Driver, SampleSink, StatusSink
from drivers.modbus_address import Table
from drivers.modbus_codec import Value, as_bool, decode, decode_bit, encode, with_bit
from drivers.modbus_errors import LinkError, describe_exception, reason_for_exception, splitting_may_help
from drivers.modbus_link import ModbusLink
from drivers.modbus_lock import POLL, WRITE
from drivers.modbus_plan import ModbusPollPlan, PlannedTag, ReadBlock, block_of, plan_tag, split_block
from drivers.modbus_schedule import DeadlineSchedule
from drivers.settings import ModbusSettings
from hmi.model import Reason, Sample, TagDef, WriteError

log = logging.getLogger(__name__)

_TABLE_NAMES = {
    Table.COIL: "coils",
    Table.DISCRETE_INPUT: "discrete inputs",
    Table.INPUT_REGISTER: "input registers",
    Table.HOLDING_REGISTER: "holding registers",
}


class ModbusDriver(Driver):
    """A Modbus TCP client polling one device (unit) for its tags."""

    def __init__(
        self,
        name: str,
        settings: ModbusSettings,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name, tags, on_sample, on_status, backoff)
        self.settings = settings
        self.plan = ModbusPollPlan.build(self.tags, settings.max_gap)
        self._link = ModbusLink(name, settings)
        self._overruns = 0
        self._decode_errors = 0
        self._failing_blocks: set[ReadBlock] = set()
        for tag_name, reason in self.plan.rejected.items():
            log.error("%s: tag %s cannot be polled: %s", name, tag_name, reason)

    # ------------------------------------------------------------------ link

    async def start(self) -> None:
        """Start polling; tags that cannot be polled are marked CONFIG_ERROR at once."""
        await super().start()
        self._mark_rejected()

    def _bad_reason(self, tag: TagDef, reason: Reason) -> Reason:
        # A configuration error stays one whatever the link does: never show it as a comm failure.
        return Reason.CONFIG_ERROR if tag.name in self.plan.rejected else reason

    def _mark_rejected(self) -> None:
        now = time.time()
        for tag_name in self.plan.rejected:
            self.publish(tag_name, Sample.bad(Reason.CONFIG_ERROR, ts=now))

    async def _connect(self) -> None:
        await self._link.open()

    async def _disconnect(self) -> None:
        self._link.close()

    async def _serve(self) -> None:
        loop_tasks = [
            asyncio.create_task(
                self._scan(group.period, group.blocks), name=f"{self.name}: scan {group.period:g}s"
            )
            for group in self.plan.groups
        ]
        loop_tasks.append(
            asyncio.create_task(self._watch_link(self._link.lost), name=f"{self.name}: link watch")
        )
        try:
            done, _ = await asyncio.wait(loop_tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and (error := task.exception()) is not None:
                    raise error
        finally:
            for task in loop_tasks:
                task.cancel()
            await asyncio.gather(*loop_tasks, return_exceptions=True)

    async def _watch_link(self, link_lost: asyncio.Event) -> None:
        # Fails the scan at once when the peer closes, rather than after a request times out.
        await link_lost.wait()
        self._link.stats.record_error("connection lost")
        raise LinkError("connection lost")

    # ------------------------------------------------------------------ polling

    async def _scan(self, period: float, blocks: Sequence[ReadBlock]) -> None:
        loop = asyncio.get_running_loop()
        schedule = DeadlineSchedule(period, loop.time())
        active = list(blocks)
        while True:
            active = await self._poll(active)
            overruns_before = schedule.overruns
            wait = schedule.advance(loop.time())
            self._overruns += schedule.overruns - overruns_before
            await asyncio.sleep(wait)

    async def _poll(self, blocks: Sequence[ReadBlock]) -> list[ReadBlock]:
        """Read each block and publish its tags; returns the blocks to read next cycle (some split)."""
        next_blocks: list[ReadBlock] = []
        for block in blocks:
            next_blocks.extend(await self._poll_block(block))
        return next_blocks

    async def _poll_block(self, block: ReadBlock) -> list[ReadBlock]:
        async with self._link.lock.hold(POLL):
            response = await self._link.read(block.table, block.start, block.count)
        if not response.isError():
            self._failing_blocks.discard(block)
            self._publish_block(block, response)
            return [block]
        code = response.exception_code
        if splitting_may_help(code) and len(block.tags) > 1:
            # Keep the halves from now on: the good part of the block polls at full speed.
            log.warning("%s: read %s refused (%s); splitting it", self.name, block, describe_exception(code))
            return await self._poll(split_block(block))
        if block not in self._failing_blocks:
            self._failing_blocks.add(block)
            names = ", ".join(p.tag.name for p in block.tags)
            log.warning(
                "%s: read %s refused (%s); bad: %s", self.name, block, describe_exception(code), names
            )
        self._mark_block_bad(block, reason_for_exception(code))
        return [block]

    def _publish_block(self, block: ReadBlock, response: ModbusPDU) -> None:
        data = response.bits if block.table.is_bit else response.registers
        if len(data) < block.count:
            self._link.stats.record_error(f"read {block}: short response ({len(data)} values)")
            self._mark_block_bad(block, Reason.DEVICE_FAILURE)
            return
        now = time.time()
        for planned in block.tags:
            try:
                value = _decode(planned, block.span_of(planned, data))
            except ValueError as exc:
                self._decode_errors += 1
                log.warning("%s: tag %s: %s", self.name, planned.tag.name, exc)
                self.publish(planned.tag.name, Sample.bad(Reason.CONFIG_ERROR, ts=now))
                continue
            self.publish(planned.tag.name, Sample.good(value, now))

    def _mark_block_bad(self, block: ReadBlock, reason: Reason) -> None:
        now = time.time()
        for planned in block.tags:
            self.publish(planned.tag.name, Sample.bad(reason, ts=now))

    # ------------------------------------------------------------------ writing

    async def write(self, tag: TagDef, value: Any) -> None:
        """Write a typed value to a coil, holding register(s) or register bit, then read it back."""
        try:
            planned = plan_tag(tag)
        except ValueError as exc:
            raise WriteError(f"{tag.name}: {exc}") from None
        table = planned.address.table
        if not table.is_writable:
            raise WriteError(f"{tag.name}: {_TABLE_NAMES[table]} are read-only ({planned.address})")
        try:
            payload = _encode(planned, value)
        except ValueError as exc:
            raise WriteError(f"{tag.name}: {exc}") from None
        if not self._link.connected:
            raise WriteError(f"{tag.name}: not connected")
        async with self._link.lock.hold(WRITE):
            try:
                response = await self._send_write(planned, payload)
            except LinkError as exc:
                raise WriteError(f"{tag.name}: {exc}") from exc
            if response.isError():
                raise WriteError(
                    f"{tag.name}: device refused the write: {describe_exception(response.exception_code)}"
                )
            # The write went through; a failed readback is for the scan loop to notice, not the operator.
            with contextlib.suppress(LinkError):
                await self._read_back(planned)

    async def _send_write(self, planned: PlannedTag, payload: bool | list[int]) -> ModbusPDU:
        address = planned.address
        if address.table is Table.COIL:
            return await self._link.write_coil(address.index, bool(payload))
        if address.bit is not None:
            return await self._write_bit(address.index, address.bit, bool(payload))
        assert isinstance(payload, list)
        return await self._link.write_registers(address.index, payload)

    async def _write_bit(self, index: int, bit: int, value: bool) -> ModbusPDU:
        # Read-modify-write under our lock keeps out our own requests, but not the PLC:
        # should its program change another bit of this register between our read and
        # our write, that change is overwritten. Mask write (FC22) would be atomic but
        # many devices lack it; a register shared by HMI and PLC bits is a design risk.
        current = await self._link.read(Table.HOLDING_REGISTER, index, 1)
        if current.isError() or not current.registers:
            return current
        return await self._link.write_registers(index, [with_bit(current.registers[0], bit, value)])

    async def _read_back(self, planned: PlannedTag) -> None:
        """Publish the written tag (and polled tags inside its span) at once rather than next scan."""
        block = self.plan.readback_block(planned.tag.name) or block_of([planned])
        response = await self._link.read(block.table, block.start, block.count)
        if response.isError():
            self._mark_block_bad(block, reason_for_exception(response.exception_code))
        else:
            self._publish_block(block, response)

    # ------------------------------------------------------------------ diagnostics

    def diagnostics(self) -> dict[str, float | int | str]:
        """Counters for the connection diagnostics view."""
        stats = self._link.stats
        rtt_mean, rtt_p99 = stats.rtt_ms()
        return {
            "state": self.status.state.value,
            "requests": stats.requests,
            "errors": stats.errors,
            "exception_responses": stats.exception_responses,
            "requests_per_s": round(stats.requests_per_s(), 2),
            "rtt_mean_ms": round(rtt_mean, 3),
            "rtt_p99_ms": round(rtt_p99, 3),
            "last_error": stats.last_error or self.status.last_error,
            "overruns": self._overruns,
            "blocks": self.plan.block_count,
            "rejected_tags": len(self.plan.rejected),
            "decode_errors": self._decode_errors,
        }


def _decode(planned: PlannedTag, words: list) -> Value:
    address, tag = planned.address, planned.tag
    if address.table.is_bit:
        return bool(words[0])
    if address.bit is not None:
        return decode_bit(words[0], address.bit)
    return decode(words, tag.type, tag.byte_order, tag.string_length)


def _encode(planned: PlannedTag, value: Value) -> bool | list[int]:
    address, tag = planned.address, planned.tag
    if address.table.is_bit or address.bit is not None:
        return as_bool(value)
    return encode(value, tag.type, tag.byte_order, tag.string_length)
