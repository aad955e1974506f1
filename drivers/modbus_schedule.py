"""Scan deadlines on a fixed grid, so that a poll cycle's own duration never makes the scan drift."""

from __future__ import annotations

import math


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
