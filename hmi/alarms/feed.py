"""Publish the alarm summary to a viewer at most once per frame, and every alarm event as it happens.

An alarm flood (a link drop flagging a thousand alarms bad) is a thousand events in one
loop turn. Sorting and copying the summary for each of them is O(n² log n) on the runtime
loop and stalls the polls exactly when they matter. Instead events go out one by one (cheap),
and a small task on the runtime loop compares the engine's version once per frame and only
then builds and offers the sorted snapshot.

The first change after a quiet frame is published at once (after the rest of that loop turn,
so a flood's first turn still costs one build): otherwise the feed's frame and the bridge's
frame, not in step, would let a new alarm wait up to two frames before the banner shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from drivers.tasks import cancel_and_wait
from hmi.alarms.engine import AlarmEngine, AlarmEvent, AlarmStatus

log = logging.getLogger(__name__)

EventSink = Callable[[AlarmEvent], None]
SnapshotSink = Callable[[list[AlarmStatus]], None]


class AlarmSnapshotFeed:
    """Runs on the runtime loop: events straight through, the sorted snapshot once per frame when changed."""

    def __init__(
        self,
        engine: AlarmEngine,
        offer_event: EventSink,
        offer_snapshot: SnapshotSink,
        frame_s: float,
    ) -> None:
        self._engine = engine
        self._offer_event = offer_event
        self._offer_snapshot = offer_snapshot
        self.frame_s = frame_s
        self.builds = 0
        """Snapshots built so far (for tests and the benchmark)."""
        self.frames = 0
        """Frames the task has looked at the version (the publish at start is not one)."""
        self._sent_version: int | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._idle = True
        """The last frame found nothing to publish: the next event's summary goes out at once."""
        self._soon: asyncio.Handle | None = None

    def start(self) -> None:
        """Subscribe to the engine and start the frame task (call on the runtime loop)."""
        self._unsubscribe = self._engine.subscribe(self._on_event)
        self.publish_if_changed()  # the viewer gets the current summary at once, not a frame later
        self._task = asyncio.get_running_loop().create_task(self._run(), name="alarms:snapshot-feed")

    async def stop(self) -> None:
        """Unsubscribe and end the frame task."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    def publish_if_changed(self) -> bool:
        """Build and offer the snapshot if the engine changed since the last one; True when it did."""
        version = self._engine.version
        if version == self._sent_version:
            return False
        self._sent_version = version
        self.builds += 1
        self._offer_snapshot(self._engine.snapshot())
        return True

    def _on_event(self, event: AlarmEvent, _status: AlarmStatus) -> None:
        self._offer_event(event)
        if self._idle and self._task is not None:
            self._idle = False
            self._soon = asyncio.get_running_loop().call_soon(self._publish_soon)

    def _publish_soon(self) -> None:
        self._soon = None
        try:
            self.publish_if_changed()
        except Exception:  # a failing viewer must not end the feed for the rest of the run
            log.exception("alarm snapshot could not be published")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.frame_s)
            self.frames += 1
            try:
                if not self.publish_if_changed():
                    self._idle = True
            except Exception:  # a failing viewer must not end the feed for the rest of the run
                log.exception("alarm snapshot could not be published")
