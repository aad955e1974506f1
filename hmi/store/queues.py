"""A bounded queue for low-rate streams (alarm events, audit records) that never drops silently.

Overflow policies are named, so each stream says what happens when its writer
falls behind:

- ``DROP_OLDEST`` (history samples, :class:`hmi.historian.handoff.SampleQueue`):
  the newest data matters most to an operator; the oldest waiting entry goes,
  counted in ``dropped``.
- ``REFUSE_AND_FLAG`` (alarm journal, audit): nothing already queued is ever
  discarded, so the journal keeps an unbroken run of events. An entry offered
  to a full queue is refused without blocking, counted in ``refused``, and the
  ``full`` flag stays up until the queue has drained to half, for the station
  to raise as a health alarm.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from typing import Generic, TypeVar

Item = TypeVar("Item")


class OverflowPolicy(enum.Enum):
    """What a stream's queue does with one entry too many."""

    DROP_OLDEST = "drop oldest, counted"
    REFUSE_AND_FLAG = "refuse newest, counted, health flag raised"


class FlaggingQueue(Generic[Item]):
    """Bounded FIFO under the ``REFUSE_AND_FLAG`` policy; ``append`` never blocks."""

    policy = OverflowPolicy.REFUSE_AND_FLAG

    def __init__(self, bound: int, wake: threading.Event | None = None) -> None:
        if bound <= 0:
            raise ValueError("the queue bound must be positive")
        self.bound = bound
        self.wake = wake or threading.Event()
        self.refused = 0
        self.full = False
        self._items: deque[Item] = deque()
        self._closed = False
        self._wake_at = max(1, bound // 2)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def append(self, item: Item) -> bool:
        """Queue ``item``; False (counted, flagged) when the queue is full or closed."""
        with self._lock:
            if self._closed or len(self._items) >= self.bound:
                self.refused += 1
                self.full = self.full or not self._closed
                return False
            self._items.append(item)
            queued = len(self._items)
        if queued >= self._wake_at:  # else the next interval's commit takes it, batched with the others
            self.wake.set()
        return True

    def take(self, limit: int | None = None) -> list[Item]:
        """Up to ``limit`` entries (all by default), oldest first."""
        with self._lock:
            if limit is None or limit >= len(self._items):
                items = list(self._items)
                self._items.clear()
            else:
                items = [self._items.popleft() for _ in range(max(0, limit))]
            return items

    def lower_flag_if_drained(self) -> None:
        """After a commit: the flag goes down once the queue is back under half its bound."""
        with self._lock:
            if self.full and len(self._items) < self.bound // 2:
                self.full = False

    def close(self) -> None:
        """Refuse further entries (each one counted)."""
        with self._lock:
            self._closed = True

    def drop_all(self) -> int:
        """Discard what is queued (at a stop that cannot commit); returns how many."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
            return count
