"""Durations and sizes as engineers write them in project files."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hmi.project.units import DURATION_UNITS, SIZE_UNITS, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1s", 1.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("30d", 30 * 86400.0),
        ("1.5s", 1.5),
        (".5s", 0.5),
        ("2 s", 2.0),
        (" 3s ", 3.0),
        ("0", 0.0),
        ("12", 12.0),
        (5, 5.0),
        (0.25, 0.25),
    ],
)
def test_durations_in_every_accepted_form(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "garbage",
    ["abc", "10 minutes", "1S", "-1s", "1e3s", "nan", "", "1 2s", "٣s", True, None, [1], math.inf, -1],
)
def test_durations_refuse_garbage_naming_the_accepted_forms(garbage: object) -> None:
    with pytest.raises(ValueError, match=r"250ms, 1s, 10m, 2h, 30d"):
        parse_duration(garbage)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500MB", 500 * 1024**2),
        ("1GB", 1024**3),
        ("20GB", 20 * 1024**3),
        ("1gb", 1024**3),
        ("0.5KB", 512),
        ("2TB", 2 * 1024**4),
        ("100B", 100),
        (4096, 4096),
        ("4096", 4096),
    ],
)
def test_sizes_in_every_accepted_form(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("garbage", ["abc", "5PB", "-1GB", "1 GiB", True, None, 1.5, "1.3B"])
def test_sizes_refuse_garbage(garbage: object) -> None:
    with pytest.raises(ValueError, match=r"bad size"):
        parse_size(garbage)


def test_size_garbage_message_names_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match=r"500MB, 1GB, 20GB"):
        parse_size("20 gigs")


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(DURATION_UNITS)))
def test_any_whole_count_of_any_duration_unit(count: int, unit: str) -> None:
    assert parse_duration(f"{count}{unit}") == pytest.approx(count * DURATION_UNITS[unit])


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(SIZE_UNITS)))
def test_any_whole_count_of_any_size_unit(count: int, unit: str) -> None:
    assert parse_size(f"{count}{unit}") == count * SIZE_UNITS[unit]


@given(st.text(max_size=12))
def test_durations_either_parse_to_a_finite_non_negative_number_or_raise_value_error(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert math.isfinite(seconds)
    assert seconds >= 0
