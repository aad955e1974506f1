"""Waits that keep a cancellation exact: neither lost, nor leaving a write running behind it.

On Python 3.11 ``asyncio.wait_for`` returns the result when the awaited future is already done
as its task is cancelled: the cancel request is lost. A forwarder waits for "a batch was
sealed" while the encoder beside it may fault, set that event in its ``finally`` and get the
task group to cancel the sender in the same turn of the loop; the sender then went on polling
and the task group waited for it forever. ``asyncio.timeout`` counts cancel requests and
does not lose one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True if it was set. A cancellation always raises."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def to_thread_to_the_end(func: Callable[..., T], *args: object) -> T:
    """``func(*args)`` in a worker thread; cancelled, it waits for the thread before raising.

    A cancelled ``asyncio.to_thread`` leaves its thread running: a state-file write (a sealed
    batch, a delivery) then landed after the stream had started over and read its state, which
    could see a batch's rows as not encoded yet, and encode them again under a new key.
    """
    task = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})  # the write ends (or fails) before whoever cancelled goes on
        raise
