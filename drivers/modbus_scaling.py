"""Linear engineering-unit scaling of integer registers, exact both ways. Pure functions.

``engineering = raw * gain + offset``. Gain and offset are kept as exact fractions of
the decimals the engineer wrote (``0.1`` is 1/10, not the float nearest to it), so raw
621 reads 62.1 (the float nearest to 621/10), and a write is inverted exactly: 62.5
goes out as 625. A write that is not a whole number of raw steps (62.55 with a 0.1
step) is refused, naming the nearest values that can be written: never rounded, so
the device always holds exactly what the operator asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from numbers import Rational

from hmi.model import DataType


def exact(number: float | int | Decimal | Fraction) -> Fraction:
    """The decimal a number is written as, exactly: ``0.1`` gives 1/10."""
    if isinstance(number, float):
        return Fraction(repr(number))
    return Fraction(number)


@dataclass(frozen=True, slots=True)
class LinearScale:
    """``engineering = raw * gain + offset`` with exact ``gain`` (never 0) and ``offset``."""

    gain: Fraction
    offset: Fraction = Fraction(0)

    @classmethod
    def from_ranges(cls, raw: tuple[int, int], eng: tuple[float, float]) -> LinearScale:
        """The line through (raw low, engineering low) and (raw high, engineering high)."""
        raw_low, raw_high = exact(raw[0]), exact(raw[1])
        eng_low, eng_high = exact(eng[0]), exact(eng[1])
        if raw_low == raw_high or eng_low == eng_high:
            raise ValueError("the raw and the engineering range must each span more than one value")
        gain = (eng_high - eng_low) / (raw_high - raw_low)
        return cls(gain, eng_low - raw_low * gain)

    @classmethod
    def from_gain(cls, gain: float, offset: float = 0.0) -> LinearScale:
        """``raw * gain + offset``; a gain of 0 would map every raw value to one."""
        if not (math.isfinite(gain) and math.isfinite(offset)) or gain == 0:
            raise ValueError("gain must be a finite number other than 0 (and offset finite)")
        return cls(exact(gain), exact(offset))

    @property
    def step(self) -> Fraction:
        """The engineering value of one raw count."""
        return abs(self.gain)

    def to_engineering(self, raw: int) -> float:
        """The engineering value of a raw register value (correctly rounded to a float)."""
        return float(raw * self.gain + self.offset)

    def to_raw(self, value: object) -> int:
        """The raw integer for an engineering value; ``ValueError`` when it is not a whole raw step."""
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Rational):
            raise ValueError(f"needs a number, got {value!r}")
        if isinstance(value, float | Decimal) and not math.isfinite(value):
            raise ValueError(f"needs a finite number, got {value!r}")
        raw = (exact(value) - self.offset) / self.gain  # type: ignore[arg-type]
        if raw.denominator != 1:
            low, high = math.floor(raw), math.ceil(raw)
            below, above = sorted((self.to_engineering(low), self.to_engineering(high)))
            raise ValueError(
                f"{value} is not a whole number of steps of {float(self.step):g}: "
                f"the nearest values that can be written are {below:g} and {above:g}"
            )
        return int(raw)

    def raw_for_write(self, value: object, raw_type: DataType) -> int:
        """The raw integer to write for ``value``; ``ValueError`` when it is not a whole raw step or
        does not fit ``raw_type``. Nothing is rounded."""
        raw = self.to_raw(value)
        low, high = raw_range(raw_type)
        if not low <= raw <= high:
            eng_low, eng_high = self.span_of(low, high)
            raise ValueError(
                f"{value} is outside the range of the scaled {raw_type.value} ([{eng_low:g}, {eng_high:g}])"
            )
        return raw

    def span_of(self, low: int, high: int) -> tuple[float, float]:
        """The engineering range of the raw range ``low..high``, lowest first."""
        ends = sorted((self.to_engineering(low), self.to_engineering(high)))
        return ends[0], ends[1]


def raw_range(data_type: DataType) -> tuple[int, int]:
    """The smallest and largest value of an integer register type."""
    bits = int(data_type.value.lstrip("uint"))
    if data_type.value.startswith("u"):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
