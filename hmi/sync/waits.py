"""Waiting for an event with a timeout without swallowing a cancellation.

On Python 3.11 ``asyncio.wait_for`` returns the result when the awaited future is already done
as its task is cancelled: the cancel request is lost. A forwarder waits for "a batch was
sealed" while the encoder beside it may fault, set that event in its ``finally`` and get the
task group to cancel the sender in the same turn of the loop; the sender then went on polling
and the task group waited for it forever. ``asyncio.timeout`` counts cancel requests and
does not lose one.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True if it was set. A cancellation always raises."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
