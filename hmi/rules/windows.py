"""Window functions over one tag's samples, each updated in O(1) amortised time per sample.

Every window is fed with ``add(ts, value, good)`` for each sample of its tag, in timestamp order, and
answers ``value()`` (``NotReady`` while it has too little to say). A window by time keeps the good
samples with ``ts > newest - span``; a window by count keeps the newest ``span`` good samples. Bad
samples never enter a window; for the accumulating functions (integral, run hours, time in state)
a bad sample also ends the interval in progress, so nothing is accumulated across it. A sample older
than the newest one seen is ignored (counted in ``out_of_order``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class NotReady(Exception):
    """The window has too little data to give a value yet (empty, or a baseline still being learned)."""


@dataclass(frozen=True, slots=True)
class Span:
    """A window's extent: ``seconds`` of time, or ``count`` samples (exactly one of them)."""

    seconds: float = 0.0
    count: int = 0

    @property
    def by_count(self) -> bool:
        """True for a window of the newest ``count`` samples."""
        return self.count > 0


class _InOrder:
    """Fed in time order: a sample older than the newest is counted in ``out_of_order`` and ignored."""

    def __init__(self) -> None:
        self.newest = -math.inf
        self.out_of_order = 0

    def _in_order(self, ts: float) -> bool:
        if ts < self.newest:
            self.out_of_order += 1
            return False
        self.newest = ts
        return True


class Window(_InOrder):
    """The common feeding and eviction of the sliding windows (avg, min, max, std, rate)."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.times: deque[float] = deque()
        self.values: deque[float] = deque()
        _InOrder.__init__(self)

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample of the tag."""
        if not self._in_order(ts):
            return
        if good:
            self.times.append(ts)
            self.values.append(value)
            self._added(ts, value)
        self._evict()

    def _evict(self) -> None:
        times = self.times
        if self.span.by_count:
            while len(times) > self.span.count:
                self._drop()
        else:
            horizon = self.newest - self.span.seconds
            while times and times[0] <= horizon:
                self._drop()

    def _drop(self) -> None:
        ts = self.times.popleft()
        value = self.values.popleft()
        self._removed(ts, value)

    def _added(self, ts: float, value: float) -> None:
        """Take a sample into the running figures."""

    def _removed(self, ts: float, value: float) -> None:
        """Take a sample out of the running figures."""

    def value(self, _env: object = None) -> float:
        """The window's figure now."""
        raise NotImplementedError


class MovingAverage(Window):
    """The mean of the samples in the window (each sample weighs the same)."""

    def __init__(self, span: Span) -> None:
        super().__init__(span)
        self._moments = _Moments()
        self._removals = 0

    def _added(self, ts: float, value: float) -> None:
        self._moments.add(value)

    def _removed(self, ts: float, value: float) -> None:
        self._moments.remove(value)
        self._removals += 1

    def _evict(self) -> None:
        super()._evict()
        # Removal leaves rounding behind; rebuilding after as many removals as the window holds
        # bounds that drift at O(1) amortised cost per sample.
        if self._removals >= max(len(self.values), 32):
            self._removals = 0
            self._moments = _Moments()
            for value in self.values:
                self._moments.add(value)

    def value(self, _env: object = None) -> float:
        """The mean; NotReady when the window is empty."""
        if not self.values:
            raise NotReady
        return self._moments.mean


class StandardDeviation(MovingAverage):
    """The population standard deviation (ddof 0) of the samples in the window."""

    def value(self, _env: object = None) -> float:
        """The deviation; NotReady when the window is empty."""
        if not self.values:
            raise NotReady
        return self._moments.std


class _Moments:
    """Welford's running mean and sum of squared deviations, with removal for a sliding window."""

    __slots__ = ("m2", "mean", "n")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def remove(self, x: float) -> None:
        if self.n <= 1:
            self.n, self.mean, self.m2 = 0, 0.0, 0.0
            return
        mean_without = (self.n * self.mean - x) / (self.n - 1)
        self.m2 -= (x - self.mean) * (x - mean_without)
        self.mean = mean_without
        self.n -= 1
        if self.n == 1:  # one sample has no spread, whatever rounding says
            self.m2 = 0.0

    @property
    def std(self) -> float:
        # Rounding in removal can leave a tiny negative sum for a constant window.
        return math.sqrt(max(self.m2, 0.0) / self.n) if self.n else 0.0


class RollingExtreme(Window):
    """The lowest (or highest) sample in the window: a monotonic deque, O(1) amortised."""

    def __init__(self, span: Span, highest: bool) -> None:
        super().__init__(span)
        self._highest = highest
        self._candidates: deque[tuple[float, float]] = deque()  # (ts, value), values monotonic

    def _added(self, ts: float, value: float) -> None:
        candidates = self._candidates
        if self._highest:
            while candidates and candidates[-1][1] <= value:
                candidates.pop()
        else:
            while candidates and candidates[-1][1] >= value:
                candidates.pop()
        candidates.append((ts, value))

    def _evict(self) -> None:
        super()._evict()
        # Candidates older than the oldest kept sample left the window with it.
        oldest = self.times[0] if self.times else math.inf
        candidates = self._candidates
        while candidates and candidates[0][0] < oldest:
            candidates.popleft()
        if self.span.by_count:  # equal timestamps: keep at most as many candidates as samples
            while len(candidates) > len(self.times):
                candidates.popleft()

    def value(self, _env: object = None) -> float:
        """The extreme; NotReady when the window is empty."""
        if not self._candidates:
            raise NotReady
        return self._candidates[0][1]


class RateOfChange(Window):
    """(newest - oldest) / (their time apart), per ``per`` seconds, over the samples in the window."""

    def __init__(self, span: Span, per: float = 1.0) -> None:
        super().__init__(span)
        self.per = per

    def value(self, _env: object = None) -> float:
        """The rate; NotReady with fewer than two samples, or all at one instant."""
        if len(self.times) < 2 or self.times[-1] == self.times[0]:
            raise NotReady
        return (self.values[-1] - self.values[0]) / (self.times[-1] - self.times[0]) * self.per


class Ewma:
    """Exponentially weighted moving average, by time constant (seconds) or by count (alpha 2/(N+1))."""

    def __init__(self, span: Span) -> None:
        self.span = span
        self.alpha = 2.0 / (span.count + 1) if span.by_count else 0.0
        self.average: float | None = None
        self.last_ts = -math.inf
        self.out_of_order = 0

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample; the weight of a time-constant EWMA follows the time since the last sample."""
        if ts < self.last_ts:
            self.out_of_order += 1
            return
        if not good:
            return
        if self.average is None:
            self.average = value
        else:
            alpha = (
                self.alpha if self.span.by_count else 1.0 - math.exp(-(ts - self.last_ts) / self.span.seconds)
            )
            self.average += alpha * (value - self.average)
        self.last_ts = ts

    def value(self, _env: object = None) -> float:
        """The average; NotReady before the first good sample."""
        if self.average is None:
            raise NotReady
        return self.average


class Integral(_InOrder):
    """The time integral (trapezoids between good samples) per ``per`` seconds, reset every ``reset`` s.

    Resets fall on whole multiples of ``reset`` since the epoch (1d: midnight UTC); the trapezoid that
    spans a reset is split there, by linear interpolation, between the old total and the new one.
    """

    def __init__(self, per: float = 1.0, reset: float = 0.0) -> None:
        self.per = per
        self.reset = reset
        self.total = 0.0
        self._last: tuple[float, float] | None = None  # the last good sample, None after a bad one
        _InOrder.__init__(self)
        self._period: int | None = None

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample."""
        if not self._in_order(ts):
            return
        if not good:
            self._last = None
            return
        last, self._last = self._last, (ts, value)
        if self.reset:
            period = _period(ts, self.reset)
            if period != self._period:
                self._period = period
                self.total = 0.0
                if last is not None:
                    # The trapezoid spanning the reset: only its part after the boundary is this period's.
                    boundary = period * self.reset
                    t0, v0 = last
                    last = (boundary, v0 + (value - v0) * (boundary - t0) / (ts - t0))
        if last is not None:
            t0, v0 = last
            self.total += (value + v0) / 2.0 * (ts - t0) / self.per

    def value(self, _env: object = None) -> float:
        """The total so far in this period."""
        return self.total

    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: the total and its period."""
        return {"total": self.total, "period": self._period}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take ``snapshot()`` of a previous run; the interval in progress at the stop is not counted."""
        self.total = float(state["total"])
        period = state.get("period")
        self._period = None if period is None else int(period)


def _period(ts: float, reset: float) -> int:
    return math.floor(ts / reset)


class Starts(_InOrder):
    """How many times a bool went from false to true (good samples; a bad one forgets the last state)."""

    def __init__(self) -> None:
        self.count = 0
        self._last: bool | None = None
        _InOrder.__init__(self)

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample."""
        if not self._in_order(ts):
            return
        if not good:
            self._last = None
            return
        state = bool(value)
        if state and self._last is False:
            self.count += 1
        self._last = state

    def value(self, _env: object = None) -> float:
        """The count."""
        return float(self.count)

    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: the count and the last state (off before, on after is a start)."""
        return {"count": self.count, "last": self._last}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take ``snapshot()`` of a previous run."""
        self.count = int(state["count"])
        last = state.get("last")
        self._last = None if last is None else bool(last)


class TimeInState(_InOrder):
    """Seconds the tag has equalled ``state`` without a break, up to its newest sample (0 when not)."""

    def __init__(self, state: float) -> None:
        self.state = state
        self._since: float | None = None
        _InOrder.__init__(self)

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample."""
        if not self._in_order(ts):
            return
        if good and value == self.state:
            if self._since is None:
                self._since = ts
        else:
            self._since = None

    def value(self, _env: object = None) -> float:
        """The seconds; NotReady before any sample."""
        if self.newest == -math.inf:
            raise NotReady
        return 0.0 if self._since is None else self.newest - self._since

    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: since when the state has held, and the newest sample's time."""
        return {"since": self._since, "newest": None if self.newest == -math.inf else self.newest}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take ``snapshot()`` of a previous run: the first sample after the restart continues the count
        if the tag still has the state, and starts it afresh if it does not."""
        since, newest = state.get("since"), state.get("newest")
        self._since = None if since is None else float(since)
        if newest is not None:
            self.newest = float(newest)


class RunHours(_InOrder):
    """Hours a bool has been true: each interval from a good true sample to the next sample counts."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._true_since: float | None = None
        _InOrder.__init__(self)

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample."""
        if not self._in_order(ts):
            return
        if self._true_since is not None:
            self.seconds += ts - self._true_since
        self._true_since = ts if good and bool(value) else None

    def value(self, _env: object = None) -> float:
        """The hours so far."""
        return self.seconds / 3600.0

    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: the seconds counted (the time the station was down is not)."""
        return {"seconds": self.seconds}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take ``snapshot()`` of a previous run."""
        self.seconds = float(state["seconds"])


PERSISTENT = (Integral, Starts, RunHours, TimeInState)
"""The accumulating functions whose state a restart keeps (``snapshot()``/``restore()``); the sliding
windows and EWMAs are seeded from history instead, and anomaly baselines are learned afresh."""


class ZScore(_InOrder):
    """How many standard deviations the newest sample is from a baseline learned online.

    The baseline (mean and deviation, Welford) is learned from the first ``span`` of good samples (a
    time or a count), then frozen, so a slow drift shows as a growing score instead of being learned.
    """

    def __init__(self, span: Span) -> None:
        self.span = span
        self._moments = _Moments()
        self._started: float | None = None
        self.learning = True
        self.latest: float | None = None
        _InOrder.__init__(self)

    def add(self, ts: float, value: float, good: bool) -> None:
        """Feed one sample."""
        if not self._in_order(ts):
            return
        if not good:
            return
        if self.learning:
            if self._started is None:
                self._started = ts
            if self.span.by_count or ts - self._started < self.span.seconds:
                self._moments.add(value)
            if self.span.by_count:
                self.learning = self._moments.n < self.span.count
            else:
                self.learning = ts - self._started < self.span.seconds
        self.latest = value

    def value(self, _env: object = None) -> float:
        """The score; NotReady while the baseline is learned or when it has no spread."""
        if self.learning or self.latest is None:
            raise NotReady
        std = self._moments.std
        if std == 0.0:
            raise NotReady
        return (self.latest - self._moments.mean) / std
