"""The poll plan: which block reads serve which tags, grouped by scan period. Built once per driver.

Tags of one scan period, one unit id and one table are coalesced into block reads: tags
whose registers overlap always share a read (so no register is read twice in a
cycle), and neighbours join a block while the unused registers between them
stay within ``max_gap`` and the block within the protocol limit (125 registers,
2000 bits). For coils and discrete inputs the gap is counted in bits, 16 per
register of ``max_gap``. Tags that cannot be polled (bad address, a type that
does not fit, a bad byte order) are kept aside in ``rejected`` with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from drivers.modbus_address import (
    MAX_ADDRESS,
    ModbusAddress,
    Table,
    check_type_fits,
    parse_address,
    register_count,
)
from drivers.modbus_codec import check_byte_order
from drivers.settings import ModbusTagLink
from hmi.model import DataType, TagDef

MAX_UNIT = 255
MAX_READ_REGISTERS = 125
MAX_READ_BITS = 2000
BITS_PER_GAP_REGISTER = 16


@dataclass(frozen=True, slots=True)
class PlannedTag:
    """A tag with its parsed address and the span it occupies in its table."""

    tag: TagDef
    address: ModbusAddress
    count: int
    unit: int

    @property
    def start(self) -> int:
        """First register (or bit) of the tag."""
        return self.address.index

    @property
    def end(self) -> int:
        """One past the last register (or bit) of the tag."""
        return self.address.index + self.count


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request: ``count`` registers or bits from ``start`` in ``table`` of ``unit``, for ``tags``."""

    table: Table
    start: int
    count: int
    tags: tuple[PlannedTag, ...]
    unit: int

    @property
    def end(self) -> int:
        """One past the last register (or bit) read."""
        return self.start + self.count

    @property
    def key(self) -> tuple[int, Table, int, int]:
        """What identifies the read; far cheaper to hash than the block with all its tags."""
        return self.unit, self.table, self.start, self.count

    def span_of(self, planned: PlannedTag, data: Sequence[int] | Sequence[bool]) -> list:
        """The part of a block's response that belongs to one of its tags."""
        offset = planned.start - self.start
        return list(data[offset : offset + planned.count])

    def __str__(self) -> str:
        return f"unit {self.unit} {self.table.value}:{self.start}+{self.count}"


@dataclass(frozen=True, slots=True)
class ScanGroup:
    """The blocks read together every ``period`` seconds."""

    period: float
    blocks: tuple[ReadBlock, ...]

    def dealt(self, sockets: int) -> list[tuple[ReadBlock, ...]]:
        """The blocks dealt round-robin over ``sockets`` connections (empty shares left out)."""
        shares = [self.blocks[first::sockets] for first in range(max(1, sockets))]
        return [share for share in shares if share]


def read_limit(table: Table) -> int:
    """The most registers or bits one read request may ask for in ``table``."""
    return MAX_READ_BITS if table.is_bit else MAX_READ_REGISTERS


def plan_tag(tag: TagDef, default_unit: int = 1) -> PlannedTag:
    """Parse and check one tag's address, type and byte order; ``ValueError`` names the reason.

    The tag's own unit id wins over ``default_unit``, the connection's.
    """
    address = parse_address(tag.address)
    link = ModbusTagLink.of(tag.link)
    data_type = link.register_type(tag.type)
    check_type_fits(address, data_type)
    if link.scale is not None and not data_type.is_integer:
        raise ValueError(f"scaling needs an integer register type, not {data_type.value}")
    if data_type is not DataType.BOOL:
        check_byte_order(link.byte_order)
    count = (
        1 if address.table.is_bit or address.bit is not None else register_count(data_type, tag.string_length)
    )
    if count > MAX_READ_REGISTERS:
        raise ValueError(
            f"{data_type.value} of {tag.string_length} characters needs {count} registers, "
            f"more than one read can fetch ({MAX_READ_REGISTERS})"
        )
    if address.index + count - 1 > MAX_ADDRESS:
        raise ValueError(f"{data_type.value} at {address} runs past the last address {MAX_ADDRESS}")
    if not tag.scan_period > 0:
        raise ValueError(f"scan period must be positive, got {tag.scan_period}")
    own_unit = link.unit
    unit = default_unit if own_unit is None else own_unit
    if not 0 <= unit <= MAX_UNIT:
        raise ValueError(f"unit id {unit} is outside 0..{MAX_UNIT}")
    return PlannedTag(tag, address, count, unit)


def block_of(tags: Iterable[PlannedTag]) -> ReadBlock:
    """The tightest block covering ``tags`` (all of one unit and table)."""
    ordered = tuple(sorted(tags, key=lambda p: (p.start, p.end, p.tag.name)))
    start = ordered[0].start
    end = max(p.end for p in ordered)
    return ReadBlock(ordered[0].address.table, start, end - start, ordered, ordered[0].unit)


def split_block(block: ReadBlock) -> tuple[ReadBlock, ReadBlock]:
    """Halve a block of two or more tags, to isolate an address the device refuses."""
    if len(block.tags) < 2:
        raise ValueError(f"block {block} serves a single tag and cannot be split")
    middle = len(block.tags) // 2
    return block_of(block.tags[:middle]), block_of(block.tags[middle:])


def _clusters(tags: list[PlannedTag]) -> list[list[PlannedTag]]:
    """Runs of tags whose spans overlap, in address order: each is read as a whole."""
    runs: list[list[PlannedTag]] = []
    run_end = -1
    for planned in sorted(tags, key=lambda p: (p.start, p.end, p.tag.name)):
        if runs and planned.start < run_end:
            runs[-1].append(planned)
            run_end = max(run_end, planned.end)
        else:
            runs.append([planned])
            run_end = planned.end
    return runs


def coalesce(tags: Sequence[PlannedTag], max_gap: int) -> list[ReadBlock]:
    """Blocks for tags of one unit and table: overlapping tags share, neighbours join within gap and limit."""
    if not tags:
        return []
    table = tags[0].address.table
    limit = read_limit(table)
    gap = max_gap * BITS_PER_GAP_REGISTER if table.is_bit else max_gap
    blocks: list[list[PlannedTag]] = []
    block_start = block_end = 0
    for run in _clusters(list(tags)):
        run_start, run_end = run[0].start, max(p.end for p in run)
        if blocks and run_start - block_end <= gap and run_end - block_start <= limit:
            blocks[-1].extend(run)
            block_end = max(block_end, run_end)
        elif run_end - run_start <= limit:
            blocks.append(list(run))
            block_start, block_end = run_start, run_end
        else:
            # A chain of overlapping tags longer than one read: no choice but to read in pieces.
            for planned in run:
                if blocks and planned.end - block_start <= limit and planned.start - block_end <= gap:
                    blocks[-1].append(planned)
                    block_end = max(block_end, planned.end)
                else:
                    blocks.append([planned])
                    block_start, block_end = planned.start, planned.end
    return [block_of(members) for members in blocks]


class ModbusPollPlan:
    """Every scan group of one driver with its coalesced block reads, and the tags set aside."""

    def __init__(
        self, groups: tuple[ScanGroup, ...], rejected: dict[str, str], planned: dict[str, PlannedTag]
    ) -> None:
        self.groups = groups
        self.rejected = rejected
        self._planned = planned

    @classmethod
    def build(cls, tags: Sequence[TagDef], max_gap: int, default_unit: int = 1) -> ModbusPollPlan:
        """Group ``tags`` by scan period, unit id and table and coalesce them into block reads."""
        if max_gap < 0:
            raise ValueError(f"max_gap must be zero or more, got {max_gap}")
        rejected: dict[str, str] = {}
        planned: dict[str, PlannedTag] = {}
        by_group: dict[tuple[float, int, Table], list[PlannedTag]] = defaultdict(list)
        for tag in tags:
            try:
                slot = plan_tag(tag, default_unit)
            except ValueError as exc:
                rejected[tag.name] = str(exc)
                continue
            planned[tag.name] = slot
            by_group[(tag.scan_period, slot.unit, slot.address.table)].append(slot)
        blocks_by_period: dict[float, list[ReadBlock]] = defaultdict(list)
        for (period, _unit, _table), members in sorted(
            by_group.items(), key=lambda item: (item[0][0], item[0][1], item[0][2].value)
        ):
            blocks_by_period[period].extend(coalesce(members, max_gap))
        groups = tuple(
            ScanGroup(period, tuple(blocks)) for period, blocks in sorted(blocks_by_period.items())
        )
        return cls(groups, rejected, planned)

    @property
    def block_count(self) -> int:
        """Read requests in one cycle of every group."""
        return sum(len(group.blocks) for group in self.groups)

    def planned(self, tag_name: str) -> PlannedTag | None:
        """The parsed address of a polled tag, or None when it is not polled."""
        return self._planned.get(tag_name)

    def readback_block(self, tag_name: str) -> ReadBlock | None:
        """A block reading one tag's span back, also serving every polled tag that lies inside it."""
        target = self._planned.get(tag_name)
        if target is None:
            return None
        inside = [
            p
            for p in self._planned.values()
            if p.unit == target.unit
            and p.address.table is target.address.table
            and target.start <= p.start
            and p.end <= target.end
        ]
        return block_of(inside)
