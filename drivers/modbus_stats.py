"""Request counters, round-trip times and scan lateness of one Modbus connection, for diagnostics."""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass

from hmi.model import DriverDiagnostics

RATE_WINDOW_S = 10.0
RTT_SAMPLES = 1000
LATENESS_SAMPLES = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusDiagnostics(DriverDiagnostics):
    """A Modbus connection's figures: traffic, round trips, scan overruns and the shape of its poll plan."""

    requests: int = 0
    errors: int = 0
    exception_responses: int = 0
    rtt_p99_ms: float = 0.0
    overruns: int = 0
    cycles: int = 0
    lateness_p99_ms: float = 0.0
    blocks: int = 0
    sockets: int = 0
    rejected_tags: int = 0
    decode_errors: int = 0


class RequestStats:
    """Counts requests and errors and keeps the latest round-trip times and scan lateness (bounded)."""

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.exception_responses = 0
        self.last_error = ""
        self._rtts: collections.deque[float] = collections.deque(maxlen=RTT_SAMPLES)
        self._lateness: collections.deque[float] = collections.deque(maxlen=LATENESS_SAMPLES)
        self.cycles = 0
        self._done_at: collections.deque[float] = collections.deque()

    def record(self, rtt: float, now: float | None = None) -> None:
        """A request that got an answer (normal or exception response) after ``rtt`` seconds."""
        now = time.monotonic() if now is None else now
        self.requests += 1
        self._rtts.append(rtt)
        self._done_at.append(now)
        self._forget_before(now - RATE_WINDOW_S)

    def record_error(self, message: str, exception_response: bool = False) -> None:
        """A request that failed: no answer, a lost link, or an exception response."""
        self.errors += 1
        if exception_response:
            self.exception_responses += 1
        self.last_error = message

    def _forget_before(self, cutoff: float) -> None:
        while self._done_at and self._done_at[0] < cutoff:
            self._done_at.popleft()

    def requests_per_s(self, now: float | None = None) -> float:
        """Answered requests per second over the last few seconds."""
        now = time.monotonic() if now is None else now
        self._forget_before(now - RATE_WINDOW_S)
        if not self._done_at:
            return 0.0
        span = max(now - self._done_at[0], 1e-3)
        return len(self._done_at) / min(max(span, 1.0), RATE_WINDOW_S)

    def record_cycle_start(self, lateness: float) -> None:
        """A scan cycle started ``lateness`` seconds after its deadline."""
        self.cycles += 1
        self._lateness.append(max(0.0, lateness))

    def rtt_ms(self) -> tuple[float, float]:
        """Mean and 99th percentile of the latest round-trip times, in milliseconds."""
        return _mean_and_p99_ms(self._rtts)

    def lateness_ms(self) -> tuple[float, float]:
        """Mean and 99th percentile of how late the latest scan cycles started, in milliseconds."""
        return _mean_and_p99_ms(self._lateness)


def _mean_and_p99_ms(seconds: collections.deque[float]) -> tuple[float, float]:
    if not seconds:
        return 0.0, 0.0
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return 1000.0 * sum(ordered) / len(ordered), 1000.0 * p99
