"""Stopping asyncio tasks for sure: shared by the drivers and the runtime side's own background tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def cancel_and_wait(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended, cancelling again as often as needed.

    On Python 3.11 ``asyncio.wait_for`` (inside pymodbus's request) swallows a cancellation that
    arrives just as the response does; a busy scan loop then runs on and a single ``cancel()``
    would leave the driver's stop waiting forever. Unlike ``task.cancel(); await task`` under
    ``suppress(CancelledError)``, a cancellation of the caller itself is never swallowed here.
    """
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.05)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so that asyncio does not log it as never retrieved
