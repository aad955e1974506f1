"""``driver: modbus`` connection entries: the strict schema of a Modbus TCP connection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt

from drivers.connection_fields import ByteOrder, ConnectionModel, PositiveDuration, Text, within
from drivers.settings import ModbusSettings


class ModbusConnectionSpec(ConnectionModel):
    """``driver: modbus`` — a Modbus TCP server."""

    driver: Literal["modbus"]
    host: Text
    port: StrictInt = Field(502, ge=1, le=65535)
    unit: StrictInt = Field(1, ge=0, le=255)
    timeout: Annotated[PositiveDuration, within("10ms", "10m")] = 1.0
    byte_order: ByteOrder = "ABCD"
    max_gap: StrictInt = Field(8, ge=0, le=125)
    sockets: StrictInt = Field(1, ge=1, le=16)
    verify: StrictBool = False

    def to_settings(self, root: Path) -> ModbusSettings:
        """The validated connection as the driver takes it (``root`` unused: it names no files)."""
        return ModbusSettings(
            self.host,
            self.port,
            self.unit,
            self.timeout,
            self.byte_order,
            self.max_gap,
            sockets=self.sockets,
            verify=self.verify,
        )
