"""What an OPC UA value must be before it is published: of the tag's type, and stamped sanely.

Type. A value that does not fit its tag's type (a string, an array, a null in a float64
tag; a bool in a number tag; a float in an integer tag; an integer outside the tag
type's range) is BAD with reason ``config error``, never coerced: the node or the tag
is misconfigured and its value means nothing here. Integers become floats in float
tags only while exact (up to 2**53).

Time (see docs/projects.md, "Time stamps"). The source timestamp is kept when it is
plausible. One more than ``max_clock_skew`` ahead of the time we received it comes
from a clock that is wrong: the sample is kept, UNCERTAIN with reason ``clock skew``,
stamped with the receive time. One older than ``max_source_age`` is stamped with the
receive time too (so retention cannot purge a value just received, and history stays
in order); it stays as the server gave it when it is the first value of the item in
this session (an unchanged value carries the time of its last change, however old),
and turns UNCERTAIN (``clock skew``) when it is a change, which cannot have happened
that long ago.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hmi.model import DataType, Quality, Reason, Sample

_INTEGER_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
}
_FLOAT_EXACT = 2**53
_FLOAT32_MAX = 3.4028234663852886e38


def _a(data_type: DataType) -> str:
    return f"an {data_type}" if data_type.value.startswith("int") else f"a {data_type}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def type_mismatch(value: Any, data_type: DataType) -> str | None:
    """Why ``value`` (as asyncua decoded it) does not fit a tag of ``data_type``; None when it does."""
    if value is None:
        return f"no value (null) for {_a(data_type)} tag"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} values for {_a(data_type)} tag"
    if data_type is DataType.BOOL:
        return None if isinstance(value, bool) else f"{_kind(value)} {_shown(value)} for a bool tag"
    if data_type is DataType.STRING:
        return None if isinstance(value, str) else f"{_kind(value)} {_shown(value)} for a string tag"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{_kind(value)} {_shown(value)} for {_a(data_type)} tag"
    if data_type.is_integer:
        if isinstance(value, float):
            return f"a floating-point value {_shown(value)} for {_a(data_type)} tag"
        low, high = _INTEGER_RANGES[data_type]
        if not low <= value <= high:
            return f"{value} is outside the range of {_a(data_type)} tag ({low}..{high})"
        return None
    if isinstance(value, int) and abs(value) > _FLOAT_EXACT:
        return f"the integer {value} is not exact as a {data_type} (beyond 2**53)"
    if data_type is DataType.FLOAT32 and math.isfinite(value) and abs(value) > _FLOAT32_MAX:
        return f"{value!r} is outside the range of a float32 tag"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return f"a {type(value).__name__}"


def fitted(value: Any, data_type: DataType) -> Any:
    """A value that fits ``data_type`` in the tag's own representation (ints in float tags as floats)."""
    floating = data_type in (DataType.FLOAT32, DataType.FLOAT64)
    if floating and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """How far a source timestamp may be from the receive time (seconds) and still be used as is."""

    max_clock_skew: float = 300.0
    """Ahead of the receive time by more than this: a wrong clock (UNCERTAIN, restamped)."""
    max_source_age: float = 86_400.0
    """Older than this: restamped with the receive time (and UNCERTAIN when the value is a change)."""

    def judge(self, sample: Sample, received: float, first: bool) -> tuple[Sample, str | None]:
        """The sample to publish, and why its time stamp was replaced (None when it was kept)."""
        ahead = sample.ts - received
        if ahead > self.max_clock_skew:
            why = f"source time {ahead:.0f} s ahead of the receive time"
            return _restamped(sample, received, downgrade=True), why
        if -ahead > self.max_source_age:
            why = f"source time {-ahead:.0f} s before the receive time"
            return _restamped(sample, received, downgrade=not first), why
        return sample, None


def _restamped(sample: Sample, received: float, *, downgrade: bool) -> Sample:
    if downgrade and sample.quality is Quality.GOOD:
        return Sample(sample.value, Quality.UNCERTAIN, received, Reason.CLOCK_SKEW)
    return Sample(sample.value, sample.quality, received, sample.reason)
