"""One Modbus TCP connection: open and close it, send one request at a time, time and count them.

pymodbus's own recovery is switched off so that the driver's supervisor alone
decides when to reconnect: ``reconnect_delay=0`` starts no reconnect task when
the link drops, ``retries=0`` sends each request once and waits ``timeout`` for
the answer, and no request is ever sent on a closed client (pymodbus would
quietly reconnect inside the request). A link the peer closes sets ``lost`` at
once through pymodbus's ``trace_connect``. Every answer is checked against its request on
the bytes (``drivers.modbus_frames``): one that does not match is a ``ProtocolError``, and
its data is never decoded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from drivers.modbus_address import Table
from drivers.modbus_errors import LinkError, ProtocolError, describe_exception
from drivers.modbus_frames import FrameCheck
from drivers.modbus_lock import PriorityLock
from drivers.modbus_responses import register_fast_reads
from drivers.modbus_stats import RequestStats
from drivers.settings import ModbusSettings

TIMEOUT_GUARD_S = 0.5
"""Margin over pymodbus's own response timeout before we give up on a request ourselves."""

Request = Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU]]


class ModbusLink:
    """A Modbus TCP client connection to one device, with its request lock and statistics.

    Requests name their unit id; without one they go to the connection's. Several links
    to one device may share one ``RequestStats``.
    """

    def __init__(self, name: str, settings: ModbusSettings, stats: RequestStats | None = None) -> None:
        self.name = name
        self.settings = settings
        self.lock = PriorityLock()
        """Taken around every request (or read-modify-write); writes pass queued polls."""
        self.stats = stats or RequestStats()
        self.lost = asyncio.Event()
        """Set when the peer closes the current connection."""
        self._client: AsyncModbusTcpClient | None = None
        self._frames = FrameCheck()
        self._what = ""

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._client is not None and self._client.connected

    async def open(self) -> None:
        """Connect; raise ``LinkError`` when the device refuses or does not answer within the timeout."""
        self.close()
        lost = self.lost = asyncio.Event()

        def on_link_change(up: bool) -> None:
            if not up:
                lost.set()

        # A fresh client per connection: nothing of a failed link (a pending response) carries over.
        self._client = AsyncModbusTcpClient(
            self.settings.host,
            port=self.settings.port,
            name=self.name,
            timeout=self.settings.timeout,
            retries=0,
            reconnect_delay=0,
            trace_connect=on_link_change,
            trace_packet=self._frames.trace,
        )
        register_fast_reads(self._client)  # the same values, one C call per answer instead of one per word
        if not await self._client.connect():
            self.close()
            message = f"cannot connect to {self.settings.host}:{self.settings.port} (refused or timed out)"
            self.stats.record_error(message)
            raise LinkError(message)

    def close(self) -> None:
        """Drop the connection, if any; never raises."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def call(self, what: str, request: Request) -> ModbusPDU:
        """Send one request and await its answer; the caller holds ``lock``.

        Returns normal and exception responses alike (``isError()`` tells them
        apart); raises ``ProtocolError`` when the answer does not match the request,
        ``LinkError`` when the link is down or the device does not answer in time.
        ``what`` names the request in error messages.
        """
        client = self._client
        if client is None or not client.connected:
            raise LinkError("not connected")
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._what = what
        self._frames.arm()
        try:
            async with asyncio.timeout(self.settings.timeout + TIMEOUT_GUARD_S):
                response = await request(client)
        except (ModbusIOException, TimeoutError) as exc:
            self._raise_violation(what, exc)
            message = f"{what}: no response within {self.settings.timeout:g} s"
            self.stats.record_error(message)
            raise LinkError(message) from exc
        except (ConnectionException, OSError) as exc:
            self._raise_violation(what, exc)
            message = f"{what}: connection failed ({exc})"
            self.stats.record_error(message)
            raise LinkError(message) from exc
        self._raise_violation(what)
        self.stats.record(loop.time() - started)
        if response.isError():
            self.stats.record_error(f"{what}: {describe_exception(response.exception_code)}", True)
        return response

    def protocol_error(self) -> ProtocolError | None:
        """The error of the last request when its answer did not match it, else None."""
        violation = self._frames.violation
        return None if violation is None else ProtocolError(f"{self._what}: protocol error: {violation}")

    def _raise_violation(self, what: str, cause: BaseException | None = None) -> None:
        """Raise ``ProtocolError`` when an answer to the request in flight did not match it."""
        error = self.protocol_error()
        if error is None:
            return
        self.stats.record_error(str(error))
        # The client may still wait for an answer or hold a stray one: no later request may use it.
        self.close()
        raise error from cause

    async def read(self, table: Table, start: int, count: int, unit: int | None = None) -> ModbusPDU:
        """Read ``count`` bits or registers of ``table`` from ``start``; the caller holds ``lock``."""
        unit = self.settings.unit if unit is None else unit

        def send(client: AsyncModbusTcpClient) -> Awaitable[ModbusPDU]:
            match table:
                case Table.COIL:
                    return client.read_coils(start, count=count, device_id=unit)
                case Table.DISCRETE_INPUT:
                    return client.read_discrete_inputs(start, count=count, device_id=unit)
                case Table.INPUT_REGISTER:
                    return client.read_input_registers(start, count=count, device_id=unit)
                case Table.HOLDING_REGISTER:
                    return client.read_holding_registers(start, count=count, device_id=unit)

        return await self.call(f"read unit {unit} {table.value}:{start}+{count}", send)

    async def write_coil(self, index: int, value: bool, unit: int | None = None) -> ModbusPDU:
        """Write one coil (function 5); the caller holds ``lock``."""
        unit = self.settings.unit if unit is None else unit
        return await self.call(
            f"write unit {unit} co:{index}", lambda c: c.write_coil(index, value, device_id=unit)
        )

    async def write_registers(self, index: int, values: Sequence[int], unit: int | None = None) -> ModbusPDU:
        """Write holding registers: function 6 for one, 16 for several; the caller holds ``lock``."""
        unit = self.settings.unit if unit is None else unit
        what = f"write unit {unit} hr:{index}"
        if len(values) == 1:
            return await self.call(what, lambda c: c.write_register(index, values[0], device_id=unit))
        return await self.call(what, lambda c: c.write_registers(index, list(values), device_id=unit))
