"""Helpers for Modbus tests: a real pymodbus server on 127.0.0.1 and a recorder of what a driver publishes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer

from drivers.base import Backoff
from drivers.modbus import ModbusDriver
from drivers.settings import ModbusSettings, ModbusTagLink
from hmi.core.loop_thread import LoopThread
from hmi.model import ConnectionStatus, DataType, Sample, TagDef

FAST_BACKOFF = Backoff(initial=0.1, maximum=0.3, jitter=0.0)


class Recorder:
    """Collects what a driver publishes."""

    def __init__(self) -> None:
        self.samples: dict[str, Sample] = {}
        self.counts: Counter[str] = Counter()
        self.statuses: list[ConnectionStatus] = []

    def on_sample(self, name: str, sample: Sample) -> None:
        self.samples[name] = sample
        self.counts[name] += 1

    def on_status(self, status: ConnectionStatus) -> None:
        self.statuses.append(status)

    def good(self, *names: str) -> bool:
        return all(name in self.samples and self.samples[name].is_good for name in names)

    def value(self, name: str) -> Any:
        return self.samples[name].value


async def wait_for(predicate: Callable[[], bool], within: float = 3.0) -> None:
    """Poll ``predicate`` until true; fail the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


def device(
    hr: list[int] | None = None,
    ir: list[int] | None = None,
    co: list[bool] | None = None,
    di: list[bool] | None = None,
) -> ModbusDeviceContext:
    """A device with the given tables (50 zeros each by default)."""
    # In pymodbus 3.16 a block starting at 1 serves protocol address 0.
    return ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, hr or [0] * 50),
        ir=ModbusSequentialDataBlock(1, ir or [0] * 50),
        co=ModbusSequentialDataBlock(1, co or [False] * 50),
        di=ModbusSequentialDataBlock(1, di or [False] * 50),
    )


@contextlib.asynccontextmanager
async def modbus_server(
    port: int,
    devices: ModbusDeviceContext | dict[int, ModbusDeviceContext],
    trace: Callable[[bool, ModbusPDU], ModbusPDU] | None = None,
) -> AsyncIterator[ModbusTcpServer]:
    """A pymodbus TCP server on 127.0.0.1:``port`` for the duration of the block."""
    server = ModbusTcpServer(
        ModbusServerContext(devices=devices), address=("127.0.0.1", port), trace_pdu=trace
    )
    await server.serve_forever(background=True)
    try:
        yield server
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def running(driver: ModbusDriver) -> AsyncIterator[ModbusDriver]:
    """The driver started for the duration of the block."""
    await driver.start()
    try:
        yield driver
    finally:
        await driver.stop()


def make_driver(port: int, tags: list[TagDef], recorder: Recorder, **settings: Any) -> ModbusDriver:
    """A driver named ``plc`` for a server on 127.0.0.1:``port``."""
    config = ModbusSettings("127.0.0.1", port, **{"unit": 1, "timeout": 1.0, **settings})
    return ModbusDriver("plc", config, tags, recorder.on_sample, recorder.on_status, FAST_BACKOFF)


def tag(
    name: str, address: str, data_type: DataType = DataType.UINT16, period: float = 0.1, **kw: Any
) -> TagDef:
    """A tag of connection ``plc``; ``byte_order``, ``unit`` and ``verify`` go into its Modbus link."""
    link = ModbusTagLink(**{key: kw.pop(key) for key in ("byte_order", "unit", "verify") if key in kw})
    return TagDef(name, "plc", address, data_type, scan_period=period, link=link, **kw)


# ---------------------------------------------------------------- a server in its own process

SERVER_SCRIPT = Path(__file__)
SERVER_HOLDING = [(i * 7) % 1000 for i in range(200)]
"""Holding registers 0..199 of the process server (coils and inputs alike, mod 2 and as is)."""


@contextlib.asynccontextmanager
async def server_process(port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """A pymodbus server in a child process on 127.0.0.1:``port`` (killable like a crashing PLC)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER_SCRIPT),
        str(port),
        stdin=asyncio.subprocess.PIPE,  # closed when the test process ends: the server then ends too
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert b"listening" in line, f"server process did not start: {line!r}"
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def _serve_forever(port: int) -> None:
    bits = [bool(v % 2) for v in SERVER_HOLDING]
    devices = ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, SERVER_HOLDING),
        ir=ModbusSequentialDataBlock(1, SERVER_HOLDING),
        co=ModbusSequentialDataBlock(1, bits),
        di=ModbusSequentialDataBlock(1, bits),
    )
    server = ModbusTcpServer(ModbusServerContext(devices=devices), address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    print("listening", flush=True)
    # Until killed, or until the test process is gone (our stdin closes): never outlive it.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    logging.disable(logging.WARNING)  # pymodbus's deprecation notices would clutter the test output
    asyncio.run(_serve_forever(int(sys.argv[1])))


@contextlib.contextmanager
def plc_on_thread(port: int, holding: list[int]) -> Iterator[tuple[int, ModbusTcpServer, LoopThread]]:
    """A pymodbus server with ``holding`` registers on its own loop thread, as a PLC runs beside a GUI."""
    thread = LoopThread("plc")
    thread.start()

    async def serve() -> ModbusTcpServer:  # the server binds to the loop it is created on
        server = ModbusTcpServer(ModbusServerContext(devices=device(hr=holding)), address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        return server

    try:
        server = thread.call(serve())
    except BaseException:
        thread.stop()
        raise
    try:
        yield port, server, thread
    finally:
        thread.call(server.shutdown())
        thread.stop()
