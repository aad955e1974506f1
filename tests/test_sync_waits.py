"""wait_set: a timed wait for an event that never loses a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from hmi.sync.waits import wait_set


async def test_set_and_timed_out_are_told_apart():
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 60) is True


async def test_a_cancel_that_comes_with_the_event_is_not_lost():
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_set(event, 60))
    await asyncio.sleep(0)  # one turn: the waiter is waiting on the event
    event.set()  # as a faulting task's finally does, just before its task group cancels the waiter
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert waiter.cancelled()
