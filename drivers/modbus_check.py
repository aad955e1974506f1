"""Checks of Modbus tags for ``hmi check``: address syntax, fit of the type, writability, overlaps."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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


def check_modbus_overlaps(entries: Sequence[TagToCheck]) -> list[TagIssue]:
    """One issue per pair of tags sharing an address on one connection and unit, at the later of the two.

    Bits of one register are separate: ``hr:5.0`` and ``hr:5.1`` coexist, but not ``hr:5.0`` and ``hr:5``.
    Units behind one gateway are separate devices: ``hr:0`` of unit 1 and of unit 2 coexist.
    """
    occupants: dict[tuple[str, int, str, int], list[tuple[TagToCheck, int | None]]] = defaultdict(list)
    issues: list[TagIssue] = []
    for entry in entries:
        address = _usable_address(entry)
        if address is None:
            continue
        tag = entry.tag
        unit = tag.unit if tag.unit is not None else getattr(entry.settings, "unit", None)
        clashes: dict[str, TagToCheck] = {}
        for index in range(address.index, address.index + _register_span(entry, address)):
            cell = occupants[(entry.connection, -1 if unit is None else unit, address.table.value, index)]
            for other, other_bit in cell:
                if address.bit is None or other_bit is None or other_bit == address.bit:
                    clashes[other.name] = other
            cell.append((entry, address.bit))
        for other in clashes.values():
            where = f"{other.name!r} ({other.tag.address}) on connection {entry.connection!r}"
            if tag.unit is not None or other.tag.unit is not None:
                where += f" unit {unit}"
            issues.append(TagIssue(entry.name, "address", f"address {address} overlaps tag {where}"))
    return issues


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
