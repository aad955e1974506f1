"""Each alarm type's condition: the value (and what else the type looks at) to 'in alarm or not'.

Deadband is hysteresis: entering at the limit, leaving only past limit ∓ deadband (``holding``
says the condition held before). A condition that cannot be judged (a deviation whose setpoint
has no good value yet, an ``expr`` alarm with no expression wired) is None: the state is kept.

The ``expr`` seam: the rules language (:mod:`hmi.rules`) is another runtime service, compiled
and wired by the station (core); the station passes the engine an :class:`ExpressionCondition`
built from it, which also names each expression's input tags. Without one, an ``expr`` alarm is
never judged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection
from typing import Protocol

from hmi.model import Sample
from hmi.project.config import AlarmDef

ROC_SAMPLES = 1000
"""Samples a rate-of-change alarm keeps: bounded whatever the scan rate (a faster tag's window shrinks)."""

Lookup = Callable[[str], Sample | None]
"""The last sample the engine saw of another tag (a setpoint, a suppressing tag)."""


class ExpressionCondition(Protocol):
    """An ``expr`` alarm's condition from its text and its input tags' last (good) samples."""

    def inputs(self, definition: AlarmDef) -> Collection[str]:
        """The tags the alarm's expression reads: a change of any re-judges the alarm."""
        ...

    def __call__(self, definition: AlarmDef, value: float, lookup: Lookup) -> bool | None:
        """True in alarm, False not; None when it cannot be judged yet (the state is kept)."""
        ...


def limit_condition(definition: AlarmDef, value: float, holding: bool) -> bool:
    """HI/HIHI above the limit, LO/LOLO below it, with deadband."""
    limit, band = definition.limit, definition.deadband
    if definition.type in ("hi", "hihi"):
        return value > (limit - band if holding else limit)
    return value < (limit + band if holding else limit)


def deviation_condition(
    definition: AlarmDef, value: float, setpoint: Sample | None, holding: bool
) -> bool | None:
    """|value - setpoint| above the limit; None while the setpoint has no good number."""
    if setpoint is None or not setpoint.is_good or not isinstance(setpoint.value, int | float):
        return None
    gap = abs(value - float(setpoint.value))
    return gap > (definition.limit - definition.deadband if holding else definition.limit)


def roc_condition(
    definition: AlarmDef, history: deque[tuple[float, float]], ts: float, value: float, holding: bool
) -> bool | None:
    """The change per second across the alarm's window (either direction) above the limit.

    ``history`` holds (ts, value) pairs; the reference is the newest sample at least a window old,
    else the oldest kept. None until two samples with distinct times are known.
    """
    history.append((ts, value))
    start = ts - definition.window
    while len(history) > 2 and history[1][0] <= start:
        history.popleft()
    ref_ts, ref_value = history[0]
    span = ts - ref_ts
    if span <= 0:
        return None
    rate = abs(value - ref_value) / span
    return rate > (definition.limit - definition.deadband if holding else definition.limit)


def discrete_condition(definition: AlarmDef, value: float) -> bool:
    """Off-normal: the value differs from the normal state (a bool as 0 or 1)."""
    return float(value) != definition.normal


def new_history() -> deque[tuple[float, float]]:
    """The bounded sample history of a rate-of-change alarm."""
    return deque(maxlen=ROC_SAMPLES)
