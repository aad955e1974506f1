"""The Modbus TCP driver kind: its connection schema, tag checks, factory and diagnostics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from drivers.modbus_check import check_modbus_overlaps, check_modbus_tag, tag_scale
from drivers.modbus_schema import ModbusConnectionSpec
from drivers.modbus_stats import ModbusDiagnostics
from drivers.registry import DriverContext, DriverKind, TagToCheck, register
from drivers.settings import ModbusSettings, ModbusTagLink
from hmi.model import TagDef

if TYPE_CHECKING:
    from drivers.base import Driver, SampleSink, StatusSink


def create_modbus_driver(
    name: str,
    settings: ModbusSettings,
    tags: Sequence[TagDef],
    on_sample: SampleSink,
    on_status: StatusSink,
    context: DriverContext,
) -> Driver:
    """A Modbus TCP driver; pymodbus is imported only now, when a plant has a Modbus connection."""
    from drivers.modbus import ModbusDriver

    return ModbusDriver(name, settings, tags, on_sample, on_status, stale=context.stale)


def modbus_tag_link(entry: TagToCheck) -> ModbusTagLink:
    """The tag's byte order (else its connection's), unit id, verify choice and scaling."""
    tag = entry.tag
    byte_order = tag.byte_order or getattr(entry.settings, "byte_order", None) or "ABCD"
    scale = tag_scale(tag)
    raw_type = tag.type if scale is not None else None
    return ModbusTagLink(byte_order, tag.unit, tag.verify, scale, raw_type)


MODBUS = DriverKind(
    name="modbus",
    title="Modbus",
    connection_model=ModbusConnectionSpec,
    factory=create_modbus_driver,
    check_tag=check_modbus_tag,
    check_tags=check_modbus_overlaps,
    tag_link=modbus_tag_link,
    diagnostics=ModbusDiagnostics,
    tag_keys=frozenset({"byte_order", "length", "unit", "verify", "scale"}),
)
register(MODBUS)
