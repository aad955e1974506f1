"""Monitored items are created in calls no larger than the server's MaxMonitoredItemsPerCall."""

from __future__ import annotations

import logging

from asyncua import ua
from opcua_server import opcua_test_server
from test_opcua_driver import Recorder, make_driver, tag, wait_for

import drivers.opcua_subscriptions as subscriptions

ITEMS = 130
LIMIT = 50


async def test_items_are_created_in_chunks_the_server_accepts_with_progress_logged(
    free_port, caplog, monkeypatch
):
    monkeypatch.setattr(subscriptions, "PROGRESS_EVERY", LIMIT)  # a 50k-item connect logs every 10k
    async with opcua_test_server(free_port()) as server:
        await server.limit_monitored_items_per_call(LIMIT)
        tags = []
        for index in range(ITEMS):
            node = await server.add_variable(f"Plant.V{index}", float(index), ua.VariantType.Double)
            tags.append(tag(f"V{index}", node, scan=0.5))
        recorder = Recorder()
        driver = make_driver(server.endpoint, tags, recorder)
        with caplog.at_level(logging.INFO, logger="drivers.opcua_subscriptions"):
            await driver.start()
            try:
                await wait_for(lambda: all(recorder.is_good(t.name) for t in tags), within=10.0)
                diagnostics = driver.diagnostics()
            finally:
                await driver.stop()
    assert server.monitored_item_calls == [50, 50, 30]
    assert diagnostics["items"] == ITEMS and diagnostics["refused_items"] == 0
    assert diagnostics["max_items_per_call"] == LIMIT
    progress = [r.getMessage() for r in caplog.records if "subscribed" in r.getMessage()]
    expected = [
        "ua1: subscribed 50 of 130 items (",
        "ua1: subscribed 100 of 130 items (",
        "ua1: subscribed 130 items in ",
    ]
    assert len(progress) == len(expected)
    assert all(line.startswith(start) for line, start in zip(progress, expected, strict=True))
