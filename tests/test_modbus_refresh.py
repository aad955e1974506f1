"""A steady plant costs one call per unchanged block: the driver reports freshness, not copies of samples."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from modbus_peer import Recorder, device, make_driver, modbus_server, running, tag, wait_for
from pymodbus.client import AsyncModbusTcpClient

from hmi.model import DataType


async def test_an_unchanged_block_refreshes_its_tags_and_a_change_publishes_a_sample(
    free_port: Callable[[], int],
) -> None:
    port, recorder = free_port(), Recorder()
    plant = device(hr=[11, 22, 33] + [0] * 47)
    tags = [tag("A", "hr:0"), tag("B", "hr:1"), tag("C", "hr:2", DataType.INT16)]
    refreshed: list[tuple[str, ...]] = []
    async with modbus_server(port, plant):
        driver = make_driver(port, tags, recorder)

        def on_refresh(names: Sequence[str]) -> None:
            refreshed.append(tuple(names))

        driver.on_refresh = on_refresh
        async with running(driver):
            await wait_for(lambda: recorder.good("A", "B", "C"))
            await wait_for(lambda: len(refreshed) >= 3)
            assert refreshed[-1] == ("A", "B", "C")
            counts_before = dict(recorder.counts)
            await asyncio.sleep(0.35)  # a few 100 ms scans of a steady block
            assert dict(recorder.counts) == counts_before, "steady values must not be re-sent one by one"
            other = AsyncModbusTcpClient("127.0.0.1", port=port)  # another master changes the register
            await other.connect()
            await other.write_register(0, 99, device_id=1)
            other.close()
            await wait_for(lambda: recorder.value("A") == 99)
            assert recorder.value("B") == 22


async def test_without_a_refresh_consumer_unchanged_samples_are_re_sent(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    driver = make_driver(port, [tag("A", "hr:0")], recorder)
    async with modbus_server(port, device(hr=[5] * 50)), running(driver):
        await wait_for(lambda: recorder.counts["A"] >= 4)
        assert recorder.value("A") == 5
