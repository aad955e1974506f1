"""Modbus TCP driver: polls coalesced block reads on fixed deadlines and writes typed values.

One or more connections per driver (``ModbusLink``, ``sockets`` in the settings),
one request on each at a time: every request takes its link's ``PriorityLock``,
and writes (with their readback) are served before queued polls. Each scan group's
blocks are dealt over the links, so a device that serves several sockets in
parallel is polled in parallel. The supervisor in ``drivers.base`` owns reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Sequence
from typing import Any

from pymodbus.pdu import ModbusPDU

from drivers.base import Backoff, Driver, SampleSink, StatusSink
from drivers.modbus_address import Table
from drivers.modbus_block import BlockCodec, BlockRead
from drivers.modbus_errors import LinkError, describe_exception, reason_for_exception, splitting_may_help
from drivers.modbus_link import ModbusLink
from drivers.modbus_lock import POLL, WRITE
from drivers.modbus_plan import ModbusPollPlan, PlannedTag, ReadBlock, block_of, plan_tag, split_block
from drivers.modbus_schedule import DeadlineSchedule
from drivers.modbus_stats import ModbusDiagnostics, RequestStats
from drivers.modbus_write import encode_planned, readback_mismatch, send_write
from drivers.settings import ModbusSettings, ModbusTagLink
from drivers.tasks import cancel_and_wait
from hmi.model import Reason, Sample, StalePolicy, TagDef, WriteError

log = logging.getLogger(__name__)

_TABLE_NAMES = {
    Table.COIL: "coils",
    Table.DISCRETE_INPUT: "discrete inputs",
    Table.INPUT_REGISTER: "input registers",
    Table.HOLDING_REGISTER: "holding registers",
}


class ModbusDriver(Driver):
    """A Modbus TCP client polling one device (or the units behind a gateway) for its tags."""

    def __init__(
        self,
        name: str,
        settings: ModbusSettings,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        backoff: Backoff | None = None,
        stale: StalePolicy | None = None,
    ) -> None:
        super().__init__(name, tags, on_sample, on_status, backoff, stale)
        self.settings = settings
        self.plan = ModbusPollPlan.build(self.tags, settings.max_gap, settings.unit)
        self._stats = RequestStats()
        self._links = [
            ModbusLink(name if n == 0 else f"{name}#{n}", settings, self._stats)
            for n in range(max(1, settings.sockets))
        ]
        self._overruns = 0
        self._decode_errors = 0
        self._failing_blocks: set[tuple[int, Table, int, int]] = set()
        # Per block: how its responses decode (built now for the plan's blocks, on first use for a block
        # split off later or read back after a write) and what its last good read held.
        self._codecs: dict[tuple[int, Table, int, int], BlockCodec] = {
            block.key: BlockCodec(block) for group in self.plan.groups for block in group.blocks
        }
        self._last_reads: dict[tuple[int, Table, int, int], BlockRead] = {}
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
        # All sockets or none: a device that accepts fewer than configured is a configuration to fix.
        results = await asyncio.gather(*(link.open() for link in self._links), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _disconnect(self) -> None:
        for link in self._links:
            link.close()

    async def _serve(self) -> None:
        loop_tasks = [
            asyncio.create_task(
                self._scan(group.period, share, link),
                name=f"{self.name}: scan {group.period:g}s on {link.name}",
            )
            for group in self.plan.groups
            for share, link in zip(group.dealt(len(self._links)), self._links, strict=False)
        ]
        loop_tasks += [
            asyncio.create_task(self._watch_link(link), name=f"{self.name}: watch {link.name}")
            for link in self._links
        ]
        try:
            done, _ = await asyncio.wait(loop_tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and (error := task.exception()) is not None:
                    raise error
        finally:
            await cancel_and_wait(loop_tasks)

    async def _watch_link(self, link: ModbusLink) -> None:
        # Fails the scan at once when the peer closes, rather than after a request times out.
        await link.lost.wait()
        if (error := link.protocol_error()) is not None:
            # The link was dropped over an answer that did not match (by us, or by pymodbus failing
            # to decode it): that is what the tags must show, not a plain lost connection.
            raise error
        self._stats.record_error("connection lost")
        raise LinkError("connection lost")

    # ------------------------------------------------------------------ polling

    async def _scan(self, period: float, blocks: Sequence[ReadBlock], link: ModbusLink) -> None:
        loop = asyncio.get_running_loop()
        schedule = DeadlineSchedule(period, loop.time())
        active = list(blocks)
        while True:
            active = await self._poll(active, link)
            overruns_before = schedule.overruns
            wait = schedule.advance(loop.time())
            self._overruns += schedule.overruns - overruns_before
            await asyncio.sleep(wait)
            self._stats.record_cycle_start(loop.time() - schedule.deadline)

    async def _poll(self, blocks: Sequence[ReadBlock], link: ModbusLink) -> list[ReadBlock]:
        """Read each block and publish its tags; returns the blocks to read next cycle (some split).

        A block whose words changed is decoded while the next block's request is in flight, so that
        the device's turn and ours overlap (one request at a time on the connection, as ever).
        """
        next_blocks: list[ReadBlock] = []
        changed: tuple[ReadBlock, ModbusPDU] | None = None
        loop = asyncio.get_running_loop()
        for block in blocks:
            if changed is not None:
                # Runs at the loop's next turn, which is once this block's request is out (pymodbus sends
                # it before its first wait): no task and no extra turn of the loop per block.
                loop.call_soon(self._decode_guarded, *changed)
                changed = None
            response = await self._read_block(block, link)
            if response.isError():
                next_blocks.extend(await self._refused(block, response, link))
                continue
            if self._failing_blocks:
                self._failing_blocks.discard(block.key)
            next_blocks.append(block)
            if not self._settle_unchanged(block, response):
                changed = (block, response)
        if changed is not None:
            self._decode_block(*changed)
        return next_blocks

    def _decode_guarded(self, block: ReadBlock, response: ModbusPDU) -> None:
        """``_decode_block`` from a loop callback: a failure is this block's, named in the log."""
        try:
            self._decode_block(block, response)
        except Exception:
            self._decode_errors += 1
            log.exception("%s: decoding %s failed; its tags are bad until it decodes", self.name, block)
            self._mark_block_bad(block, Reason.CONFIG_ERROR)

    async def _read_block(self, block: ReadBlock, link: ModbusLink) -> ModbusPDU:
        async with link.lock.hold(POLL):
            return await link.read(block.table, block.start, block.count, block.unit)

    async def _refused(self, block: ReadBlock, response: ModbusPDU, link: ModbusLink) -> list[ReadBlock]:
        """An exception response: split the block where that may help, else mark its tags bad."""
        code = response.exception_code
        if splitting_may_help(code) and len(block.tags) > 1:
            # Keep the halves from now on: the good part of the block polls at full speed.
            log.warning("%s: read %s refused (%s); splitting it", self.name, block, describe_exception(code))
            return await self._poll(split_block(block), link)
        if block.key not in self._failing_blocks:
            self._failing_blocks.add(block.key)
            names = ", ".join(p.tag.name for p in block.tags)
            log.warning(
                "%s: read %s refused (%s); bad: %s", self.name, block, describe_exception(code), names
            )
        self._mark_block_bad(block, reason_for_exception(code))
        return [block]

    def _publish_block(self, block: ReadBlock, response: ModbusPDU) -> None:
        """Publish the tags of a block whose words changed, as one batch, then vouch for the whole block.

        Unchanged words read again soon keep the sample published for them (stamped when the value was
        first seen, which is the sample the runtime keeps anyway): no decoding, no new object. A block
        read after a gap long enough for the runtime to have called its values stale, or after any bad
        sample of its tags, is decoded whole and stamped afresh: a recovery is never back in time.
        """
        if not self._settle_unchanged(block, response):
            self._decode_block(block, response)

    def _settle_unchanged(self, block: ReadBlock, response: ModbusPDU) -> bool:
        """Deal with a response that needs no decoding: short (its tags turn bad), or the very words
        of the block's last read (only refreshed). False when it must be decoded."""
        data = response.bits if block.table.is_bit else response.registers
        if len(data) < block.count:
            self._stats.record_error(f"read {block}: short response ({len(data)} values)")
            self._mark_block_bad(block, Reason.DEVICE_FAILURE)
            return True
        last = self._last_reads.get(block.key)
        if last is None or data != last.data:
            return False
        read_at = time.monotonic()
        if read_at - last.read_at >= self._reuse_window(block):
            return False
        # The hot path of a steady plant: the very words of the last read, compared in C.
        last.read_at = read_at
        self._refresh_unchanged(self._codec(block), last, None)
        return True

    def _codec(self, block: ReadBlock) -> BlockCodec:
        codec = self._codecs.get(block.key)
        if codec is None:
            codec = self._codecs[block.key] = BlockCodec(block)
        return codec

    def _decode_block(self, block: ReadBlock, response: ModbusPDU) -> None:
        """Decode and publish the tags whose words changed since the block's last read (all of them
        after a long gap or without one), then vouch for the block."""
        data = response.bits if block.table.is_bit else response.registers
        key, codec = block.key, self._codec(block)
        now, read_at = time.time(), time.monotonic()
        words = codec.words_of(data)
        last = self._last_reads.get(key)
        previous = None
        if last is not None and read_at - last.read_at < self._reuse_window(block):
            previous = last.words
        else:
            last = BlockRead(words, data, read_at, [None] * len(codec.names))
        decoded = codec.decode(words, previous)
        samples = Sample.many_good(decoded.values, now)
        if self.on_refresh is None:  # kept to be re-sent as is while the words stay the same
            kept = last.samples
            for index, sample in zip(decoded.indices, samples, strict=True):
                kept[index] = sample
        last.words, last.data, last.read_at = words, data, read_at
        self._last_reads[key] = last
        if decoded.failures:
            self._last_reads.pop(key, None)  # a block with a bad tag is decoded whole next time
            self._report_failures(codec, decoded.failures, now)
        if samples:
            self.publish_batch(list(zip(decoded.names, samples, strict=True)))
        if previous is None:  # every tag was just published
            if self.on_refresh is not None:
                self.on_refresh(codec.names)
        elif self.on_refresh is not None:
            self.on_refresh(codec.names)  # one call for the block instead of one per tag
        else:
            touched = set(decoded.indices).union(index for index, _ in decoded.failures)
            self._refresh_unchanged(codec, last, touched)

    def _refresh_unchanged(self, codec: BlockCodec, last: BlockRead, changed: Collection[int] | None) -> None:
        """Vouch for a block read: one refresh for all its tags, or (for a consumer without a refresh
        sink) re-send the kept sample of each tag whose words did not change (``changed`` None: none
        changed)."""
        if self.on_refresh is not None:
            self.on_refresh(codec.names)  # one call for the block instead of one per tag
            return
        names = codec.names
        for index in range(len(names)):
            if changed is not None and index in changed:
                continue
            sample = last.samples[index]
            if sample is not None:
                self._on_sample(names[index], sample)

    def _report_failures(self, codec: BlockCodec, failures: list[tuple[int, str]], now: float) -> None:
        bad = []
        for index, message in failures:
            self._decode_errors += 1
            log.warning("%s: tag %s: %s", self.name, codec.names[index], message)
            bad.append((codec.names[index], Sample.bad(Reason.CONFIG_ERROR, ts=now)))
        self.publish_batch(bad)

    def _mark_all_bad(self, reason: Reason) -> None:
        self._last_reads.clear()
        super()._mark_all_bad(reason)

    def _mark_block_bad(self, block: ReadBlock, reason: Reason) -> None:
        self._last_reads.pop(block.key, None)
        now = time.time()
        self.publish_batch([(planned.tag.name, Sample.bad(reason, ts=now)) for planned in block.tags])

    # ------------------------------------------------------------------ writing

    async def write(self, tag: TagDef, value: Any) -> None:
        """Write a typed value to a coil, holding register(s) or register bit, then read it back.

        With ``verify`` (the tag's, else the connection's) a readback that fails or differs from
        what was written raises ``WriteError``; without it the readback only refreshes the value.
        """
        try:
            planned = plan_tag(tag, self.settings.unit)
        except ValueError as exc:
            raise WriteError(f"{tag.name}: {exc}") from None
        table = planned.address.table
        if not table.is_writable:
            raise WriteError(f"{tag.name}: {_TABLE_NAMES[table]} are read-only ({planned.address})")
        try:
            payload = encode_planned(planned, value)
        except ValueError as exc:
            raise WriteError(f"{tag.name}: {exc}") from None
        link = self._write_link()
        if link is None:
            raise WriteError(f"{tag.name}: not connected")
        own = ModbusTagLink.of(tag.link).verify
        verify = self.settings.verify if own is None else own
        async with link.lock.hold(WRITE):
            try:
                response = await send_write(link, planned, payload)
            except LinkError as exc:
                raise WriteError(f"{tag.name}: {exc}") from exc
            if response.isError():
                raise WriteError(
                    f"{tag.name}: device refused the write: {describe_exception(response.exception_code)}"
                )
            try:
                block, readback = await self._read_back(link, planned)
            except LinkError as exc:
                # Unverified, the write went through; a failed readback is for the scan loop to notice.
                if verify:
                    raise WriteError(f"{tag.name}: written, but the readback failed: {exc}") from exc
                return
        if verify and (mismatch := readback_mismatch(planned, payload, block, readback)) is not None:
            raise WriteError(f"{tag.name}: wrote {value!r}, not verified: {mismatch}")

    def _write_link(self) -> ModbusLink | None:
        """An idle connected link if there is one (the write goes at once), else any connected link."""
        connected = [link for link in self._links if link.connected]
        idle = [link for link in connected if not link.lock.locked]
        candidates = idle or connected
        return candidates[0] if candidates else None

    async def _read_back(self, link: ModbusLink, planned: PlannedTag) -> tuple[ReadBlock, ModbusPDU]:
        """Publish the written tag (and polled tags inside its span) at once rather than next scan."""
        block = self.plan.readback_block(planned.tag.name) or block_of([planned])
        response = await link.read(block.table, block.start, block.count, block.unit)
        if response.isError():
            self._mark_block_bad(block, reason_for_exception(response.exception_code))
        else:
            self._publish_block(block, response)
        return block, response

    def _reuse_window(self, block: ReadBlock) -> float:
        """How long after a read of a block its unchanged words may re-send their samples: inside the
        runtime's stale limit, so a value it flagged stale is never re-sent as is (the tags of a block
        share their scan period)."""
        return self.stale.reuse_window(block.tags[0].tag.scan_period)

    # ------------------------------------------------------------------ diagnostics

    def diagnostics(self) -> ModbusDiagnostics:
        """Counters for the connection diagnostics view."""
        stats = self._stats
        rtt_mean, rtt_p99 = stats.rtt_ms()
        _, lateness_p99 = stats.lateness_ms()
        return ModbusDiagnostics(
            state=self.status.state,
            last_error=stats.last_error or self.status.last_error,
            requests_per_s=round(stats.requests_per_s(), 2),
            rtt_mean_ms=round(rtt_mean, 3),
            requests=stats.requests,
            errors=stats.errors,
            exception_responses=stats.exception_responses,
            rtt_p99_ms=round(rtt_p99, 3),
            overruns=self._overruns,
            cycles=stats.cycles,
            lateness_p99_ms=round(lateness_p99, 3),
            blocks=self.plan.block_count,
            sockets=len(self._links),
            rejected_tags=len(self.plan.rejected),
            decode_errors=self._decode_errors,
        )
