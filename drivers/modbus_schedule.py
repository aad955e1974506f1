"""Scan deadlines on a fixed grid, so that a poll cycle's own duration never makes the scan drift;
and stopping scan tasks for sure."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence


class DeadlineSchedule:
    """Deadlines ``start + k * period``; a cycle late by over a period skips ahead, counting overruns."""

    def __init__(self, period: float, start: float) -> None:
        if not period > 0:
            raise ValueError(f"scan period must be positive, got {period}")
        self.period = period
        self.deadline = start
        self.overruns = 0

    def advance(self, now: float) -> float:
        """Move to the next deadline after a cycle that ended at ``now``; return the seconds to wait for it.

        Late by up to one period, the next cycle starts at once to catch up; later
        than that, the missed cycles are skipped (each counted as an overrun) so that
        a slow device is not hammered with back-to-back reads.
        """
        self.deadline += self.period
        late = now - self.deadline
        if late > self.period:
            missed = math.floor(late / self.period)
            self.deadline += missed * self.period
            self.overruns += missed
        return max(0.0, self.deadline - now)


async def cancel_and_wait(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended, cancelling again as often as needed.

    On Python 3.11 ``asyncio.wait_for`` (inside pymodbus's request) swallows a cancellation that
    arrives just as the response does; a busy scan loop then runs on and a single ``cancel()``
    would leave the driver's stop waiting forever.
    """
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.05)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved, so that asyncio does not log it as never retrieved
