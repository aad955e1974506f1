"""Durations (``250ms``, ``10m``, ``30d``) and sizes (``500MB``, ``20GB``) as engineers write them."""

from __future__ import annotations

import math
import re

DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
"""Seconds per duration unit. Minutes are ``m``; months are deliberately absent (their length varies)."""

SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
"""Bytes per size unit. Binary multiples, because disk quotas and SQLite pages are counted that way."""

DURATION_FORMS = "a number of seconds or a number with a unit ms, s, m, h or d (e.g. 250ms, 1s, 10m, 2h, 30d)"
SIZE_FORMS = "a number of bytes or a number with a unit B, KB, MB, GB or TB (e.g. 500MB, 1GB, 20GB)"

_NUMBER_WITH_UNIT = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+) ?([A-Za-z]*)")


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a plain number (seconds) or a string such as ``250ms``, ``1s``, ``10m``.

    Raises ``ValueError`` naming the accepted forms for anything else, including
    negative, infinite or boolean values.
    """
    number, unit = _split(value, "duration", DURATION_FORMS)
    if unit == "":
        return number
    if unit not in DURATION_UNITS:
        raise ValueError(f"bad duration {_shown(value)}: unknown unit {unit!r}; expected {DURATION_FORMS}")
    seconds = number * DURATION_UNITS[unit]
    if not math.isfinite(seconds):
        raise ValueError(f"bad duration {_shown(value)}: too large")
    return seconds


def parse_size(value: object) -> int:
    """Bytes in ``value``: a plain whole number (bytes) or a string such as ``500MB`` or ``20GB``.

    Units are case-insensitive (``1gb`` is ``1GB``). Raises ``ValueError`` naming
    the accepted forms for anything else.
    """
    number, unit = _split(value, "size", SIZE_FORMS)
    multiplier = SIZE_UNITS.get(unit.upper(), 0) if unit else 1
    if multiplier == 0:
        raise ValueError(f"bad size {_shown(value)}: unknown unit {unit!r}; expected {SIZE_FORMS}")
    size = number * multiplier
    if not math.isfinite(size):
        raise ValueError(f"bad size {_shown(value)}: too large")
    if size != int(size):
        raise ValueError(f"bad size {_shown(value)}: not a whole number of bytes")
    return int(size)


def _split(value: object, what: str, forms: str) -> tuple[float, str]:
    """A non-negative finite number and the unit text after it (empty for a bare number)."""
    # bool is an int subclass: `timeout: true` is a typo, never one second.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"bad {what} {_shown(value)}: expected {forms}")
    text: int | float | str
    if isinstance(value, int | float):
        text, unit = value, ""
    else:
        match = _NUMBER_WITH_UNIT.fullmatch(value.strip())
        if match is None:
            raise ValueError(f"bad {what} {_shown(value)}: expected {forms}")
        text, unit = match[1], match[2]
    try:
        number = float(text)
    except OverflowError:  # an int of hundreds of digits has no float
        number = math.inf
    if not math.isfinite(number) or number < 0:
        shown = _shown(value)
        raise ValueError(f"bad {what} {shown}: must be a finite, non-negative number; expected {forms}")
    return number, unit


def _shown(value: object, limit: int = 40) -> str:
    """``value`` as a message quotes it, cut short so a hostile value cannot flood the output."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...({len(text)} characters)"
