"""Capped exponential backoff with jitter, and the ``Retry-After`` header."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 3600.0  # a receiver asking for more than an hour is taken as asking for an hour


def backoff_delay(attempt: int, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait before attempt ``attempt + 1``: ``initial * 2**attempt`` capped at ``cap``, then jittered
    into its upper half so that many stations coming back after one outage do not retry in lockstep."""
    ceiling = min(cap, initial * 2 ** min(attempt, 32))
    return ceiling / 2 + (rng or random).random() * ceiling / 2


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return min(max(0.0, delay), MAX_RETRY_AFTER)
