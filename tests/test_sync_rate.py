"""The shown delivery rate: kept as deliveries come and go, equal to the plain definition over the window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hmi.sync.rate import DeliveryRate


def _plain(deliveries: list[tuple[float, int]], now: float, window: float) -> float:
    """Rows after the window's first delivery over the time since it, from the whole list."""
    recent = [(t, n) for t, n in deliveries if now - t <= window]
    span = recent[-1][0] - recent[0][0] if len(recent) > 1 else 0.0
    return sum(n for _, n in recent[1:]) / span if span > 0 else 0.0


@given(
    steps=st.lists(
        st.tuples(st.floats(0, 4, allow_nan=False), st.integers(1, 10_000), st.booleans()), max_size=60
    )
)
def test_the_rate_is_the_plain_definition_over_the_window_at_every_look(
    steps: list[tuple[float, int, bool]],
) -> None:
    rate, deliveries, now = DeliveryRate(window=10.0), [], 0.0
    for gap, rows, look in steps:
        now += gap
        if look:
            assert rate.rows_per_s(now) == pytest.approx(_plain(deliveries, now, 10.0))
        else:
            rate.add(now, rows)
            deliveries.append((now, rows))
    assert rate.rows_per_s(now) == pytest.approx(_plain(deliveries, now, 10.0))


def test_a_quiet_window_forgets_the_old_deliveries() -> None:
    rate = DeliveryRate(window=10.0)
    rate.add(0.0, 500)
    rate.add(1.0, 500)
    assert rate.rows_per_s(1.0) == 500.0
    assert rate.rows_per_s(11.5) == 0.0  # both older than the window: nothing to show
    rate.add(12.0, 100)
    assert rate.rows_per_s(12.0) == 0.0  # one delivery gives no span yet
