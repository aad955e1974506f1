"""The deliveries of one stream committed to the state file in groups, while the next posts are on the wire.

One commit per batch took a worker thread and the file's lock while the next post was out, and slowed a
drain down; a delivery may instead wait up to ``RECORD_EVERY`` to share a commit with the ones after it.
A crash meanwhile loses only the record, never the rows: the batch is still pending in the state file and
goes again under its key, which the receiver drops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hmi.sync.outbox import Batch, Outbox
from hmi.sync.waits import to_thread_to_the_end, wait_set

RECORD_EVERY = 0.05  # seconds a delivery may wait to share a commit (a crash meanwhile resends it, same key)


class DeliveryRecorder:
    """Delivered batches, recorded in the outbox in groups (loop thread; commits in a worker thread)."""

    def __init__(self, outbox: Outbox, rate: Callable[[], float]) -> None:
        """``rate``: the stream's delivery rate in rows/s, stored with each commit (read on the loop)."""
        self.outbox = outbox
        self.rate = rate
        self.stopping = False
        self._flush = asyncio.Event()  # commit the deliveries now, not after RECORD_EVERY
        self._recording: asyncio.Task[None] | None = None
        self._unrecorded: list[Batch] = []

    def stop(self) -> None:
        """From now on every delivery is committed at once."""
        self.stopping = True
        self._flush.set()

    def add(self, batch: Batch) -> None:
        """``batch`` was delivered: commit it soon, with the deliveries around it."""
        self._unrecorded.append(batch)
        previous = self._recording
        if previous is None or previous.done():
            if previous is not None and not previous.cancelled() and previous.exception() is not None:
                return  # raised by the next recorded(); until then the deliveries wait in memory
            self._recording = asyncio.create_task(self._record_soon())

    async def recorded(self) -> None:
        """Wait for every delivery's commit, at once (its error, if any, is a fault: raised here)."""
        self._flush.set()
        try:
            recording, self._recording = self._recording, None
            if recording is not None:
                await recording
            await self._record_all()
        finally:
            if not self.stopping:  # a stop wants every later delivery committed at once too
                self._flush.clear()

    async def close(self) -> None:
        """Commit what is waiting now; an error is left for the restart, which reads the state file."""
        if self._recording is not None:
            self._flush.set()
            await asyncio.gather(self._recording, return_exceptions=True)
            self._recording = None

    async def _record_soon(self) -> None:
        while self._unrecorded:
            if not self._flush.is_set():
                await wait_set(self._flush, RECORD_EVERY)
            await self._record_all()

    async def _record_all(self) -> None:
        batches, self._unrecorded = self._unrecorded, []
        if batches:
            await to_thread_to_the_end(self.outbox.delivered_all, batches, self.rate())
