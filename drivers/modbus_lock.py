"""An asyncio lock that hands over to the most urgent waiter first: writes before queued polls."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

WRITE = 0
"""Priority of operator and rule writes (and their readback): served first."""
POLL = 1
"""Priority of scan reads."""


class PriorityLock:
    """Mutual exclusion where the waiter with the lowest priority number goes next, FIFO among equals.

    A Modbus TCP connection carries one request at a time, so every request takes
    this lock; a write queued behind polls is served as soon as the request in
    flight completes, ahead of the polls that were already waiting.
    """

    def __init__(self) -> None:
        self._locked = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def locked(self) -> bool:
        """True while some task holds the lock."""
        return self._locked

    @contextlib.asynccontextmanager
    async def hold(self, priority: int) -> AsyncIterator[None]:
        """Hold the lock for the body of an ``async with``."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, priority: int) -> None:
        """Wait for the lock; lower ``priority`` numbers are served first."""
        if not self._locked and not self._waiters:
            self._locked = True
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                # Handed the lock just as we were cancelled: pass it on, or it is lost.
                self.release()
            raise

    def release(self) -> None:
        """Hand the lock to the most urgent live waiter, or free it."""
        while self._waiters:
            _, _, granted = heapq.heappop(self._waiters)
            if not granted.done():
                granted.set_result(None)  # ownership moves without ever unlocking
                return
        self._locked = False
