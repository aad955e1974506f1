"""The tag engine: owns the drivers, the current-value table and the fan-out to consumers.

Pure asyncio, no Qt. Headless it runs under ``asyncio.run``; in the GUI it runs on
its own loop thread (``hmi.core.loop_thread.LoopThread``) so that a slow paint never delays a poll.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import Any

from drivers import registry as driver_registry
from drivers.base import Driver
from drivers.registry import DriverContext
from drivers.tasks import cancel_and_wait
from hmi.core import acquisition
from hmi.core.freshness import FreshnessTracker
from hmi.core.heap import freeze_start_up_heap
from hmi.core.tag_source import TagSource
from hmi.core.write_check import coerce_for_write
from hmi.model import (
    ConnectionStatus,
    Quality,
    Reason,
    Sample,
    StalePolicy,
    TagDef,
    UnfrozenSample,
    WriteError,
)
from hmi.project.config import ConnectionConfig, Project

SampleListener = Callable[[str, Sample], None]
"""Called on the runtime loop for every sample of its feed; must not block or do IO."""

BatchListener = Callable[[Sequence[tuple[str, Sample]]], None]
"""Called on the runtime loop with the (tag, sample) pairs of its feed, a driver's read at a time.

Every listener of a feed gets the same list, so none may change it; same rules as a ``SampleListener``."""

StatusListener = Callable[[ConnectionStatus], None]

log = logging.getLogger(__name__)

STALE_POLICY = StalePolicy()
"""A good value not refreshed within 3 scan periods (at least 2 s) turns uncertain/stale."""


class Feed(enum.StrEnum):
    """Which samples a consumer receives."""

    RAW = "raw"
    """Every sample as its source published it (bad ones carry the last known value): alarms, rules."""
    CHANGES = "changes"
    """Quality changes and values moved past the tag's deadband: history, screens, sync."""


def create_driver(
    config: ConnectionConfig,
    tags: list[TagDef],
    on_sample: Callable[[str, Sample], None],
    on_status: StatusListener,
    stale: StalePolicy = STALE_POLICY,
) -> Driver:
    """Build the driver a connection names, through its kind (which loads its protocol only now)."""
    kind = driver_registry.get(config.driver)
    context = DriverContext(resolve_pki_dir=_resolve_pki_dir, stale=stale)
    return kind.create(config.name, config.settings, tags, on_sample, on_status, context)


def _resolve_pki_dir(configured: str | None) -> Path:
    # hmi.core.certs loads the OPC UA stack: imported only when a driver asks for its PKI folder.
    from hmi.core.certs import resolve_pki_dir

    return resolve_pki_dir(configured)


class TagRuntime:
    """Current values of every tag, fed by the drivers and internal sources, fanned out to listeners."""

    def __init__(
        self,
        project: Project,
        driver_factory: Callable[..., Driver] | None = None,
        stale: StalePolicy = STALE_POLICY,
    ) -> None:
        self.project = project
        self.stale = stale
        """The one rule for stale values: enforced by the watchdog here, handed to every driver."""
        self.tags: dict[str, TagDef] = {**project.system_tags, **project.tags}
        """Every tag the runtime carries: the project's, and those of the registered sources."""
        self.values: dict[str, Sample] = {}
        self._deadbands = _deadbands_of(self.tags)
        """The numeric tags that have a deadband (taken again at ``start``): a miss is the common case."""
        self._add_values(self.tags)
        self.statuses: dict[str, ConnectionStatus] = {}
        self._fresh = FreshnessTracker(self._stale_limit, self._polled_tag)
        self._sample_listeners: list[BatchListener] = []
        self._raw_listeners: list[BatchListener] = []
        self._status_listeners: list[StatusListener] = []
        self._drivers: dict[str, Driver] = {}
        self._sources: list[TagSource] = []
        # By default the project's `acquisition:` setting decides: in process, or in worker processes.
        self._driver_factory = driver_factory or acquisition.driver_factory(project, create_driver)
        self._watchdog: asyncio.Task[None] | None = None
        self._polled: set[str] = set()
        self._stale: set[str] = set()  # tags the watchdog downgraded, until a read vouches for them again
        self.listener_errors = 0

    def _add_values(self, tags: dict[str, TagDef]) -> None:
        now = time.time()
        for name in tags:
            self.values.setdefault(name, Sample.bad(Reason.WAITING, ts=now))

    # -- consumers -------------------------------------------------------------
    def subscribe(self, listener: SampleListener, feed: Feed = Feed.CHANGES) -> Callable[[], None]:
        """Receive the samples of ``feed`` for every tag; returns the function that unsubscribes."""
        return self.subscribe_batch(self._one_by_one(listener), feed)

    def subscribe_batch(self, listener: BatchListener, feed: Feed = Feed.CHANGES) -> Callable[[], None]:
        """Receive the samples of ``feed`` in batches (one call per driver read); returns the unsubscriber."""
        listeners = self._raw_listeners if feed is Feed.RAW else self._sample_listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener)

    def _one_by_one(self, listener: SampleListener) -> BatchListener:
        """A batch listener calling ``listener`` per sample; a failure costs that sample only."""

        def each(batch: Sequence[tuple[str, Sample]]) -> None:
            for tag_name, sample in batch:
                try:
                    listener(tag_name, sample)
                except Exception:  # one broken consumer must not starve the others
                    self.listener_errors += 1
                    log.exception("sample listener failed for %s", tag_name)

        return each

    def subscribe_status(self, listener: StatusListener) -> Callable[[], None]:
        """Receive every connection state change; returns the function that unsubscribes."""
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    @property
    def drivers(self) -> dict[str, Driver]:
        """The running drivers by connection name (for diagnostics)."""
        return dict(self._drivers)

    # -- sources ---------------------------------------------------------------
    def add_source(self, source: TagSource) -> None:
        """Carry the tags of an internal source (before ``start``); its samples are treated as a driver's."""
        clashes = sorted(tag.name for tag in source.tags if tag.name in self.project.tags)
        if clashes:
            raise ValueError(f"source {source.name!r}: tags already defined by the project: {clashes}")
        source_tags = {tag.name: tag for tag in source.tags}
        self.tags.update(source_tags)
        self._add_values(source_tags)
        self._sources.append(source)

    # -- life cycle ------------------------------------------------------------
    async def start(self) -> None:
        """Start the internal sources, then a driver for each connection that has tags, and the watchdog.

        Sources first, so that a source watching the connections sees each one's first state change.
        """
        self._deadbands = _deadbands_of(self.tags)  # the tags as they are now, sources' included
        for source in self._sources:
            await source.start(self._on_sample)
        for name, config in self.project.connections.items():
            tags = [t for t in self.project.tags.values() if t.connection == name]
            driver = self._driver_factory(config, tags, self._on_sample, self._on_status, stale=self.stale)
            driver.on_refresh = self._on_driver_refresh
            driver.on_samples = self._on_samples
            if isinstance(driver, acquisition.ProcessDriver):
                driver.on_good_values = self._on_good_values
            self._drivers[name] = driver
            self.statuses[name] = driver.status
            if driver.reports_every_scan:
                self._polled.update(t.name for t in tags)
            await driver.start()
        self._watchdog = asyncio.create_task(self._watch_staleness(), name="runtime:stale-watchdog")
        freeze_start_up_heap(len(self.tags))

    async def stop(self) -> None:
        """Stop the watchdog, every driver, then the sources; tags end bad/not connected."""
        if self._watchdog is not None:
            await cancel_and_wait([self._watchdog])
            self._watchdog = None
        await asyncio.gather(*(d.stop() for d in self._drivers.values()), return_exceptions=True)
        # After the drivers: a source reporting on them records how they ended.
        await asyncio.gather(*(s.stop() for s in self._sources), return_exceptions=True)

    # -- writes ----------------------------------------------------------------
    async def write(self, tag_name: str, value: Any) -> Any:
        """Validate and write one value; returns the value as written. Raises WriteError for the operator."""
        tag = self.project.tags.get(tag_name)
        if tag is None:
            raise WriteError(f"{tag_name}: no such tag")
        coerced = coerce_for_write(tag, value)
        driver = self._drivers.get(tag.connection or "")
        if driver is None:
            raise WriteError(f"{tag_name}: connection {tag.connection!r} is not running")
        log.info("write %s = %r", tag_name, coerced)
        await driver.write(tag, coerced)
        return coerced

    # -- driver side -----------------------------------------------------------
    def _stale_limit(self, tag_name: str) -> float:
        return self.stale.limit(self.tags[tag_name].scan_period)

    def _polled_tag(self, tag_name: str) -> bool:
        return tag_name in self._polled

    def _on_driver_refresh(self, names: Sequence[str]) -> None:
        """Every tag of a read is fresh: one refresh time for the block, no per-tag work.

        A tag the watchdog called stale (after a stall of this loop, say) is good again: the read that
        found its words unchanged vouches for its value. Only then does a refresh cost per-tag work.
        """
        group = self._fresh.vouch(names, time.monotonic())
        if self._stale:
            recovered = self._stale.intersection(group)
            if recovered:
                self._stale.difference_update(recovered)
                now = time.time()
                batch = []
                for name in recovered:
                    current = self.values[name]
                    if current.quality is Quality.UNCERTAIN and current.reason is Reason.STALE:
                        batch.append((name, Sample(current.value, Quality.GOOD, now)))
                self._fan_out(batch)

    def publish_batch(self, batch: Sequence[tuple[str, Sample]]) -> None:
        """Samples of an internal source's own tags (never polled ones) as one batch, on the runtime loop."""
        self._on_samples(batch)

    def _on_sample(self, tag_name: str, sample: Sample) -> None:
        """A sample of a driver or a source; a good one of a polled tag counts as its refresh."""
        if sample.quality is Quality.GOOD and tag_name in self._polled:
            self._fresh.touch(tag_name, time.monotonic())
        self._on_samples(((tag_name, sample),))

    def _on_samples(self, batch: Sequence[tuple[str, Sample]]) -> None:
        """Samples of a driver or a source: the raw feed gets them all, the changes feed those past the
        deadband (or with another quality), each feed as one batch."""
        values, deadbands, tags, stale = self.values, self._deadbands, self.tags, self._stale
        changes: list[tuple[str, Sample]] = []
        change = changes.append
        good = Quality.GOOD
        if stale:  # whatever a sample says, it is the driver's word, not stale
            stale.difference_update([name for name, _ in batch])
        # The hot path (every changed tag of every read): good samples of carried tags, the raw feed the
        # batch itself, locals on purpose and no call for a good sample after a good one. The first
        # sample that is not simply that hands the rest of the batch to the general path.
        rest = -1
        for position, pair in enumerate(batch):
            tag_name, sample = pair
            try:
                previous = values[tag_name]
            except KeyError:
                rest = position
                break
            if sample.quality is not good:
                rest = position
                break
            if previous.quality is good and previous.reason is sample.reason:
                if previous.value == sample.value:
                    continue
                if tag_name in deadbands:
                    new, old = sample.value, previous.value
                    if type(new) is float and type(old) is float:  # a NaN's difference is a change
                        if abs(new - old) <= deadbands[tag_name]:
                            continue
                    elif not _changed(tags[tag_name], previous, sample):
                        continue
            elif not _changed(tags[tag_name], previous, sample):
                continue
            values[tag_name] = sample
            change(pair)
        raw = batch
        if rest >= 0:
            raw = list(batch[:rest])
            self._general_samples(batch[rest:], raw, changes)
        if raw and self._raw_listeners:  # the hot path pays nothing for a feed nobody reads
            self._notify(self._raw_listeners, raw)
        if changes:
            self._notify(self._sample_listeners, changes)

    def _on_good_values(
        self, names: Sequence[str], indices: Sequence[int], new_values: Sequence[Any], ts: float
    ) -> None:
        """A worker's read: good values of ``names[i]`` for each index, all stamped ``ts``.

        What ``_on_samples`` does with the same samples, with each ``Sample`` built in the same pass as
        its change test (``hmi.model.good_sample``, written out): the pairs are not first built as a
        list and then walked again. A worker sends only a read's changed tags, so nearly every value
        is a change and needs its ``Sample`` in the value table anyway.
        """
        values, deadbands, tags, stale = self.values, self._deadbands, self.tags, self._stale
        if stale:  # whatever a sample says, it is the driver's word, not stale
            stale.difference_update(map(names.__getitem__, indices))
        raw: list[tuple[str, Sample]] = []
        add = raw.append
        changes: list[tuple[str, Sample]] = []
        change = changes.append
        good, no_reason, draft, final = Quality.GOOD, Reason.NONE, UnfrozenSample, Sample
        for index, value in zip(indices, new_values, strict=True):
            tag_name = names[index]
            previous = values.get(tag_name)
            if previous is None:  # not a tag the runtime carries: dropped, as the general path does
                continue
            sample: Any = draft()
            sample.value = value
            sample.quality = good
            sample.ts = ts
            sample.reason = no_reason
            sample.__class__ = final
            pair = (tag_name, sample)
            add(pair)
            if previous.quality is good and previous.reason is no_reason:
                old = previous.value
                if old == value:
                    continue
                if tag_name in deadbands:
                    if type(value) is float and type(old) is float:  # a NaN's difference is a change
                        if abs(value - old) <= deadbands[tag_name]:
                            continue
                    elif not _changed(tags[tag_name], previous, sample):
                        continue
            elif not _changed(tags[tag_name], previous, sample):
                continue
            values[tag_name] = sample
            change(pair)
        if raw and self._raw_listeners:
            self._notify(self._raw_listeners, raw)
        if changes:
            self._notify(self._sample_listeners, changes)

    def _general_samples(
        self,
        batch: Sequence[tuple[str, Sample]],
        raw: list[tuple[str, Sample]],
        changes: list[tuple[str, Sample]],
    ) -> None:
        """Every kind of sample: unknown tags dropped, a bad one keeping the last known value beside it."""
        values, tags = self.values, self.tags
        for tag_name, sample in batch:
            previous = values.get(tag_name)
            if previous is None:  # not a tag the runtime carries (every carried tag has a value)
                continue
            if sample.quality is not Quality.GOOD and sample.value is None and previous.value is not None:
                # Keep the last known value beside the bad quality so a screen can show it as such.
                sample = Sample(previous.value, sample.quality, sample.ts, sample.reason)
            raw.append((tag_name, sample))
            if not _changed(tags[tag_name], previous, sample):
                continue
            values[tag_name] = sample
            changes.append((tag_name, sample))

    def _fan_out(self, batch: list[tuple[str, Sample]]) -> None:
        """Changes the runtime made itself (stale, recovered): the table and both feeds get them."""
        if not batch:
            return
        self.values.update(batch)
        self._notify(self._raw_listeners, batch)
        self._notify(self._sample_listeners, batch)

    def _notify(self, listeners: list[BatchListener], batch: Sequence[tuple[str, Sample]]) -> None:
        for listener in list(listeners):
            try:
                listener(batch)
            except Exception:  # one broken consumer must not starve the others
                self.listener_errors += 1
                log.exception("sample listener failed for a batch of %d samples", len(batch))

    def _on_status(self, status: ConnectionStatus) -> None:
        self.statuses[status.name] = status
        for listener in list(self._status_listeners):
            try:
                listener(status)
            except Exception:
                self.listener_errors += 1
                log.exception("status listener failed for %s", status.name)

    async def _watch_staleness(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.check_staleness(time.monotonic())

    def check_staleness(self, now: float) -> int:
        """Downgrade the good polled values whose blocks (or own refreshes) are older than their limit.

        Returns how many turned stale. The watchdog calls it every half second; the cost is one look
        per read block, plus one per tag of a block that expired.
        """
        values, good = self.values, Quality.GOOD
        names = [name for name in self._fresh.expired(now) if values[name].quality is good]
        if not names:
            return 0
        batch = list(zip(names, _stale_samples([values[name] for name in names]), strict=True))
        self._stale.update(names)
        self._fan_out(batch)
        return len(batch)


# The slots' own setters (as Sample.many_good uses them): they bypass the frozen check, which guards
# ordinary attribute assignment only, so a stale flag costs no dataclass __init__ call.
_SET_FIELDS: tuple[Callable[[Sample, Any], None], ...] = tuple(
    vars(Sample)[field].__set__ for field in ("value", "quality", "ts", "reason")
)
_VALUE, _TS = attrgetter("value"), attrgetter("ts")


def _stale_samples(current: list[Sample]) -> list[Sample]:
    """``s.with_quality(UNCERTAIN, STALE)`` of each sample, built at C speed: after a stalled loop
    the watchdog flags every tag of the plant in one pass."""
    count = len(current)
    samples = list(map(object.__new__, repeat(Sample, count)))
    columns: tuple[Iterable[Any], ...] = (
        map(_VALUE, current),
        repeat(Quality.UNCERTAIN, count),
        map(_TS, current),
        repeat(Reason.STALE, count),
    )
    for field_set, column in zip(_SET_FIELDS, columns, strict=True):
        deque(map(field_set, samples, column), maxlen=0)
    return samples


def _deadbands_of(tags: dict[str, TagDef]) -> dict[str, float]:
    """Numeric tags' deadbands; for the others a deadband changes nothing (any other value is a change)."""
    return {name: tag.deadband for name, tag in tags.items() if tag.deadband > 0 and tag.type.is_numeric}


def _changed(tag: TagDef, old: Sample, new: Sample) -> bool:
    """True when ``new`` must fan out: quality or reason changed, or the value moved past the deadband."""
    if old.quality is not new.quality or old.reason is not new.reason:
        return True
    if old.value == new.value:  # the common case of an unchanged value, whatever its type
        return False
    if tag.deadband <= 0:
        return True
    if tag.type.is_numeric and _both_numbers(old.value, new.value):
        delta = abs(new.value - old.value)  # int - int stays exact: 2**60 + 1 differs from 2**60
        return bool(delta > tag.deadband)
    return bool(new.value != old.value)


def _both_numbers(a: Any, b: Any) -> bool:
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not (isinstance(a, float) and math.isnan(a))
        and not (isinstance(b, float) and math.isnan(b))
    )
