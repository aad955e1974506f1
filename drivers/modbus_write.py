"""Typed Modbus writes on one link: encode, send, read back and (optionally) verify.

The caller holds the link's lock for the whole sequence, so that no poll of ours
slips between the write and its readback.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymodbus.pdu import ModbusPDU

from drivers.modbus_address import Table
from drivers.modbus_codec import Value, as_bool, decode, decode_bit, encode, with_bit
from drivers.modbus_errors import describe_exception
from drivers.modbus_link import ModbusLink
from drivers.modbus_plan import PlannedTag, ReadBlock
from drivers.settings import ModbusTagLink

Payload = bool | list[int]
"""What goes on the wire: one bit (coil or register bit) or whole registers."""


def decode_planned(planned: PlannedTag, words: Sequence[int]) -> Value:
    """The typed value of one tag from its span of a block's response (scaled, for a scaled tag)."""
    address, tag = planned.address, planned.tag
    if address.table.is_bit:
        return bool(words[0])
    if address.bit is not None:
        return decode_bit(words[0], address.bit)
    link = ModbusTagLink.of(tag.link)
    value = decode(words, link.register_type(tag.type), link.byte_order, tag.string_length)
    if link.scale is not None:
        assert isinstance(value, int)  # the schema allows scaling on integer registers only
        return link.scale.to_engineering(value)
    return value


def encode_planned(planned: PlannedTag, value: Value) -> Payload:
    """The wire form of ``value`` for one tag; ``ValueError`` says why it does not fit.

    A scaled tag's value is in engineering units: it must be a whole number of raw steps.
    """
    address, tag = planned.address, planned.tag
    if address.table.is_bit or address.bit is not None:
        return as_bool(value)
    link = ModbusTagLink.of(tag.link)
    data_type = link.register_type(tag.type)
    if link.scale is None:
        return encode(value, data_type, link.byte_order, tag.string_length)
    raw = link.scale.raw_for_write(value, data_type)
    return encode(raw, data_type, link.byte_order, tag.string_length)


async def send_write(link: ModbusLink, planned: PlannedTag, payload: Payload) -> ModbusPDU:
    """Write a coil, a register bit (read-modify-write) or whole registers; the caller holds the lock."""
    address, unit = planned.address, planned.unit
    if address.table is Table.COIL:
        return await link.write_coil(address.index, bool(payload), unit)
    if address.bit is not None:
        return await _write_bit(link, address.index, address.bit, bool(payload), unit)
    assert isinstance(payload, list)
    return await link.write_registers(address.index, payload, unit)


async def _write_bit(link: ModbusLink, index: int, bit: int, value: bool, unit: int) -> ModbusPDU:
    # Read-modify-write under our lock keeps out our own requests, but not the PLC:
    # should its program change another bit of this register between our read and
    # our write, that change is overwritten. Mask write (FC22) would be atomic but
    # many devices lack it; a register shared by HMI and PLC bits is a design risk.
    current = await link.read(Table.HOLDING_REGISTER, index, 1, unit)
    if current.isError() or not current.registers:
        return current
    return await link.write_registers(index, [with_bit(current.registers[0], bit, value)], unit)


def readback_mismatch(
    planned: PlannedTag, payload: Payload, block: ReadBlock, response: ModbusPDU
) -> str | None:
    """Why a readback does not show what was written (None when it does).

    Registers are compared as raw words, so a float reads back equal exactly when
    the device stored the very bits we sent.
    """
    if response.isError():
        return f"the readback was refused: {describe_exception(response.exception_code)}"
    data = response.bits if block.table.is_bit else response.registers
    if len(data) < block.count:
        return f"the readback was short ({len(data)} values)"
    span = block.span_of(planned, data)
    address = planned.address
    stored: object
    if address.table.is_bit:
        stored = bool(span[0])
    elif address.bit is not None:
        stored = decode_bit(span[0], address.bit)
    else:
        stored = list(span)
    if stored == payload:
        return None
    shown: object
    try:
        shown = decode_planned(planned, span)
    except ValueError:
        shown = stored
    return f"the device holds {shown!r} after the write"
