"""Waits that keep a cancellation exact: a timed event wait, a worker-thread write."""

from __future__ import annotations

import asyncio
import threading

import pytest

from hmi.sync.waits import to_thread_to_the_end, wait_set


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


async def test_a_cancelled_write_has_ended_when_its_cancel_is_seen():
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def write() -> int:
        started.set()
        assert release.wait(10)
        ended.set()
        return 1

    task = asyncio.create_task(to_thread_to_the_end(write))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await asyncio.sleep(0)  # one turn: the cancel has reached it
    assert not task.done(), "it waits for the thread"
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended.is_set()


async def test_an_uncancelled_call_returns_its_result():
    assert await to_thread_to_the_end(sum, [1, 2]) == 3
