"""The functions an expression may call: plain ones (min, max, abs, clamp, round) and window functions.

A window function's first argument is a tag (its samples feed the window); its other arguments are
literals, fixed when the expression is compiled: a duration (``10m``) makes a window by time, a
plain whole number (``20``) a window by count.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hmi.rules import windows
from hmi.rules.windows import Span


class Kind(enum.StrEnum):
    """The type of a value in an expression."""

    NUMBER = "number"
    BOOL = "bool"
    DURATION = "duration"


@dataclass(frozen=True, slots=True)
class Plain:
    """A function of numbers: ``arity`` (low, high; high None: any number more)."""

    name: str
    low: int
    high: int | None
    call: Callable[..., float]
    doc: str


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _round(x: float, digits: float = 0.0) -> float:
    return float(round(x, int(digits)))


PLAIN: dict[str, Plain] = {
    f.name: f
    for f in (
        Plain("min", 2, None, min, "the smallest of its arguments"),
        Plain("max", 2, None, max, "the largest of its arguments"),
        Plain("abs", 1, 1, abs, "the absolute value"),
        Plain("clamp", 3, 3, _clamp, "clamp(x, low, high): x kept within [low, high]"),
        Plain("round", 1, 2, _round, "round(x) or round(x, digits), digits a whole number literal 0..12"),
    )
}


@dataclass(frozen=True, slots=True)
class WindowFunction:
    """A window function: what its literal arguments are, and how a window is built from them.

    ``params`` lists each literal argument after the tag: ``span`` (a duration or a count),
    ``duration`` (a duration only) or ``state`` (a number or true/false); ``required`` of them must
    be given. ``bool_input`` functions take a bool tag, the others a number tag.
    """

    name: str
    params: tuple[str, ...]
    required: int
    build: Callable[..., Any]
    doc: str
    bool_input: bool = False


def _span(value: float, is_duration: bool) -> Span:
    return Span(seconds=value) if is_duration else Span(count=int(value))


WINDOWS: dict[str, WindowFunction] = {
    f.name: f
    for f in (
        WindowFunction("avg", ("span",), 1, windows.MovingAverage, "moving average over a time or count"),
        WindowFunction(
            "rolling_min",
            ("span",),
            1,
            lambda s: windows.RollingExtreme(s, False),
            "lowest sample in the window",
        ),
        WindowFunction(
            "rolling_max",
            ("span",),
            1,
            lambda s: windows.RollingExtreme(s, True),
            "highest sample in the window",
        ),
        WindowFunction("stddev", ("span",), 1, windows.StandardDeviation, "population standard deviation"),
        WindowFunction("ewma", ("span",), 1, windows.Ewma, "EWMA: a time constant, or N samples (2/(N+1))"),
        WindowFunction(
            "rate",
            ("span", "duration"),
            1,
            lambda s, per=1.0: windows.RateOfChange(s, per),
            "rate(x, window[, per]): change per `per` (default 1 s) from oldest to newest sample",
        ),
        WindowFunction(
            "integral",
            ("duration", "duration"),
            0,
            lambda per=1.0, reset=0.0: windows.Integral(per, reset),
            "integral(x[, per[, reset]]): totaliser, x·dt / per, reset every `reset` (epoch-aligned)",
        ),
        WindowFunction(
            "zscore", ("span",), 1, windows.ZScore, "anomaly score against a baseline learned over the span"
        ),
        WindowFunction(
            "starts", (), 0, windows.Starts, "false-to-true transitions of a bool", bool_input=True
        ),
        WindowFunction("run_hours", (), 0, windows.RunHours, "hours a bool has been true", bool_input=True),
        WindowFunction(
            "time_in_state",
            ("state",),
            1,
            windows.TimeInState,
            "time_in_state(x, value): seconds x has equalled value without a break",
        ),
    )
}


def known_names() -> list[str]:
    """Every function name, for suggestions."""
    return sorted({*PLAIN, *WINDOWS})
