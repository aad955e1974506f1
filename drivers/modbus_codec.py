"""Typed values to and from Modbus registers, for every data type and byte order. Pure functions.

Byte orders name where the bytes ``A B C D`` of a big-endian value land in the
registers. They combine two independent swaps:

- word order: ``ABCD`` and ``BADC`` send the most significant register first;
  ``CDAB`` and ``DCBA`` send the least significant register first (for 64-bit
  values all four registers are reversed);
- byte order within a register: ``ABCD`` and ``CDAB`` keep the protocol's
  big-endian registers; ``BADC`` and ``DCBA`` swap the two bytes of each one.

So a 16-bit value is only affected by the byte swap, and a string (two
characters per register, first character in the high byte) likewise: its
registers are never reordered. A bit inside a register is numbered on the
register's value as received, 0 being the least significant bit.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from drivers.modbus_address import register_count
from drivers.settings import BYTE_ORDERS
from hmi.model import DataType

Value = bool | int | float | str

_STRUCT_FORMAT = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.INT64: ">q",
    DataType.UINT64: ">Q",
    DataType.FLOAT32: ">f",
    DataType.FLOAT64: ">d",
}
_WORD_SWAPPED = frozenset({"CDAB", "DCBA"})
_BYTE_SWAPPED = frozenset({"BADC", "DCBA"})
_FLOAT_EXACT = 2**53  # every integer up to this is exactly a float64
_STRING_ENCODING = "latin-1"  # one byte per character, so string_length counts bytes too


def integer_range(data_type: DataType) -> tuple[int, int]:
    """The smallest and largest value of an integer type."""
    bits = struct.calcsize(_STRUCT_FORMAT[data_type]) * 8
    if data_type.value.startswith("u"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def string_capacity(string_length: int) -> int:
    """Characters a string tag holds: its configured length, or one register's worth when unset."""
    return string_length if string_length > 0 else 2


def check_byte_order(byte_order: str) -> None:
    """Raise ``ValueError`` for a byte order other than ABCD, CDAB, BADC, DCBA."""
    if byte_order not in BYTE_ORDERS:
        raise ValueError(f"unknown byte order {byte_order!r}: expected one of {', '.join(BYTE_ORDERS)}")


def _swap_bytes(data: bytes) -> bytes:
    swapped = bytearray(data)
    swapped[0::2], swapped[1::2] = data[1::2], data[0::2]
    return bytes(swapped)


def registers_to_bytes(registers: Sequence[int], byte_order: str, reorder_words: bool = True) -> bytes:
    """The value's bytes, most significant first, from registers as they came off the wire."""
    check_byte_order(byte_order)
    words = list(registers)
    if reorder_words and byte_order in _WORD_SWAPPED:
        words.reverse()
    data = struct.pack(f">{len(words)}H", *words)
    return _swap_bytes(data) if byte_order in _BYTE_SWAPPED else data


def bytes_to_registers(data: bytes, byte_order: str, reorder_words: bool = True) -> list[int]:
    """Registers to put on the wire for a value's bytes (most significant first); the inverse of above."""
    check_byte_order(byte_order)
    if len(data) % 2:
        raise ValueError(f"{len(data)} bytes do not fill whole registers")
    if byte_order in _BYTE_SWAPPED:
        data = _swap_bytes(data)
    words = list(struct.unpack(f">{len(data) // 2}H", data))
    if reorder_words and byte_order in _WORD_SWAPPED:
        words.reverse()
    return words


def decode(
    registers: Sequence[int], data_type: DataType, byte_order: str = "ABCD", string_length: int = 0
) -> Value:
    """The typed value held by ``registers`` (exactly as many as the type occupies)."""
    if data_type is DataType.BOOL:
        raise ValueError("a bool lives in a coil, a discrete input or a register bit: use decode_bit")
    expected = register_count(data_type, string_length)
    if len(registers) != expected:
        raise ValueError(f"{data_type.value} needs {expected} registers, got {len(registers)}")
    if data_type is DataType.STRING:
        data = registers_to_bytes(registers, byte_order, reorder_words=False)
        return data[: string_capacity(string_length)].split(b"\0", 1)[0].decode(_STRING_ENCODING)
    (value,) = struct.unpack(_STRUCT_FORMAT[data_type], registers_to_bytes(registers, byte_order))
    return shortest_float32(value) if data_type is DataType.FLOAT32 else value


def shortest_float32(value: float) -> float:
    """The shortest decimal that is the same float32: 0.1 rather than 0.10000000149011612.

    So a setpoint written as 42.1 reads back as 42.1, and it encodes to the very same registers.
    """
    if not math.isfinite(value):
        return value
    packed = struct.pack(">f", value)
    for digits in range(6, 10):  # 9 significant digits always identify a float32
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value


def encode(value: Value, data_type: DataType, byte_order: str = "ABCD", string_length: int = 0) -> list[int]:
    """The registers that hold ``value`` as ``data_type``; ``ValueError`` says why a value does not fit."""
    if data_type is DataType.BOOL:
        raise ValueError("a bool is written to a coil or a register bit, not to whole registers")
    if data_type is DataType.STRING:
        return bytes_to_registers(_string_bytes(value, string_length), byte_order, reorder_words=False)
    fmt = _STRUCT_FORMAT[data_type]
    number = _as_integer(value, data_type) if data_type.is_integer else _as_float(value, data_type)
    try:
        data = struct.pack(fmt, number)
    except (OverflowError, struct.error) as exc:
        raise ValueError(f"{value!r} is outside the range of {data_type.value}") from exc
    return bytes_to_registers(data, byte_order)


def _as_integer(value: Value, data_type: DataType) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{data_type.value} needs a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"{data_type.value} needs a whole number, got {value!r}")
        if abs(value) > _FLOAT_EXACT:
            # Past 2**53 a float has already lost the last digits: writing it would look exact and not be.
            raise ValueError(f"{data_type.value} needs an exact integer, got the float {value!r}")
        value = int(value)
    low, high = integer_range(data_type)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside the range of {data_type.value} ({low}..{high})")
    return value


def _as_float(value: Value, data_type: DataType) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{data_type.value} needs a number, got {value!r}")
    return float(value)


def _string_bytes(value: Value, string_length: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"string needs text, got {value!r}")
    if "\0" in value:
        raise ValueError("string must not contain NUL: it ends the text in the device")
    try:
        data = value.encode(_STRING_ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{value!r} has characters a Modbus string cannot hold (Latin-1 only)") from exc
    capacity = string_capacity(string_length)
    if len(data) > capacity:
        raise ValueError(f"{value!r} is longer than the {capacity} characters the tag holds")
    return data.ljust(register_count(DataType.STRING, string_length) * 2, b"\0")


def as_bool(value: Value) -> bool:
    """A value fit for a coil or a register bit: a bool, or the numbers 0 and 1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise ValueError(f"bool needs true/false or 0/1, got {value!r}")


def decode_bit(register: int, bit: int) -> bool:
    """Bit ``bit`` (0 = least significant) of a register value."""
    return bool((register >> bit) & 1)


def with_bit(register: int, bit: int, value: bool) -> int:
    """The register value with bit ``bit`` set to ``value`` and every other bit unchanged."""
    mask = 1 << bit
    return (register | mask) if value else (register & ~mask & 0xFFFF)
