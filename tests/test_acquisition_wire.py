"""What crosses the pipe to an acquisition process arrives equal, whatever the tag carries."""

from __future__ import annotations

from fractions import Fraction

from drivers.modbus_scaling import LinearScale
from drivers.settings import ModbusSettings, ModbusTagLink
from hmi.core.acquisition import wire
from hmi.model import ConnectionState, ConnectionStatus, DataType, DriverError, Reason, StalePolicy, TagDef
from hmi.project.config import ConnectionConfig


def test_an_open_message_arrives_equal() -> None:
    scaled = ModbusTagLink("CDAB", 3, True, LinearScale(Fraction(1, 10), Fraction(-5)), DataType.INT16)
    tags = [
        TagDef("A", "plc", "hr:0", DataType.FLOAT64, "°C", "scaled", "fast", 0.25, 0.5, True, (0.0, 100.0), 1,
               link=scaled),
        TagDef("B", "plc", "co:1", DataType.BOOL),
        TagDef("C", "plc", "hr:9", DataType.STRING, string_length=8, link=ModbusTagLink()),
    ]
    config = ConnectionConfig("plc", "modbus", ModbusSettings("127.0.0.1", 1502, sockets=2))
    message = (wire.OPEN, 1, config, tags, StalePolicy(4, 1.0), True)
    assert wire.decode(wire.encode(message)) == message


def test_a_status_with_a_structured_error_arrives_equal() -> None:
    error = DriverError("untrusted_certificate", "not trusted", {"thumbprint": "ab12"})
    status = ConnectionStatus("ua", ConnectionState.BACKING_OFF, "not trusted", 1.5, 2.0, error)
    message = (wire.STATUS, 2, status)
    assert wire.decode(wire.encode(message)) == message
    batch = (wire.BATCH, [(1, [0, 1], [2.5, 7], [1.0, 1.0])], [(1, 2, None, 0, 1.0, str(Reason.STALE))], [])
    assert wire.decode(wire.encode(batch)) == batch
