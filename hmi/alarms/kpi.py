"""Alarm system performance (EEMUA 191, ISA-18.2 section 16) from the alarm journal's rows.

Pure functions over journal rows (dicts as :func:`hmi.alarms.history.read_events` yields them,
``ts`` in epoch seconds): no IO, no clock. An *alarm* here is an annunciation: a ``raised``
event that reached the operator (not one journalled while shelved, out of service or suppressed
by design).

Rows before the period are read too, so that an alarm already active, shelved or out of
service when the period starts is counted right; rates count only raises inside [start, end).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hmi.alarms.kpi_states import ActiveSpan, active_spans, set_aside_seconds
from hmi.alarms.states import SET_ASIDE

WINDOW_S = 600.0
"""The EEMUA 191 / ISA-18.2 rate window: alarms per operator per 10 minutes."""
FLOOD_ABOVE = 10
"""More than this many alarms in one window is a flood."""
CHATTER_COUNT = 3
CHATTER_WINDOW_S = 60.0
"""An alarm raised ``CHATTER_COUNT`` times or more within this long chatters."""
STALE_AFTER_S = 24 * 3600.0
"""An alarm active longer than this is stale."""
TOP = 10
FLOOD_TOP = 5

_NOT_ANNOUNCED = frozenset(state.value for state in SET_ASIDE)

# EEMUA 191 (average alarm rate per operator per 10 minutes in steady operation): upper bounds, inclusive
# but for the first, which is "less than one".
_BANDS = (
    (2.0, "manageable"),
    (5.0, "likely over-demanding"),
    (10.0, "very likely over-demanding"),
)
_FLOOD_BAND = "flood: very likely unacceptable"


@dataclass(frozen=True, slots=True)
class Raise:
    """One annunciated alarm."""

    ts: float
    alarm: str
    priority: str


@dataclass(frozen=True, slots=True)
class Flood:
    """A stretch in which every alarm lies in some 10-minute window holding more than ``FLOOD_ABOVE``."""

    start: float
    end: float
    count: int
    top: tuple[tuple[str, int], ...]
    """The most frequent alarms in the flood, with their counts."""

    @property
    def peak_per_window(self) -> float:
        """The flood's alarms per 10 minutes, scaled (a 2-minute flood of 20 alarms: 100 per 10 minutes)."""
        return self.count * WINDOW_S / max(self.end - self.start, 1.0)


@dataclass(frozen=True, slots=True)
class Frequent:
    """One of the most frequent alarms."""

    alarm: str
    priority: str
    count: int
    share: float
    """Its part of all the period's alarms, 0..1."""


@dataclass(frozen=True, slots=True)
class Chatter:
    """An alarm raised ``CHATTER_COUNT`` or more times within ``CHATTER_WINDOW_S``."""

    alarm: str
    priority: str
    count: int
    """All its raises in the period."""
    most_per_minute: int
    first: float
    """When it first reached ``CHATTER_COUNT`` within a minute."""


@dataclass(frozen=True, slots=True)
class SetAside:
    """Seconds an alarm spent shelved and out of service within the period."""

    alarm: str
    shelved_s: float
    out_of_service_s: float


@dataclass(frozen=True, slots=True)
class AlarmReport:
    """Every figure of the alarm performance report for [start, end)."""

    start: float
    end: float
    operators: int
    total: int
    average_per_window: float
    peak_per_window: int
    peak_window_start: float | None
    band: str
    by_priority: dict[str, int]
    floods: list[Flood]
    time_in_flood_s: float
    top: list[Frequent]
    chattering: list[Chatter]
    stale: list[ActiveSpan]
    standing: list[ActiveSpan]
    set_aside: list[SetAside] = field(default_factory=list)

    @property
    def time_in_flood_share(self) -> float:
        """The part of the period spent in floods, 0..1 (ISA-18.2 target: under 1 %)."""
        return self.time_in_flood_s / max(self.end - self.start, 1e-9)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return report_dict(self)


def annunciations(rows: Iterable[dict[str, Any]], start: float, end: float) -> list[Raise]:
    """The alarms raised to the operator in [start, end), in time order."""
    raised = [
        Raise(row["ts"], row["alarm"], row["priority"])
        for row in rows
        if row["kind"] == "raised" and row["state"] not in _NOT_ANNOUNCED and start <= row["ts"] < end
    ]
    raised.sort(key=lambda r: r.ts)
    return raised


def band(average: float) -> str:
    """The EEMUA 191 band of an average alarm rate per operator per 10 minutes."""
    if average < 1.0:
        return "very likely acceptable"
    for upper, name in _BANDS:
        if average <= upper:
            return name
    return _FLOOD_BAND


def windows(raised: Sequence[Raise], start: float, end: float) -> list[int]:
    """Alarms in each consecutive 10-minute window from ``start`` (the last one may be shorter)."""
    count = max(1, int(-(-(end - start) // WINDOW_S)))
    buckets = [0] * count
    for item in raised:
        buckets[min(count - 1, int((item.ts - start) // WINDOW_S))] += 1
    return buckets


def floods(raised: Sequence[Raise]) -> list[Flood]:
    """Flood periods: runs of alarms where a sliding 10-minute window holds more than ``FLOOD_ABOVE``."""
    spans: list[tuple[int, int]] = []  # index ranges [first, last] of flooded windows, merged
    last = 0
    for first in range(len(raised)):
        last = max(last, first)
        while last + 1 < len(raised) and raised[last + 1].ts < raised[first].ts + WINDOW_S:
            last += 1
        if last - first + 1 > FLOOD_ABOVE:
            if spans and first <= spans[-1][1]:
                spans[-1] = (spans[-1][0], last)
            else:
                spans.append((first, last))
    found = []
    for first, last in spans:
        inside = raised[first : last + 1]
        top = Counter(r.alarm for r in inside).most_common(FLOOD_TOP)
        found.append(Flood(inside[0].ts, inside[-1].ts, len(inside), tuple(top)))
    return found


def most_frequent(raised: Sequence[Raise], top: int = TOP) -> list[Frequent]:
    """The ``top`` most frequent alarms, most first (ties by name)."""
    counts = Counter(r.alarm for r in raised)
    priorities = {r.alarm: r.priority for r in raised}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    total = max(len(raised), 1)
    return [Frequent(name, priorities[name], n, n / total) for name, n in ranked]


def chattering(raised: Sequence[Raise]) -> list[Chatter]:
    """Alarms raised ``CHATTER_COUNT`` times or more within ``CHATTER_WINDOW_S``, most per minute first."""
    times: dict[str, list[float]] = {}
    priorities: dict[str, str] = {}
    for item in raised:
        times.setdefault(item.alarm, []).append(item.ts)
        priorities[item.alarm] = item.priority
    found = []
    for name, stamps in times.items():
        most, first_seen, low = 0, None, 0
        for high, ts in enumerate(stamps):
            while ts - stamps[low] >= CHATTER_WINDOW_S:
                low += 1
            within = high - low + 1
            most = max(most, within)
            if within >= CHATTER_COUNT and first_seen is None:
                first_seen = ts
        if first_seen is not None:
            found.append(Chatter(name, priorities[name], len(stamps), most, first_seen))
    found.sort(key=lambda c: (-c.most_per_minute, -c.count, c.alarm))
    return found


def build_report(rows: Iterable[dict[str, Any]], start: float, end: float, operators: int = 1) -> AlarmReport:
    """The alarm performance report for [start, end) from every journal row up to ``end``."""
    if end <= start:
        raise ValueError(f"the period must end after it starts (start {start}, end {end})")
    if operators < 1:
        raise ValueError(f"operators must be at least 1, not {operators}")
    ordered = sorted((r for r in rows if r["ts"] < end), key=lambda r: (r["ts"], r.get("seq", 0)))
    raised = annunciations(ordered, start, end)
    buckets = windows(raised, start, end)
    peak = max(buckets)
    periods = (end - start) / WINDOW_S
    average = len(raised) / periods / operators
    flooded = floods(raised)
    spans = active_spans(ordered, start, end)
    return AlarmReport(
        start=start,
        end=end,
        operators=operators,
        total=len(raised),
        average_per_window=average,
        peak_per_window=peak,
        peak_window_start=start + buckets.index(peak) * WINDOW_S if peak else None,
        band=band(average),
        by_priority=dict(Counter(r.priority for r in raised).most_common()),
        floods=flooded,
        time_in_flood_s=sum(f.end - f.start for f in flooded),
        top=most_frequent(raised),
        chattering=chattering(raised),
        stale=[s for s in spans if (s.end if s.end is not None else end) - s.start > STALE_AFTER_S],
        standing=[s for s in spans if s.end is None],
        set_aside=[SetAside(*item) for item in set_aside_seconds(ordered, start, end)],
    )


def report_dict(report: AlarmReport) -> dict[str, Any]:
    """``report`` as JSON-ready data (times in epoch seconds)."""
    return {
        "start": report.start,
        "end": report.end,
        "operators": report.operators,
        "alarms": report.total,
        "average_per_10min": round(report.average_per_window, 3),
        "peak_per_10min": report.peak_per_window,
        "peak_window_start": report.peak_window_start,
        "band": report.band,
        "by_priority": report.by_priority,
        "floods": [
            {"start": f.start, "end": f.end, "count": f.count, "top": [list(t) for t in f.top]}
            for f in report.floods
        ],
        "time_in_flood_s": round(report.time_in_flood_s, 3),
        "time_in_flood_share": round(report.time_in_flood_share, 5),
        "top": [
            {"alarm": t.alarm, "priority": t.priority, "count": t.count, "share": round(t.share, 4)}
            for t in report.top
        ],
        "chattering": [
            {
                "alarm": c.alarm,
                "priority": c.priority,
                "count": c.count,
                "most_per_minute": c.most_per_minute,
                "first": c.first,
            }
            for c in report.chattering
        ],
        "stale": [_span_dict(s, report.end) for s in report.stale],
        "standing": [_span_dict(s, report.end) for s in report.standing],
        "set_aside": [
            {
                "alarm": s.alarm,
                "shelved_s": round(s.shelved_s, 3),
                "out_of_service_s": round(s.out_of_service_s, 3),
            }
            for s in report.set_aside
        ],
    }


def _span_dict(span: ActiveSpan, end: float) -> dict[str, Any]:
    return {
        "alarm": span.alarm,
        "priority": span.priority,
        "since": span.start,
        "until": span.end,
        "active_s": round((span.end if span.end is not None else end) - span.start, 3),
        "state": span.state,
    }
