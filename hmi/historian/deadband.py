"""Storage deadband: which samples of a slowly moving tag are worth a row in the history file.

Applied on the writer thread, after the runtime's fan-out, so the alarm engine
and the screens still see every change. Per tag: a numeric sample is stored
when it moves more than the deadband from the last stored value. Always
stored: the first sample, any change of quality or reason, and non-numeric
values. Before a stored sample the last skipped one (the *held* sample) is
stored too when the quality changes or when nothing was stored for
``long_gap`` seconds, so a trend reconstructs the step (or the ramp) where it
really happened rather than interpolating across the silence.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping

from hmi.model import Sample, TagDef

Pair = tuple[str, Sample]


def _number(value: object) -> float | None:
    kind = type(value)
    return float(value) if kind is float or kind is int else None  # type: ignore[arg-type]


class StorageDeadband:
    """Filters (tag, sample) pairs in arrival order; tags without a deadband pass untouched.

    Tags in ``swinging_door`` use their band as a swinging-door deviation
    instead: a sample is held back while the straight line from the last
    stored sample to it passes within the band of every sample in between, so
    linear interpolation between stored samples stays within the band of every
    skipped one (on a ramp, far fewer rows than a plain deadband).
    """

    def __init__(
        self, deadbands: Mapping[str, float], long_gap: float = 60.0, swinging_door: Collection[str] = ()
    ) -> None:
        bad = {tag: band for tag, band in deadbands.items() if not band >= 0}
        if bad:
            raise ValueError(f"a storage deadband must be a number >= 0: {bad}")
        self.deadbands = {tag: band for tag, band in deadbands.items() if band > 0}
        self.swinging_door = frozenset(swinging_door) & self.deadbands.keys()
        self.long_gap = long_gap
        self._stored: dict[str, Sample] = {}
        self._held: dict[str, Sample] = {}
        self._door: dict[str, tuple[float, float]] = {}  # lowest and highest slope still open
        self.skipped = 0

    def filter(self, pairs: Iterable[Pair]) -> list[Pair]:
        """The pairs to store, in order; the rest are held or skipped (counted in ``skipped``)."""
        bands = self.deadbands
        if not bands:
            return list(pairs)
        kept: list[Pair] = []
        for pair in pairs:
            band = bands.get(pair[0])
            if band is None:
                kept.append(pair)
            elif pair[0] in self.swinging_door:
                self._offer_to_door(pair[0], pair[1], band, kept)
            else:
                self._offer(pair[0], pair[1], band, kept)
        return kept

    def _offer_to_door(self, tag: str, sample: Sample, band: float, kept: list[Pair]) -> None:
        anchor, held = self._stored.get(tag), self._held.get(tag)
        new = _number(sample.value)
        if (
            anchor is not None
            and new is not None
            and (old := _number(anchor.value)) is not None
            and (sample.quality, sample.reason) == (anchor.quality, anchor.reason)
            and sample.ts > anchor.ts
            and (held is None or sample.ts - held.ts <= self.long_gap)
        ):
            if self._fits(tag, anchor.ts, old, sample.ts, new, band):
                self.skipped += held is not None  # the previous held sample lies on the line
                self._held[tag] = sample
                return
            if held is not None and sample.ts > held.ts:
                # The door closed: the last sample that fitted ends this line and starts the next.
                kept.append((tag, held))
                self._stored[tag] = held
                self._door.pop(tag, None)
                self._fits(tag, held.ts, float(held.value), sample.ts, new, band)  # one sample always fits
                self._held[tag] = sample
                return
        # A break in the line (first sample, quality or reason change, text, silence): keep both ends.
        if held is not None:
            kept.append((tag, self._held.pop(tag)))
        kept.append((tag, sample))
        self._stored[tag] = sample
        self._door.pop(tag, None)

    def _fits(self, tag: str, start: float, origin: float, ts: float, value: float, band: float) -> bool:
        """Narrow the tag's door by this sample; True (and the door kept) when the line from
        (start, origin) to it passes within the band of every sample since ``start``."""
        span = ts - start
        low, high = self._door.get(tag, (-math.inf, math.inf))
        low, high = max(low, (value - band - origin) / span), min(high, (value + band - origin) / span)
        if low <= (value - origin) / span <= high:
            self._door[tag] = (low, high)
            return True
        return False

    def _offer(self, tag: str, sample: Sample, band: float, kept: list[Pair]) -> None:
        last = self._stored.get(tag)
        if last is not None and sample.quality == last.quality and sample.reason == last.reason:
            new, old = _number(sample.value), _number(last.value)
            if new is not None and old is not None and abs(new - old) <= band:
                if tag in self._held:
                    self.skipped += 1  # the previous held sample is superseded, never stored
                self._held[tag] = sample
                return
        held = self._held.pop(tag, None)
        if held is not None:
            if last is not None and (
                held.quality != sample.quality
                or held.reason != sample.reason
                or sample.ts - last.ts > self.long_gap
            ):
                kept.append((tag, held))
            else:
                self.skipped += 1
        kept.append((tag, sample))
        self._stored[tag] = sample

    def drop_held(self) -> list[Pair]:
        """Forget the held samples (a stop that cannot commit them) and return them, to be counted."""
        held = list(self._held.items())
        self._held.clear()
        self._door.clear()
        return held

    def flush(self) -> list[Pair]:
        """The held samples, e.g. at shutdown: the last value of each tag is never lost."""
        held = list(self._held.items())
        self._held.clear()
        self._door.clear()
        for tag, sample in held:
            self._stored[tag] = sample
        return held


def storage_deadbands(tags: Iterable[TagDef]) -> dict[str, float]:
    """Each tag's absolute storage deadband: the larger of ``history_deadband`` and
    ``history_deadband_percent`` of its limits' span; tags with neither are left out."""
    bands = {}
    for tag in tags:
        band = tag.history_deadband
        if tag.history_deadband_percent and tag.limits is not None:
            low, high = tag.limits
            band = max(band, (high - low) * tag.history_deadband_percent / 100.0)
        if band > 0:
            bands[tag.name] = band
    return bands


def swinging_door_tags(tags: Iterable[TagDef]) -> set[str]:
    """Names of the tags whose storage band is a swinging-door deviation."""
    return {tag.name for tag in tags if tag.history_swinging_door}
