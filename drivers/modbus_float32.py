"""The shortest-decimal form of many float32 values at once, equal value for value to ``shortest_float32``.

``shortest_float32`` formats each value with 6, 7, 8 then 9 significant digits and keeps
the first that is the same float32: a few microseconds per value, the largest cost of a
poll. Here each round is done over the whole array: the significand ``m`` of the value
rounded to ``d`` digits is ``rint(x * 10**k)``, and the float64 nearest the decimal
``m * 10**-k`` is one correctly rounded multiplication or division (``m`` below 2**53,
``10**|k|`` exact up to 10**22). Values where float64 arithmetic could round differently
from the decimal formatting (a product within a hair of a half, a significand at the
edge of its digit count), or outside that range (zero, subnormal, huge, not finite),
go through ``shortest_float32`` itself: the result is the same, only the cost differs.
"""

from __future__ import annotations

import numpy as np

from drivers.modbus_codec import shortest_float32

_EXACT_POWERS = 22  # 10**22 is the largest power of ten a float64 holds exactly
_TIE_MARGIN = 1e-6  # far wider than the float64 rounding error of x * 10**k (about 1e-7 at 10**9)
_POWERS = np.array([10.0**p for p in range(_EXACT_POWERS + 1)])
_DIGITS = np.arange(6, 10)  # the digit counts shortest_float32 tries, in its order
_DIGITS_LESS_ONE = (_DIGITS - 1)[None, :]
_LOW, _HIGH = 10.0 ** (_DIGITS - 1), 10.0**_DIGITS
_TINY = float(np.finfo(np.float32).tiny)
_COLUMNS = np.arange(len(_DIGITS))[None, :]


_PLANT_LOW, _PLANT_HIGH = -13, 5  # the plant range: magnitudes in [1e-13, 1e5)
_DECADES = np.array([10.0**e for e in range(_PLANT_LOW + 1, _PLANT_HIGH)])
"""The powers of ten inside the plant range: a magnitude's decade is one ``searchsorted``."""
_PLANT_POWERS = np.array([[10.0 ** (d - 1 - e) for d in _DIGITS] for e in range(_PLANT_LOW, _PLANT_HIGH)])
"""Per decade (row) the multipliers that put 6..9 significant digits before the point, all exact."""
# Where each value's row starts in a flattened (n, 4) array: one ``take`` picks every row's column.
_ROW_STARTS = np.arange(0, len(_DIGITS) * 4096, len(_DIGITS))


def _plant_range(x32: np.ndarray) -> list[float] | None:
    """The common case in fewer steps: every value normal with a magnitude in [1e-13, 1e5), so that
    every power of ten is a multiplier (k >= 0) held exactly; None when a value is outside it.

    Decimal rounding is symmetric, so the magnitudes are rounded and the signs put back after. A
    decade misjudged at its edge (a negative power of ten is inexact) shows as a product outside
    [10**(d-1), 10**d] and takes the scalar path; so does a product within a hair of a half.
    """
    count = len(x32)
    if count > len(_ROW_STARTS):
        return None
    magnitude32 = np.abs(x32)
    magnitude = magnitude32.astype(np.float64)
    if not (magnitude.min() >= 1e-13 and magnitude.max() < 1e5):  # NaN fails both comparisons
        return None
    power = _PLANT_POWERS[_DECADES.searchsorted(magnitude, side="right")]
    scaled = magnitude[:, None] * power
    significand = np.rint(scaled)
    unsure = (np.abs(scaled - significand) > 0.5 - _TIE_MARGIN) | (scaled < _LOW) | (scaled > _HIGH)
    candidate = significand / power
    # A row takes the first column that matches or is unsure: decided only when that one matched.
    stop = (candidate.astype(np.float32) == magnitude32[:, None]) | unsure
    chosen = _ROW_STARTS[:count] + stop.argmax(axis=1)
    out = np.copysign(candidate.take(chosen), x32).tolist()
    undecided = unsure.take(chosen) | ~stop.take(chosen)
    if undecided.any():
        for index in np.flatnonzero(undecided).tolist():
            out[index] = shortest_float32(float(x32[index]))
    return out


def shortest_float32_array(values: np.ndarray) -> list[float]:
    """``[shortest_float32(float(v)) for v in values]`` for a float32 array, mostly vectorised.

    Every digit count is tried at once (one column each); a row takes the first column that is the
    same float32, unless a column before it could not be decided exactly (then the scalar way).
    """
    x32 = np.asarray(values, dtype=np.float32)
    if len(x32) == 0:
        return []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        common = _plant_range(x32)
        if common is not None:
            return common
        x = x32.astype(np.float64)
        magnitude = np.abs(x)
        normal = np.isfinite(x) & (magnitude >= _TINY)
        exponent = np.floor(np.log10(np.where(normal, magnitude, 1.0))).astype(np.int64)
        k = _DIGITS_LESS_ONE - exponent[:, None]
        steps = np.abs(k)
        power = _POWERS[np.minimum(steps, _EXACT_POWERS)]
        column = x[:, None]
        if (k >= 0).all():  # values below 10**5: the common case takes one branch only
            scaled = column * power
            significand = np.rint(scaled)
            candidate = significand / power
        else:
            up = k >= 0
            scaled = np.where(up, column * power, column / power)
            significand = np.rint(scaled)
            candidate = np.where(up, significand / power, significand * power)
        size = np.abs(scaled)
        # A product near a half could round the other way than exact decimal rounding does; one outside
        # [10**(d-1), 10**d] means log10 misjudged the exponent; past 10**22 a power is inexact.
        unsure = (
            (np.abs(np.abs(scaled - significand) - 0.5) < _TIE_MARGIN)
            | (size < _LOW)
            | (size > _HIGH)
            | (steps > _EXACT_POWERS)
        )
        match = ~unsure & (candidate.astype(np.float32) == x32[:, None])
    first_match = match.argmax(axis=1)
    rows = np.arange(len(x))
    decided = match[rows, first_match] & ~(
        unsure & (np.arange(len(_DIGITS))[None, :] < first_match[:, None])
    ).any(axis=1)
    result = np.where(normal & decided, candidate[rows, first_match], x)
    out = result.tolist()
    # Zero, infinities and NaN are their own shortest form; subnormals and undecided rows go one by one.
    for index in np.flatnonzero(~(decided & normal) & np.isfinite(x) & (magnitude > 0)).tolist():
        out[index] = shortest_float32(out[index])
    return out
