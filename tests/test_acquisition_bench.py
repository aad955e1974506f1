"""The shape of ``hmi bench connections``: its server changes every value between two reads of a block."""

from __future__ import annotations

import asyncio

from pymodbus.client import AsyncModbusTcpClient

from benchmarks import connections, runner


def test_connections_is_listed_and_its_server_is_not() -> None:
    names = runner.available()
    assert "connections" in names
    assert "modbus_image_server" not in names


def test_the_image_server_changes_every_value_of_a_block_between_two_reads() -> None:
    async def reads() -> list[list[int]]:
        async with connections._servers(1, 400) as (port,):
            client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5.0)
            await client.connect()
            try:
                seen = []
                for start in (0, 125, 0, 125):  # two blocks, each read twice, interleaved as a scan reads
                    response = await client.read_holding_registers(start, count=125, device_id=1)
                    assert not response.isError()
                    seen.append(response.registers)
                refused = await client.read_holding_registers(390, count=20, device_id=1)
                assert refused.isError() and refused.exception_code == 2  # past the image: illegal address
                return seen
            finally:
                client.close()

    first_a, first_b, again_a, again_b = asyncio.run(reads())
    assert all(x != y for x, y in zip(first_a, again_a, strict=True))
    assert all(x != y for x, y in zip(first_b, again_b, strict=True))
    assert all(r < 0x7F00 for r in first_a + again_a)  # no float32 high word of an infinity or a NaN
