"""The driver's read answers decode to exactly what pymodbus's own classes give, hostile ones included."""

from __future__ import annotations

import random

import pytest
from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu.bit_message import ReadCoilsResponse, ReadDiscreteInputsResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

from drivers.modbus_responses import FastCoils, FastDiscreteInputs, FastHoldingRegisters, FastInputRegisters

PAIRS = [
    (FastHoldingRegisters, ReadHoldingRegistersResponse, 3),
    (FastInputRegisters, ReadInputRegistersResponse, 4),
    (FastCoils, ReadCoilsResponse, 1),
    (FastDiscreteInputs, ReadDiscreteInputsResponse, 2),
]


def _outcome(cls: type, data: bytes) -> object:
    pdu = cls()
    try:
        pdu.decode(data)
    except ModbusIOException:
        return "refused"
    return (list(pdu.registers), list(pdu.bits))


@pytest.mark.parametrize(("fast", "plain", "code"), PAIRS)
def test_every_answer_decodes_as_pymodbus_decodes_it(fast: type, plain: type, code: int) -> None:
    assert fast.function_code == plain.function_code == code
    rng = random.Random(code)
    for _ in range(300):  # bounded: random frames, byte counts right, short, odd and too long
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        count = rng.choice([len(body), len(body) - 1, len(body) + 1, rng.randrange(256)])
        data = bytes([max(0, min(255, count))]) + body
        assert _outcome(fast, data) == _outcome(plain, data), data
    full = bytes([250]) + bytes(range(250))
    assert _outcome(fast, full) == _outcome(plain, full)


def test_an_answer_describes_itself_briefly() -> None:
    pdu = FastHoldingRegisters()
    pdu.decode(bytes([250]) + bytes(range(250)))
    assert str(pdu) == "FastHoldingRegisters(dev_id=0, transaction_id=0, registers=125)"
