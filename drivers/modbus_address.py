"""Modbus addresses as engineers write them: ``hr:100``, ``hr:10.3``, ``co:0`` or Modicon ``400101``."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from hmi.model import DataType


class Table(enum.StrEnum):
    """The four Modbus data tables."""

    COIL = "co"
    DISCRETE_INPUT = "di"
    INPUT_REGISTER = "ir"
    HOLDING_REGISTER = "hr"

    @property
    def is_bit(self) -> bool:
        """Coils and discrete inputs hold bits; the others hold 16-bit registers."""
        return self in (Table.COIL, Table.DISCRETE_INPUT)

    @property
    def is_writable(self) -> bool:
        """Only coils and holding registers accept writes."""
        return self in (Table.COIL, Table.HOLDING_REGISTER)


_MODICON_PREFIX = {
    "0": Table.COIL,
    "1": Table.DISCRETE_INPUT,
    "3": Table.INPUT_REGISTER,
    "4": Table.HOLDING_REGISTER,
}
_ZERO_BASED = re.compile(r"^(co|di|ir|hr):(\d+)(?:\.(\d+))?$")
_MODICON = re.compile(r"^([0134])(\d{4,5})(?:\.(\d+))?$")
MAX_ADDRESS = 65535

REGISTER_COUNT = {
    DataType.BOOL: 1,
    DataType.INT16: 1,
    DataType.UINT16: 1,
    DataType.INT32: 2,
    DataType.UINT32: 2,
    DataType.FLOAT32: 2,
    DataType.INT64: 4,
    DataType.UINT64: 4,
    DataType.FLOAT64: 4,
}


@dataclass(frozen=True, slots=True)
class ModbusAddress:
    """A zero-based protocol address in one table, optionally one bit of a register."""

    table: Table
    index: int
    bit: int | None = None

    def __str__(self) -> str:
        return f"{self.table.value}:{self.index}" + (f".{self.bit}" if self.bit is not None else "")


def parse_address(text: str) -> ModbusAddress:
    """Parse ``hr:100``, ``hr:10.3`` or Modicon ``400101``/``40101`` (one-based) into a protocol address.

    Raises ``ValueError`` with a message fit for ``file:line: message``.
    """
    text = str(text).strip()
    if match := _ZERO_BASED.match(text):
        table, index, bit = Table(match[1]), int(match[2]), match[3]
    elif match := _MODICON.match(text):
        table, number, bit = _MODICON_PREFIX[match[1]], int(match[2]), match[3]
        if number == 0:
            raise ValueError(f"Modicon address {text!r}: numbering starts at 1")
        index = number - 1
    else:
        raise ValueError(
            f"bad Modbus address {text!r}: expected co:N, di:N, ir:N, hr:N (zero-based, optional .BIT) "
            "or a Modicon number such as 400101"
        )
    if index > MAX_ADDRESS:
        raise ValueError(f"Modbus address {text!r} is beyond {MAX_ADDRESS}")
    bit_number = None
    if bit is not None:
        bit_number = int(bit)
        if table.is_bit:
            raise ValueError(f"Modbus address {text!r}: a bit index applies only to registers (ir, hr)")
        if bit_number > 15:
            raise ValueError(f"Modbus address {text!r}: bit {bit_number} is outside 0..15")
    return ModbusAddress(table, index, bit_number)


def register_count(data_type: DataType, string_length: int = 0) -> int:
    """How many 16-bit registers a value of ``data_type`` occupies."""
    if data_type is DataType.STRING:
        return max(1, (string_length + 1) // 2)
    return REGISTER_COUNT[data_type]


def check_type_fits(address: ModbusAddress, data_type: DataType) -> None:
    """Raise ``ValueError`` when a type cannot live at an address.

    For example float32 on a coil, or bool on a whole register (it needs a bit index).
    """
    if address.table.is_bit and data_type is not DataType.BOOL:
        raise ValueError(
            f"type {data_type.value} does not fit {address}: coils and discrete inputs hold bool only"
        )
    if address.bit is not None and data_type is not DataType.BOOL:
        raise ValueError(f"type {data_type.value} does not fit {address}: a register bit is bool")
    if not address.table.is_bit and address.bit is None and data_type is DataType.BOOL:
        raise ValueError(f"type bool at {address} needs a bit index (for example {address}.0)")
