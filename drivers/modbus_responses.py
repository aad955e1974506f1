"""Read responses decoded at C speed: the same values as pymodbus's own classes, registered per client.

pymodbus 3.16 decodes a register answer with one ``struct.unpack`` per register, a coil answer
with a Python loop per bit, and builds ``str(pdu)`` of every decoded answer for a debug message
even when debug logging is off: about 60 µs for 125 registers and 200 µs for 1,000 coils here,
paid on every read before the driver sees the words. These subclasses, handed to the client's
decoder with its documented ``register`` hook, decode in one call (``struct.unpack_from`` over the
words, a table of the 256 bytes' bits) and describe themselves briefly. Validation is pymodbus's:
a register answer whose byte count does not fit the frame raises ``ModbusIOException`` as before;
the driver's own frame check (``drivers.modbus_frames``) still compares every answer with its request.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from itertools import chain

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu.bit_message import ReadCoilsResponse, ReadDiscreteInputsResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

_BITS = tuple(tuple(bool(byte & (1 << bit)) for bit in range(8)) for byte in range(256))
"""Each byte's bits, least significant first (Modbus's order within a byte)."""


@lru_cache(maxsize=256)
def _words(count: int) -> struct.Struct:
    return struct.Struct(f">{count}H")


def _brief(pdu: ReadCoilsResponse | ReadHoldingRegistersResponse, values: str, size: int) -> str:
    name = type(pdu).__name__
    return f"{name}(dev_id={pdu.dev_id}, transaction_id={pdu.transaction_id}, {values}={size})"


class FastHoldingRegisters(ReadHoldingRegistersResponse):
    """A holding-register answer: its registers in one ``unpack_from``."""

    def decode(self, data: bytes) -> None:
        """Decode the registers (as pymodbus does: a byte count that does not fit the frame is an error)."""
        if (data_len := int(data[0])) >= len(data):
            raise ModbusIOException(
                f"byte_count {data_len} > length of packet {len(data)}", function_code=self.function_code
            )
        self.registers = list(_words(data_len // 2).unpack_from(data, 1))

    def __str__(self) -> str:
        """A short description: pymodbus formats one for a debug message on every answer."""
        return _brief(self, "registers", len(self.registers))


class FastInputRegisters(FastHoldingRegisters, ReadInputRegistersResponse):
    """An input-register answer (function code 4), decoded as a holding-register one."""

    function_code = 4


class FastCoils(ReadCoilsResponse):
    """A coil answer: its bits through a table of every byte's bits."""

    def decode(self, data: bytes) -> None:
        """Decode every bit after the byte count, as pymodbus does."""
        self.bits = list(chain.from_iterable(map(_BITS.__getitem__, data[1:])))

    def __str__(self) -> str:
        """A short description: pymodbus formats one for a debug message on every answer."""
        return _brief(self, "bits", len(self.bits))


class FastDiscreteInputs(FastCoils, ReadDiscreteInputsResponse):
    """A discrete-input answer (function code 2), decoded as a coil one."""

    function_code = 2


def register_fast_reads(client: AsyncModbusTcpClient) -> None:
    """Have ``client`` decode read answers with the classes above."""
    for response in (FastCoils, FastDiscreteInputs, FastHoldingRegisters, FastInputRegisters):
        client.register(response)
