"""Durations and sizes as engineers write them; defined in :mod:`drivers.units` for connection schemas."""

from drivers.units import DURATION_FORMS, DURATION_UNITS, SIZE_FORMS, SIZE_UNITS, parse_duration, parse_size

__all__ = ["DURATION_FORMS", "DURATION_UNITS", "SIZE_FORMS", "SIZE_UNITS", "parse_duration", "parse_size"]
