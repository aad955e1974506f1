"""Retention against undelivered rows: warn well before, then forget what is past the limit, by name.

The policy (docs/sync.md, "Local storage and retention"): local storage stays bounded. The
history's retention keeps deleting old samples whatever sync thinks; the rows an endpoint has
not received yet live on as stored batches in the sync state file, under the same limits: a
batch whose every sample is older than the history's retention, or the oldest batches beyond
the history's size limit, are forgotten and their rows counted as lost (by endpoint, stream
and seq range in the log; ``lost_rows`` in the status). Before that, as soon as the oldest
undelivered row is within 10 % of the retention window (or the stored batches within 10 % of
the size limit), the endpoint is *at risk*: the station raises ``SYSTEM.SYNC.<endpoint>.AT_RISK``
(urgent), which clears once the endpoint has caught up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hmi.sync.outbox import Batch

AT_RISK_SHARE = 0.9
"""Of the retention window (or size limit) the oldest undelivered row may reach before the alarm."""

AGED_STREAMS = frozenset({"history"})
"""The streams history retention deletes by age (samples); the size limit applies to every stream."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The history's limits: ``max_age`` seconds of retention and ``max_bytes`` (None: no limit)."""

    max_age: float | None = None
    max_bytes: int | None = None

    @property
    def active(self) -> bool:
        """True when there is a limit to watch."""
        return self.max_age is not None or self.max_bytes is not None


@dataclass(frozen=True, slots=True)
class Risk:
    """One endpoint's stream as retention sees it."""

    endpoint: str
    stream: str
    at_risk: bool
    oldest_age_s: float | None  # of the oldest undelivered row (None: nothing pending)
    pending_bytes: int
    lost: tuple[Batch, ...] = field(default=())
    reason: str = ""


def assess(
    endpoint: str, stream: str, limits: Limits, now: float, oldest_us: int | None, pending_bytes: int
) -> Risk:
    """Whether the undelivered rows of a stream are near the limits (pure)."""
    age = None if oldest_us is None else max(0.0, now - oldest_us / 1e6)
    reasons = []
    aged = limits.max_age is not None and stream in AGED_STREAMS and age is not None
    if aged and limits.max_age is not None and age is not None and age >= AT_RISK_SHARE * limits.max_age:
        reasons.append(
            f"the oldest undelivered sample is {_duration(age)} old, history retention is"
            f" {_duration(limits.max_age)}"
        )
    if limits.max_bytes is not None and pending_bytes >= AT_RISK_SHARE * limits.max_bytes:
        reasons.append(f"{pending_bytes:,} bytes wait to be sent, the limit is {limits.max_bytes:,}")
    return Risk(endpoint, stream, bool(reasons), age, pending_bytes, reason="; ".join(reasons))


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"
