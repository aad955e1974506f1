"""Checks of Modbus tags for ``hmi check``: address syntax, fit of the type, writability, overlaps."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drivers.modbus_address import MAX_ADDRESS, ModbusAddress, check_type_fits, parse_address, register_count
from drivers.modbus_codec import integer_range
from drivers.modbus_scaling import LinearScale
from drivers.registry import TagIssue, TagToCheck
from hmi.model import DataType


def tag_scale(tag: Any) -> LinearScale | None:
    """The linear scale of a validated tag entry's ``scale`` key (None without one)."""
    spec = getattr(tag, "scale", None)
    if spec is None:
        return None
    if spec.gain is not None:
        return LinearScale.from_gain(spec.gain, spec.offset or 0.0)
    return LinearScale.from_ranges(spec.raw, spec.eng)


def check_modbus_tag(entry: TagToCheck) -> list[TagIssue]:
    """Address syntax and fit, the keys that make no sense on Modbus, and a string's length."""
    name, tag = entry.name, entry.tag
    try:
        address = parse_address(tag.address)
        check_type_fits(address, tag.type)
    except ValueError as exc:
        return [TagIssue(name, "address", str(exc))]
    issues: list[TagIssue] = []
    if tag.deadband_percent is not None:
        reason = "an OPC UA server applies it against the node's EURange; use deadband"
        issues.append(TagIssue(name, "deadband_percent", f"deadband_percent: not on Modbus ({reason})"))
    if tag.writable and not address.table.is_writable:
        reason = f"{address} is in a read-only table (discrete inputs and input registers)"
        issues.append(TagIssue(name, "writable", f"writable: {reason}"))
    if tag.type is DataType.STRING and tag.length is None:
        reason = "a Modbus string needs its length in characters"
        issues.append(TagIssue(name, "length", f"missing required key 'length' ({reason})"))
    if address.index + _register_span(entry, address) - 1 > MAX_ADDRESS:
        issues.append(TagIssue(name, "address", f"{tag.type} at {address} runs past address {MAX_ADDRESS}"))
    issues += _scale_issues(entry)
    return issues


def _scale_issues(entry: TagToCheck) -> list[TagIssue]:
    """Limits of a scaled tag are in engineering units: they must lie where the register can reach."""
    tag = entry.tag
    scale = tag_scale(tag)
    if scale is None or not tag.type.is_integer:
        return []
    low, high = scale.span_of(*integer_range(tag.type))
    if tag.scale.eng is not None:
        low, high = max(low, min(tag.scale.eng)), min(high, max(tag.scale.eng))
        where = f"the engineering range [{low:g}, {high:g}]"
    else:
        where = f"the engineering range of a scaled {tag.type} [{low:g}, {high:g}]"
    if tag.limits is not None and not (low <= tag.limits[0] and tag.limits[1] <= high):
        limits = f"[{tag.limits[0]:g}, {tag.limits[1]:g}]"
        return [TagIssue(entry.name, "limits", f"limits: {limits} (engineering units) lie outside {where}")]
    return []
PAIRS_UP_TO = 8
"""A group of at most this many overlapping tags reports each clashing pair; a larger one, one line."""


@dataclass(frozen=True, slots=True)
class _Placed:
    """A tag with a usable address: its place in the file, and the registers (or bits) it occupies."""

    order: int
    entry: TagToCheck
    address: ModbusAddress
    unit: int | None
    start: int
    end: int  # one past the last address

    def clashes(self, other: _Placed) -> bool:
        """Share an address: intervals meet, and not two different bits of one register."""
        if self.start >= other.end or other.start >= self.end:
            return False
        return self.address.bit is None or other.address.bit is None or self.address.bit == other.address.bit


def check_modbus_overlaps(entries: Sequence[TagToCheck]) -> list[TagIssue]:
    """Tags sharing an address on one connection and unit, reported once per group of overlapping tags.

    Bits of one register are separate: ``hr:5.0`` and ``hr:5.1`` coexist, but not ``hr:5.0`` and ``hr:5``.
    Units behind one gateway are separate devices: ``hr:0`` of unit 1 and of unit 2 coexist. A small group
    names each clashing pair at the later tag of the two; a large one (a copy-pasted block) is one line at
    its second tag, so the output and the time grow with the number of tags, not of pairs (n log n).
    """
    spaces: dict[tuple[str, int, str], list[_Placed]] = defaultdict(list)
    for order, entry in enumerate(entries):
        address = _usable_address(entry)
        if address is None:
            continue
        tag = entry.tag
        unit = tag.unit if tag.unit is not None else getattr(entry.settings, "unit", None)
        span = _register_span(entry, address)
        placed = _Placed(order, entry, address, unit, address.index, address.index + span)
        spaces[(entry.connection, -1 if unit is None else unit, address.table.value)].append(placed)
    issues: list[TagIssue] = []
    for members in spaces.values():
        for group in _groups(members):
            issues += _group_issues(group)
    position = {entry.name: order for order, entry in enumerate(entries)}
    return sorted(issues, key=lambda issue: position[issue.tag])  # stable: a tag's pairs stay in file order


def _groups(members: list[_Placed]) -> list[list[_Placed]]:
    """Connected groups of overlapping tags in one address space, by a sweep over sorted intervals.

    Whole registers (and coils) are merged into segments; a bit tag joins the segment covering its
    register, or else groups only with tags on the same bit.
    """
    words = sorted((placed for placed in members if placed.address.bit is None), key=lambda p: p.start)
    segments: list[list[_Placed]] = []
    segment_ends: list[int] = []
    for placed in words:
        if segments and placed.start < segment_ends[-1]:
            segments[-1].append(placed)
            segment_ends[-1] = max(segment_ends[-1], placed.end)
        else:
            segments.append([placed])
            segment_ends.append(placed.end)
    starts = [segment[0].start for segment in segments]
    by_bit: dict[tuple[int, int | None], list[_Placed]] = defaultdict(list)
    for placed in members:
        if placed.address.bit is not None:
            by_bit[(placed.start, placed.address.bit)].append(placed)
    lone: list[list[_Placed]] = []
    for (register, _bit), bits in by_bit.items():
        at = bisect.bisect_right(starts, register) - 1
        if at >= 0 and register < segment_ends[at]:
            segments[at] += bits
        else:
            lone.append(bits)
    return [group for group in segments + lone if len(group) > 1]


def _group_issues(group: list[_Placed]) -> list[TagIssue]:
    group = sorted(group, key=lambda placed: placed.order)
    if len(group) <= PAIRS_UP_TO:
        return [
            _pair_issue(later, earlier)
            for index, later in enumerate(group)
            for earlier in group[:index]
            if later.clashes(earlier)
        ]
    first, second = group[0], group[1]
    start, end = min(p.start for p in group), max(p.end for p in group)
    others = [p for p in group[:4] if p is not second]
    named = ", ".join(f"{p.entry.name!r} ({p.entry.tag.address})" for p in others)
    where = f"on connection {second.entry.connection!r}" + _unit_text(second, first)
    span = f"{first.address.table.value}:{start}" + (f"..{end - 1}" if end - 1 > start else "")
    message = (
        f"address {second.address} is one of {len(group)} overlapping tags in {span} {where}, with "
        f"{named} and {len(group) - 1 - len(others)} more (each tag needs its own address)"
    )
    return [TagIssue(second.entry.name, "address", message)]


def _pair_issue(later: _Placed, earlier: _Placed) -> TagIssue:
    where = f"{earlier.entry.name!r} ({earlier.entry.tag.address}) on connection {later.entry.connection!r}"
    message = f"address {later.address} overlaps tag {where}{_unit_text(later, earlier)}"
    return TagIssue(later.entry.name, "address", message)


def _unit_text(one: _Placed, other: _Placed) -> str:
    return f" unit {one.unit}" if one.entry.tag.unit is not None or other.entry.tag.unit is not None else ""


def _usable_address(entry: TagToCheck) -> ModbusAddress | None:
    """The tag's address when it parses, fits the type and stays inside the table; else None."""
    try:
        address = parse_address(entry.tag.address)
        check_type_fits(address, entry.tag.type)
    except ValueError:
        return None
    if address.index + _register_span(entry, address) - 1 > MAX_ADDRESS:
        return None
    return address


def _register_span(entry: TagToCheck, address: ModbusAddress) -> int:
    """How many consecutive addresses the tag occupies in its table."""
    if address.table.is_bit or address.bit is not None:
        return 1
    return register_count(entry.tag.type, entry.tag.length or 0)
