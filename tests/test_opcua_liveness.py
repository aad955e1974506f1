"""Liveness of an OPC UA link: a busy client is not a dead server, and a dead server is still found.

The probe here is a coroutine standing in for the read of the server state, so that the
server's answer time and the client's own load can be set exactly; the whole driver
against a frozen server is in test_opcua_driver (``a_server_that_hangs_is_noticed``).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from drivers.opcua_liveness import LinkLiveness, LivenessPolicy

ANSWER_AFTER = 2.2
"""The server's answer to the probe comes after this long: longer than the 1.5 s probe floor."""


def spin(seconds: float) -> None:
    """Keep the event loop from running anything else, as parsing a huge publish response does."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


async def slow_answer() -> int:
    await asyncio.sleep(ANSWER_AFTER)
    return 0


async def busy_client(chunks: int) -> None:
    for _ in range(chunks):
        spin(0.2)
        await asyncio.sleep(0.005)


def test_probe_patience_grows_with_latency_and_stops_at_half_the_session_timeout():
    policy = LivenessPolicy(session_timeout=60.0)
    assert policy.probe_timeout(0.0) == policy.probe_floor
    assert policy.probe_timeout(2.0) == 8.0
    assert policy.probe_timeout(100.0) == 30.0
    assert policy.idle_detection_bound == pytest.approx(2.75)


async def test_a_slow_answer_to_an_idle_client_is_a_lost_link():
    liveness = LinkLiveness(LivenessPolicy(quiet_after=0.0), slow_answer)
    reason = await liveness.probe_once()
    assert reason is not None and "no answer from the server" in reason


async def test_a_slow_answer_to_a_busy_client_is_not_a_lost_link():
    liveness = LinkLiveness(LivenessPolicy(quiet_after=0.0), slow_answer)
    busy = asyncio.create_task(busy_client(chunks=14))
    try:
        assert await liveness.probe_once() is None
    finally:
        await busy
    assert liveness.busy_seconds > 1.0


async def test_publish_responses_are_life_and_spare_the_server_every_probe():
    answered = asyncio.Event()

    async def never_answers() -> int:
        await answered.wait()
        return 0

    liveness = LinkLiveness(LivenessPolicy(quiet_after=0.5), never_answers)
    watch = asyncio.create_task(liveness.watch())
    for _ in range(15):  # 1.5 s of a publish response every 0.1 s
        liveness.saw_life()
        await asyncio.sleep(0.1)
    assert not watch.done() and liveness.probes == 0
    reason = await asyncio.wait_for(watch, timeout=10.0)  # silence now: probed, never answered
    assert "no answer" in reason and liveness.probes == 1


async def test_a_refused_probe_is_a_lost_link_at_once():
    async def refused() -> int:
        raise ConnectionError("Connection is closed")

    liveness = LinkLiveness(LivenessPolicy(quiet_after=0.0), refused)
    reason = await liveness.probe_once()
    assert reason == "the server stopped answering: ConnectionError: Connection is closed"
