"""The hand-off from the runtime to the writer thread: an append costs a length check and a deque append.

``collections.deque.append`` and ``popleft`` are atomic in CPython, so the
common path takes no lock: at hundreds of thousands of samples a second a lock
per sample cost more than the conversion and the bind together. The lock
guards only the rare paths: overflow, closing, and the writer's take.

The writer takes everything queued so far by appending a marker and popping up
to it in one C-level call: a sample appended meanwhile lands behind the marker
and waits for the next take, so nothing can fall between two batches.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from hmi.model import Sample

Pair = tuple[str, Sample]


class _EndOfBatch:
    """Marks where a take stops; compares equal to nothing else."""


class SampleQueue:
    """Bounded FIFO of (tag, sample) pairs under the DROP_OLDEST policy: when full, the oldest go, counted.

    The bound is soft by the number of threads appending at the same instant.
    ``wake`` is set when the queue reaches half its bound, so the writer can
    commit early instead of dropping.
    """

    def __init__(self, bound: int, wake: threading.Event | None = None) -> None:
        """``wake``: the writer's event, shared with its other streams' queues."""
        if bound <= 0:
            raise ValueError("the queue bound must be positive")
        self.bound = bound
        self.dropped = 0
        self.wake = wake or threading.Event()
        self._items: deque[Pair | _EndOfBatch] = deque()
        self._limit = bound  # 0 once closed: every append then takes the counted slow path
        self._wake_at = max(1, bound // 2)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def append(self, tag: str, sample: Sample) -> None:
        """Queue one pair; lock-free unless the queue is full or closed."""
        items = self._items
        queued = len(items)
        if queued < self._limit:
            items.append((tag, sample))
            if queued == self._wake_at:
                self.wake.set()
        else:
            self.extend(((tag, sample),))

    def extend(self, pairs: Iterable[Pair]) -> None:
        """Queue many pairs at once (under the lock: this is also the overflow path)."""
        batch = list(pairs)
        with self._lock:
            if self._limit == 0:
                self.dropped += len(batch)
                return
            items = self._items
            items.extend(batch)
            for _ in range(len(items) - self.bound):
                items.popleft()  # the oldest first: the newest data matters most to an operator
                self.dropped += 1
            if len(items) >= self._wake_at:
                self.wake.set()

    def take(self) -> list[Pair]:
        """Everything queued so far, oldest first."""
        end = _EndOfBatch()
        with self._lock:
            self._items.append(end)
            return list(iter(self._items.popleft, end))  # type: ignore[arg-type]

    def close(self) -> None:
        """Refuse further pairs; each one offered from now on is counted as dropped."""
        with self._lock:
            self._limit = 0

    def drain(self) -> list[Pair]:
        """Remove and return what is queued, counting it as dropped (at a stop that cannot commit it)."""
        with self._lock:
            items = [item for item in self._items if not isinstance(item, _EndOfBatch)]
            self._items.clear()
            self.dropped += len(items)
            return items

    def drop_all(self) -> int:
        """Discard what is queued, counting it as dropped; returns how many."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
            self.dropped += count
            return count
