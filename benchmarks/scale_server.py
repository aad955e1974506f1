"""The PLCs of ``hmi bench scale``: pymodbus servers in a process of their own, one per port.

Run as ``python -m benchmarks.scale_server REGISTERS COUNT``: COUNT servers on free ports of
127.0.0.1. Every holding register a read covers changes before the read is answered (as a plant's
values move once a second at a 1 s scan), and each read is logged by its block (first address and
register count) and the wall time it was served: that is what the benchmark calls *offered* (the
values the PLC served), and the reads of each port's lowest block give the scan's lateness as the
PLC sees it, at no cost to the runtime under test.

It prints ``listening PORT ...`` once every port is open (it picks the ports itself and retries one
taken meanwhile, so nothing races the benchmark for a port), serves until its stdin closes (the
benchmark ends or dies: it never outlives it), then prints one JSON line:
``{port: {"first:count": [served at]}}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import time
from typing import Any

BIND_ATTEMPTS = 20
FLOAT_SAFE = 0x7F00
"""Registers stay below this, so that a float32's high word never makes an infinity or a NaN."""


def _change(registers: list[int], first: int, count: int) -> None:
    """Step every register of the read by one: each tag over them reads a new value."""
    for i in range(max(0, first), min(len(registers), first + count)):
        registers[i] = (registers[i] + 1) % FLOAT_SAFE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(size: int, count: int) -> dict[int, dict[str, list[float]]]:
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    logging.disable(logging.WARNING)  # pymodbus's deprecation notices are not results
    served: dict[int, dict[str, list[float]]] = {}
    servers = []
    for _ in range(count):
        log: dict[str, list[float]] = {}
        # In pymodbus 3.16 a block starting at 1 serves protocol address 0.
        device = ModbusDeviceContext(
            hr=ModbusSequentialDataBlock(1, [i % FLOAT_SAFE for i in range(size)]),
            ir=ModbusSequentialDataBlock(1, [0] * 16),
            co=ModbusSequentialDataBlock(1, [False] * 16),
            di=ModbusSequentialDataBlock(1, [False] * 16),
        )

        async def on_request(
            code: int,
            start: int,
            address: int,
            count: int,
            registers: list[int],
            values: object,
            log: dict[str, list[float]] = log,
        ) -> None:
            if values is None and code in (3, 4):  # a register read: the plant moved since the last one
                first = address - start  # the index in ``registers``, which is the protocol address
                _change(registers, first, count)
                log.setdefault(f"{first}:{count}", []).append(time.time())

        device.simdevice.action = on_request
        for attempt in range(BIND_ATTEMPTS):
            port = _free_port()
            server = ModbusTcpServer(ModbusServerContext(devices=device), address=("127.0.0.1", port))
            try:
                await server.serve_forever(background=True)
                break
            except RuntimeError:  # the port was taken between our look and the bind: another one
                if attempt == BIND_ATTEMPTS - 1:
                    raise
        served[port] = log
        servers.append(server)
    print("listening", *served, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.shutdown()
    return served


def main(argv: list[str]) -> None:
    """Serve until stdin closes, then print what was served."""
    served: dict[Any, Any] = asyncio.run(_serve(int(argv[0]), int(argv[1])))
    print(json.dumps({str(port): log for port, log in served.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
