"""Every window function against reference values computed here with numpy, over random series.

The series have gaps (long pauses between samples) and bad-quality samples. After each sample the
window's answer is compared with numpy's answer over the whole series seen so far, which is the
rescan the incremental windows avoid.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmi.rules import windows
from hmi.rules.windows import NotReady, Span

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

step = st.tuples(
    # mostly steady polling, sometimes a long gap
    st.one_of(st.floats(0.01, 3.0), st.floats(20.0, 200.0)),
    st.floats(-1000.0, 1000.0, allow_nan=False),
    st.one_of(st.booleans(), st.just(True)),  # about three in four good
)
series = st.lists(step, min_size=1, max_size=120).map(
    lambda steps: (
        1_000_000.0 + np.cumsum([s[0] for s in steps]),
        np.array([s[1] for s in steps]),
        np.array([s[2] for s in steps]),
    )
)
bool_series = st.lists(
    st.tuples(st.floats(0.01, 50.0), st.booleans(), st.one_of(st.booleans(), st.just(True))),
    min_size=1,
    max_size=120,
).map(
    lambda steps: (
        1_000_000.0 + np.cumsum([s[0] for s in steps]),
        np.array([float(s[1]) for s in steps]),
        np.array([s[2] for s in steps]),
    )
)
spans = st.one_of(
    st.floats(0.5, 60.0).map(lambda s: Span(seconds=s)), st.integers(1, 15).map(lambda n: Span(count=n))
)


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-6)


def answer(window) -> float | None:
    try:
        return window.value()
    except NotReady:
        return None


def in_window(ts, good, i, span: Span) -> np.ndarray:
    """Indexes of the good samples among 0..i that the window holds after sample i."""
    kept = np.flatnonzero(good[: i + 1])
    if span.by_count:
        return kept[-span.count :]
    return kept[ts[kept] > ts[i] - span.seconds]


def check_sliding(make, reference, data, span: Span) -> None:
    ts, xs, good = data
    window = make(span)
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        held = in_window(ts, good, i, span)
        expected = reference(ts[held], xs[held])
        actual = answer(window)
        if expected is None:
            assert actual is None, (i, actual)
        else:
            assert actual is not None and close(actual, expected), (i, actual, expected)


@SETTINGS
@given(series, spans)
def test_moving_average(data, span):
    check_sliding(windows.MovingAverage, lambda t, x: float(np.mean(x)) if len(x) else None, data, span)


@SETTINGS
@given(series, spans)
def test_rolling_min_and_max(data, span):
    check_sliding(
        lambda s: windows.RollingExtreme(s, False),
        lambda t, x: float(np.min(x)) if len(x) else None,
        data,
        span,
    )
    check_sliding(
        lambda s: windows.RollingExtreme(s, True),
        lambda t, x: float(np.max(x)) if len(x) else None,
        data,
        span,
    )


@SETTINGS
@given(series, spans)
def test_standard_deviation(data, span):
    ts, xs, good = data
    window = windows.StandardDeviation(span)
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        held = xs[in_window(ts, good, i, span)]
        actual = answer(window)
        if not len(held):
            assert actual is None
            continue
        # Compared as variances: the square root of a rounding residue near zero is not a real error.
        scale = 1.0 + float(np.max(np.abs(held))) ** 2
        assert math.isclose(actual**2, float(np.var(held)), rel_tol=1e-6, abs_tol=1e-9 * scale), (i, actual)


@SETTINGS
@given(series, spans, st.sampled_from([1.0, 60.0, 3600.0]))
def test_rate_of_change(data, span, per):
    def reference(t, x):
        if len(x) < 2 or t[-1] == t[0]:
            return None
        return float((x[-1] - x[0]) / (t[-1] - t[0]) * per)

    check_sliding(lambda s: windows.RateOfChange(s, per), reference, data, span)


@SETTINGS
@given(series, spans)
def test_ewma(data, span):
    ts, xs, good = data
    window = windows.Ewma(span)
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        t, x = ts[: i + 1][good[: i + 1]], xs[: i + 1][good[: i + 1]]
        if not len(x):
            assert answer(window) is None
            continue
        # The closed form: each sample weighs alpha_k times what every later alpha leaves of it.
        if span.by_count:
            alphas = np.full(len(x), 2.0 / (span.count + 1))
        else:
            alphas = np.concatenate([[1.0], 1.0 - np.exp(-np.diff(t) / span.seconds)])
        alphas[0] = 1.0
        keep = np.concatenate([np.cumprod((1.0 - alphas)[::-1])[::-1][1:], [1.0]])
        expected = float(np.sum(alphas * x * keep))
        assert close(window.value(), expected), (i, window.value(), expected)


def trapezoids(t, x, good, start=-math.inf):
    """Trapezoids between consecutive good samples, counting only the part after ``start``."""
    t0, t1, x0, x1 = t[:-1], t[1:], x[:-1], x[1:]
    pair = good[:-1] & good[1:] & (t1 > start)
    cut = np.maximum(t0, start)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_cut = np.where(t0 < start, x0 + (x1 - x0) * (cut - t0) / (t1 - t0), x0)
    return float(np.sum(np.where(pair, (x_cut + x1) / 2.0 * (t1 - cut), 0.0)))


@SETTINGS
@given(series, st.sampled_from([1.0, 3600.0]))
def test_integral(data, per):
    ts, xs, good = data
    window = windows.Integral(per)
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        expected = trapezoids(ts[: i + 1], xs[: i + 1], good[: i + 1]) / per
        assert math.isclose(window.value(), expected, rel_tol=1e-6, abs_tol=1e-3), (
            i,
            window.value(),
            expected,
        )


@SETTINGS
@given(series, st.sampled_from([30.0, 100.0, 1000.0]))
def test_integral_resets_on_its_schedule(data, reset):
    ts, xs, good = data
    window = windows.Integral(1.0, reset)
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        if not good[i]:
            continue  # a reset is taken at the next good sample
        start = math.floor(ts[i] / reset) * reset
        expected = trapezoids(ts[: i + 1], xs[: i + 1], good[: i + 1], start)
        assert math.isclose(window.value(), expected, rel_tol=1e-6, abs_tol=1e-3), (
            i,
            window.value(),
            expected,
        )


@SETTINGS
@given(bool_series)
def test_starts_and_run_hours(data):
    ts, xs, good = data
    starts, hours = windows.Starts(), windows.RunHours()
    for i in range(len(ts)):
        starts.add(ts[i], xs[i], bool(good[i]))
        hours.add(ts[i], xs[i], bool(good[i]))
        g, x = good[: i + 1], xs[: i + 1] > 0.5
        rising = np.sum(g[1:] & g[:-1] & x[1:] & ~x[:-1])
        assert starts.value() == rising
        on = g[:-1] & x[:-1]
        assert close(hours.value(), float(np.sum(np.where(on, np.diff(ts[: i + 1]), 0.0))) / 3600.0)


@SETTINGS
@given(bool_series, st.booleans())
def test_time_in_state(data, state):
    ts, xs, good = data
    window = windows.TimeInState(float(state))
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        matches = good[: i + 1] & ((xs[: i + 1] > 0.5) == state)
        if not matches[i]:
            expected = 0.0
        else:
            breaks = np.flatnonzero(~matches)
            first = breaks[-1] + 1 if len(breaks) else 0
            expected = float(ts[i] - ts[first])
        assert close(window.value(), expected), (i, window.value(), expected)


@SETTINGS
@given(series, spans)
def test_zscore_against_a_frozen_baseline(data, span):
    ts, xs, good = data
    window = windows.ZScore(span)
    for i in range(len(ts)):
        window.add(ts[i], xs[i], bool(good[i]))
        idx = np.flatnonzero(good[: i + 1])
        expected = None
        if len(idx):
            if span.by_count:
                baseline, ready = idx[: span.count], len(idx) >= span.count
            else:
                age = ts[idx] - ts[idx[0]]
                baseline, ready = idx[age < span.seconds], bool(np.any(age >= span.seconds))
            std = float(np.std(xs[baseline])) if len(baseline) else 0.0
            if ready and std > 1e-9:
                expected = (xs[idx[-1]] - float(np.mean(xs[baseline]))) / std
        actual = answer(window)
        if expected is None:
            continue  # not ready (or a spread too small to judge): the window says so or nothing
        assert actual is not None and math.isclose(actual, expected, rel_tol=1e-5, abs_tol=1e-5), (
            i,
            actual,
            expected,
        )


def test_a_sample_older_than_the_newest_is_ignored_and_counted():
    window = windows.MovingAverage(Span(seconds=10))
    window.add(100.0, 1.0, True)
    window.add(99.0, 50.0, True)
    assert window.value() == 1.0 and window.out_of_order == 1


def test_every_window_costs_constant_work_per_sample():
    """No rescan: the deques hold at most the window's samples, whatever the series' length."""
    window = windows.RollingExtreme(Span(count=10), True)
    for i in range(10_000):
        window.add(float(i), float(i % 7), True)
    assert len(window.times) == 10 and len(window._candidates) <= 10


@pytest.mark.parametrize("span", [Span(seconds=5.0), Span(count=3)])
def test_bad_samples_never_enter_a_window(span):
    window = windows.MovingAverage(span)
    window.add(1.0, 10.0, True)
    window.add(2.0, 1e9, False)
    assert window.value() == 10.0
