"""The PLCs of ``hmi bench scale``: pymodbus servers in a process of their own, one per port.

Run as ``python -m benchmarks.scale_server REGISTERS PORT [PORT ...]``. Every holding register a
read covers changes before the read is answered (as a plant's values move once a second at a 1 s
scan), and each read is logged by its block (first address and register count) and the wall time
it was served: that is what the benchmark calls *offered* (the values the PLC served), and the
reads of each port's lowest block give the scan's lateness as the PLC sees it, at no cost to the
runtime under test.

It prints ``listening`` once every port is open, serves until its stdin closes (the benchmark ends
or dies; it never outlives it), then prints one JSON line: ``{port: {"first:count": [served at]}}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

FLOAT_SAFE = 0x7F00
"""Registers stay below this, so that a float32's high word never makes an infinity or a NaN."""


def _change(registers: list[int], first: int, count: int) -> None:
    """Step every register of the read by one: each tag over them reads a new value."""
    for i in range(max(0, first), min(len(registers), first + count)):
        registers[i] = (registers[i] + 1) % FLOAT_SAFE


async def _serve(size: int, ports: list[int]) -> dict[int, dict[str, list[float]]]:
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    logging.disable(logging.WARNING)  # pymodbus's deprecation notices are not results
    served: dict[int, dict[str, list[float]]] = {}
    servers = []
    for port in ports:
        log: dict[str, list[float]] = served.setdefault(port, {})
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
        server = ModbusTcpServer(ModbusServerContext(devices=device), address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        servers.append(server)
    print("listening", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        await server.shutdown()
    return served


def main(argv: list[str]) -> None:
    """Serve until stdin closes, then print what was served."""
    size, ports = int(argv[0]), [int(p) for p in argv[1:]]
    served: dict[Any, Any] = asyncio.run(_serve(size, ports))
    print(json.dumps({str(port): log for port, log in served.items()}))


if __name__ == "__main__":
    main(sys.argv[1:])
