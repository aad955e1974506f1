"""One stale rule, enforced by the runtime and handed to the drivers, against a real pymodbus server.

A relay on loopback sits between the driver and the server and can hold back the requests of one block,
as a device that stops answering part of its map does while the rest keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from drivers.settings import ModbusSettings
from hmi.core.runtime import TagRuntime
from hmi.model import DataType, Quality, Reason, StalePolicy, TagDef
from hmi.project.config import ConnectionConfig, HistorySettings, Project

POLICY = StalePolicy(periods=3, minimum=1.0)
HELD_START = 100


class BlockHoldingRelay:
    """Forwards Modbus TCP between a client and a server; holds back reads of one start address on demand."""

    def __init__(self, upstream_port: int, held_start: int) -> None:
        self.upstream_port = upstream_port
        self.held_start = held_start
        self.released = asyncio.Event()
        self.released.set()
        self.held_requests = 0
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, *self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pumps = [
            asyncio.create_task(self._requests(client_reader, server_writer)),
            asyncio.create_task(self._responses(server_reader, client_writer)),
        ]
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._pumps.difference_update(pumps)
            server_writer.close()
            client_writer.close()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = await reader.readexactly(7)  # MBAP: transaction, protocol, length, unit
                (length,) = struct.unpack(">H", header[4:6])
                pdu = await reader.readexactly(length - 1)
                function, start = pdu[0], struct.unpack(">H", pdu[1:3])[0] if len(pdu) >= 3 else -1
                if function in (1, 2, 3, 4) and start == self.held_start and not self.released.is_set():
                    self.held_requests += 1
                    await self.released.wait()
                writer.write(header + pdu)
                await writer.drain()

    @staticmethod
    async def _responses(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()


@contextlib.asynccontextmanager
async def relay(upstream_port: int) -> AsyncIterator[BlockHoldingRelay]:
    relaying = BlockHoldingRelay(upstream_port, HELD_START)
    await relaying.start()
    try:
        yield relaying
    finally:
        relaying.released.set()
        await relaying.stop()


def project_on(port: int) -> Project:
    # Two sockets: each block polls on its own link, so the held block stalls only itself.
    settings = ModbusSettings("127.0.0.1", port, unit=1, timeout=5.0, sockets=2)
    tags = {
        "STEADY": TagDef("STEADY", "plc1", "hr:0", DataType.UINT16, scan_period=0.1),
        "HELD": TagDef("HELD", "plc1", f"hr:{HELD_START}", DataType.UINT16, scan_period=0.1),
    }
    return Project(
        name="stale",
        root=Path("."),
        connections={"plc1": ConnectionConfig("plc1", "modbus", settings)},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


def test_a_driver_may_re_send_unchanged_samples_only_well_inside_the_stale_limit() -> None:
    for policy in (StalePolicy(), POLICY, StalePolicy(periods=5, minimum=0.5)):
        for period in (0.05, 0.1, 0.25, 1.0, 10.0):  # bounded: 15 cases
            window, limit = policy.reuse_window(period), policy.limit(period)
            assert period < window < limit, (policy, period)


async def test_a_block_that_stops_answering_turns_stale_alone_and_returns_freshly_stamped(
    free_port: Callable[[], int],
) -> None:
    port = free_port()
    values = [7] + [0] * 99 + [42] + [0] * 99
    async with modbus_server(port, device(hr=values)), relay(port) as relaying:
        runtime = TagRuntime(project_on(relaying.port), stale=POLICY)
        await runtime.start()
        try:
            assert runtime.drivers["plc1"].stale is POLICY, "the driver works to the runtime's rule"
            await wait_for(lambda: runtime.values["HELD"].is_good and runtime.values["STEADY"].is_good)
            relaying.released.clear()
            held_at = time.time()
            await wait_for(lambda: runtime.values["HELD"].reason is Reason.STALE, within=POLICY.minimum + 2)
            stale = runtime.values["HELD"]
            assert stale.quality is Quality.UNCERTAIN and stale.value == 42, "stale keeps its value"
            assert time.time() - held_at >= POLICY.minimum * 0.9
            assert runtime.values["STEADY"].is_good, "the rest of the device still answers"
            assert relaying.held_requests == 1
            await asyncio.sleep(0.5)  # stale for a while: the held read is older than any reuse window
            released_at = time.time()
            relaying.released.set()
            await wait_for(lambda: runtime.values["HELD"].is_good, within=3)
            fresh = runtime.values["HELD"]
            assert fresh.value == 42
            assert fresh.ts >= released_at - 0.05, "a recovery is stamped afresh, never back in time"
        finally:
            await runtime.stop()
