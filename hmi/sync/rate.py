"""A stream's delivery rate, rows/s over the last few seconds, kept as deliveries happen.

The status is read often (the status bar and the sync panel every second, a script polling
`hmi sync status`, a benchmark waiting for a drain to end): a look must not walk every recent
delivery, so the sum over the window is kept as deliveries come in and go out of it.
"""

from __future__ import annotations

from collections import deque

WINDOW = 10.0  # seconds of deliveries the rate is taken over


class DeliveryRate:
    """Rows delivered over the last ``window`` seconds, O(1) amortised per delivery and per look."""

    def __init__(self, window: float = WINDOW) -> None:
        """``window``: how many seconds of deliveries the rate is taken over."""
        self.window = window
        self._recent: deque[tuple[float, int]] = deque()
        self._rows = 0  # the sum of the rows in _recent

    def add(self, now: float, rows: int) -> None:
        """A batch of ``rows`` was delivered at monotonic time ``now``."""
        self._recent.append((now, rows))
        self._rows += rows
        self._forget(now)

    def rows_per_s(self, now: float) -> float:
        """Rows delivered after the window's first delivery, over the time since it.

        Exact from the second batch of a drain on, where a fixed window would understate its first
        seconds; 0 with fewer than two deliveries in the window.
        """
        self._forget(now)
        if len(self._recent) < 2:
            return 0.0
        first, last = self._recent[0], self._recent[-1]
        span = last[0] - first[0]
        return (self._rows - first[1]) / span if span > 0 else 0.0

    def _forget(self, now: float) -> None:
        recent = self._recent
        while recent and now - recent[0][0] > self.window:
            self._rows -= recent.popleft()[1]
