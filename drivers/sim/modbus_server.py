"""The demo plant's Modbus TCP face: a real pymodbus server serving the map of the demo project.

Map (unit 1, zero-based protocol addresses, float32 as two registers, high word first):

    hr:0  TANK1.LEVEL         float32  %       read only
    hr:2  TANK1.INFLOW        float32  m³/h    read only
    hr:4  TANK1.OUTFLOW       float32  m³/h    read only
    hr:10 PUMP1.SPEED_SP      uint16   rpm     read/write
    hr:11 PUMP1.SPEED         uint16   rpm     read only
    hr:12 VALVE1.POSITION_SP  uint16   %       read/write
    hr:14 PUMP1.VIBRATION     float32  mm/s    read only
    hr:16 PUMP1.BEARING_TEMP  float32  °C      read only
    co:0  PUMP1.RUN           bool             driven by the PLC program
    co:1  PUMP1.AUTO          bool             read/write
    co:2  PUMP1.CMD           bool             read/write
    co:3  PUMP1.TRIPPED       bool             the vibration protection (latched)

Every other address below ``SPARE_TO`` in each of the four tables is spare memory
that reads zero and keeps what a client writes; beyond it the server answers
exception 2 (illegal address), as a PLC does.
"""

from __future__ import annotations

import asyncio
import logging
import struct

from pymodbus.constants import ExcCodes
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.sim.process import TankProcess

SPARE_TO = 200
"""Each table serves addresses 0 .. SPARE_TO - 1."""

FLOAT32_REGISTERS = {0: "level", 2: "inflow", 4: "outflow", 14: "vibration", 16: "bearing_temperature"}
UINT16_REGISTERS = {10: "speed_setpoint", 11: "pump_speed", 12: "valve_setpoint"}
WRITABLE_REGISTERS = {10: "speed_setpoint", 12: "valve_setpoint"}
COILS = {0: "pump_running", 1: "auto", 2: "command", 3: "tripped"}
WRITABLE_COILS = {1: "auto", 2: "command"}
"""Modbus address -> ``TankProcess`` attribute."""

log = logging.getLogger(__name__)

_COIL_FUNCTIONS = frozenset({1, 5, 15})
_HOLDING_FUNCTIONS = frozenset({3, 6, 16, 22, 23})
_STOP_TIMEOUT_S = 2.0


def float32_words(value: float) -> tuple[int, int]:
    """A float32 as two registers, high word first (byte order ABCD)."""
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return high, low


def _uint16(value: float) -> int:
    return min(max(round(value), 0), 0xFFFF)


def _build_device(unit: int) -> SimDevice:
    """Registers laid out so that measured values refuse client writes and setpoints accept them."""
    holding = [
        SimData(0, count=6, datatype=DataType.REGISTERS, readonly=True),
        SimData(6, count=4, datatype=DataType.REGISTERS),
        SimData(10, datatype=DataType.REGISTERS),
        SimData(11, datatype=DataType.REGISTERS, readonly=True),
        SimData(12, count=2, datatype=DataType.REGISTERS),
        SimData(14, count=4, datatype=DataType.REGISTERS, readonly=True),
        SimData(18, count=SPARE_TO - 18, datatype=DataType.REGISTERS),
    ]
    coils = [SimData(0, count=SPARE_TO, values=False, datatype=DataType.BITS)]
    discrete_inputs = [SimData(0, count=SPARE_TO, values=False, datatype=DataType.BITS)]
    input_registers = [SimData(0, count=SPARE_TO, datatype=DataType.REGISTERS)]
    return SimDevice(id=unit, simdata=(coils, discrete_inputs, holding, input_registers))


class ModbusPlantServer:
    """Serves a ``TankProcess`` over Modbus TCP; restartable on the same port to simulate an outage.

    The register image is rendered from the process on every request, so a read
    always sees the latest tick and both words of a float come from the same tick.
    Client writes to setpoints and mode coils go straight into the process.
    """

    def __init__(self, process: TankProcess, host: str = "127.0.0.1", port: int = 0, unit: int = 1) -> None:
        self._process = process
        self._host = host
        self._port = port
        self._unit = unit
        self._server: ModbusTcpServer | None = None

    @property
    def port(self) -> int:
        """The TCP port served; a requested port of 0 is replaced by the real one at the first start."""
        return self._port

    @property
    def running(self) -> bool:
        """True while the server listens."""
        return self._server is not None

    async def start(self) -> None:
        """Listen on the host and port; raises ``OSError`` when the port cannot be bound."""
        if self._server is not None:
            return
        identity = ModbusDeviceIdentification(
            info_name={"VendorName": "Converge", "ProductName": "Demo plant PLC", "ModelName": "Tank 1"}
        )
        device = _build_device(self._unit)
        device.action = self._on_request
        server = ModbusTcpServer(device, address=(self._host, self._port), identity=identity)
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(f"cannot listen for Modbus TCP on {self._host}:{self._port}") from exc
        listener: asyncio.Server = server.transport  # type: ignore[assignment]
        self._port = listener.sockets[0].getsockname()[1]
        self._server = server

    async def stop(self) -> None:
        """Stop listening and drop every client connection, as a PLC losing power would."""
        server, self._server = self._server, None
        if server is None:
            return
        listener: asyncio.Server | None = server.transport  # type: ignore[assignment]
        await server.shutdown()
        if listener is None:
            return
        try:
            await asyncio.wait_for(listener.wait_closed(), _STOP_TIMEOUT_S)
        except TimeoutError:
            # The port is already released; only a client's half-closed socket lingers.
            log.warning("demo plant: Modbus connections still closing after %.0f s", _STOP_TIMEOUT_S)

    async def _on_request(
        self,
        function_code: int,
        start_address: int,
        address: int,
        _count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        # pymodbus calls this before it reads or writes the block: refresh the image,
        # then hand a write to the process; pymodbus stores the written values afterwards.
        if function_code in _COIL_FUNCTIONS:
            self._render_coils(registers, start_address)
            if set_values is not None:
                self._write_coils(address, [bool(value) for value in set_values])
        elif function_code in _HOLDING_FUNCTIONS:
            self._render_holding(registers, start_address)
            if set_values is not None:
                self._write_registers(address, [int(value) for value in set_values])
        return None

    def _render_holding(self, registers: list[int], start_address: int) -> None:
        for address, name in FLOAT32_REGISTERS.items():
            offset = address - start_address
            registers[offset], registers[offset + 1] = float32_words(getattr(self._process, name))
        for address, name in UINT16_REGISTERS.items():
            registers[address - start_address] = _uint16(getattr(self._process, name))

    def _render_coils(self, registers: list[int], start_register: int) -> None:
        # Coils are packed 16 to a register, coil 0 in bit 0.
        for address, name in COILS.items():
            offset, bit = divmod(address, 16)
            mask = 1 << bit
            index = offset - start_register
            if getattr(self._process, name):
                registers[index] |= mask
            else:
                registers[index] &= ~mask

    def _write_registers(self, first: int, values: list[int]) -> None:
        for address, value in enumerate(values, start=first):
            if name := WRITABLE_REGISTERS.get(address):
                setattr(self._process, name, value)

    def _write_coils(self, first: int, values: list[bool]) -> None:
        for address, value in enumerate(values, start=first):
            if name := WRITABLE_COILS.get(address):
                setattr(self._process, name, value)
