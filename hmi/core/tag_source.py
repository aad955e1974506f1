"""Tag sources other than PLC drivers: values the station produces itself (system tags, later derived tags).

A source declares its tags and, once started, publishes samples for them through the callable the
runtime hands it, on the runtime loop. The runtime treats those samples exactly as a driver's:
current value, raw and deadbanded feeds, history, alarms, screens.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence

from hmi.model import Reason, Sample, TagDef

Publish = Callable[[str, Sample], None]
"""Hands one sample of one of the source's tags to the runtime; must be called on the runtime loop."""


class TagSource(abc.ABC):
    """A producer of tags inside the station, registered with ``TagRuntime.add_source`` before start."""

    def __init__(self, name: str, tags: Sequence[TagDef]) -> None:
        self.name = name
        self.tags = list(tags)
        self._publish: Publish | None = None

    async def start(self, publish: Publish) -> None:
        """Begin publishing through ``publish``; returns at once (a source runs its own tasks)."""
        self._publish = publish
        await self._start()

    async def stop(self) -> None:
        """Stop publishing; every tag of the source ends bad/not connected, as a stopped driver's do."""
        await self._stop()
        now = time.time()
        for tag in self.tags:
            self.publish(tag.name, Sample.bad(Reason.NOT_CONNECTED, ts=now))
        self._publish = None

    def publish(self, tag: str, sample: Sample) -> None:
        """Hand one sample to the runtime (dropped before start and after stop: nobody is listening)."""
        if self._publish is not None:
            self._publish(tag, sample)

    @abc.abstractmethod
    async def _start(self) -> None:
        """Start the source's own work (tasks, subscriptions)."""

    @abc.abstractmethod
    async def _stop(self) -> None:
        """Cancel that work; must not raise."""
