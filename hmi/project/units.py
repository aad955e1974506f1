"""Durations and sizes as engineers write them; parsed by :mod:`drivers.units` for connection schemas."""

from __future__ import annotations

from drivers.units import DURATION_FORMS, DURATION_UNITS, SIZE_FORMS, SIZE_UNITS, parse_duration, parse_size

__all__ = [
    "DURATION_FORMS",
    "DURATION_UNITS",
    "SIZE_FORMS",
    "SIZE_UNITS",
    "format_duration",
    "parse_duration",
    "parse_size",
]

_SPAN_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def format_duration(seconds: float) -> str:
    """A duration as an engineer writes it: ``10m``, ``24h``, ``7d``, ``90s`` (or ``1.5s``)."""
    for unit, size in _SPAN_UNITS:
        # a day is read as 24h; days start at 2d, as the trend presets say "7 d" but "24 h"
        if seconds >= (2 * size if unit == "d" else size) and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
