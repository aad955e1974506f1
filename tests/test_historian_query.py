"""Trend queries: plot_series downsampling, value_at, aggregate."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hmi.historian import HistoryReader, HistoryWriter
from hmi.model import Quality, Reason, Sample

T0 = 1_700_000_000.0


def write(path: Path, samples: list[tuple[str, Sample]]) -> HistoryReader:
    writer = HistoryWriter(path, commit_interval=0.05)
    writer.start()
    writer.extend(samples)
    writer.stop()
    assert writer.stats()["written"] == len(samples)
    return HistoryReader(path)


@pytest.fixture
def sine(tmp_path) -> HistoryReader:
    """One hour at 1 Hz: a sine with one spike and one bad minute."""
    samples = []
    for i in range(3600):
        if 1800 <= i < 1860:
            samples.append(("T", Sample.bad(Reason.COMM_FAILURE, value=0.0, ts=T0 + i)))
        else:
            value = 1000.0 if i == 1234 else math.sin(i / 300)
            samples.append(("T", Sample.good(value, T0 + i)))
    return write(tmp_path / "h.db", samples)


def test_few_rows_come_back_raw(sine):
    ts, values, quality = sine.plot_series("T", T0, T0 + 99, max_points=1000)
    assert ts.dtype == np.float64 and values.dtype == np.float64 and quality.dtype == np.int8
    np.testing.assert_array_equal(ts, T0 + np.arange(100))
    np.testing.assert_allclose(values, np.sin(np.arange(100) / 300))


def test_downsampling_keeps_peaks_gaps_and_the_point_budget(sine):
    ts, values, quality = sine.plot_series("T", T0, T0 + 3599, max_points=200)
    assert len(ts) <= 200 + 2  # two buckets hold the bad minute's edges, each may add its gap
    assert np.all(np.diff(ts) > 0)
    assert np.nanmax(values) == 1000.0 and ts[np.nanargmax(values)] == T0 + 1234
    assert np.nanmin(values) == pytest.approx(-1.0, abs=1e-3)
    gaps = ts[np.isnan(values)]
    assert gaps.size >= 1 and np.all((gaps >= T0 + 1800) & (gaps < T0 + 1860))
    assert set(quality[np.isnan(values)]) == {int(Quality.BAD)}
    assert not np.isnan(values[(ts < T0 + 1800) | (ts >= T0 + 1860)]).any()


def test_unknown_tag_and_bad_arguments(sine):
    assert [len(a) for a in sine.plot_series("NOPE", T0, T0 + 10, 100)] == [0, 0, 0]
    with pytest.raises(ValueError, match="time range"):
        sine.plot_series("T", T0 + 10, T0, 100)
    with pytest.raises(ValueError, match="max_points"):
        sine.plot_series("T", T0, T0 + 10, 1)


def test_value_at_steps_or_interpolates(tmp_path):
    reader = write(
        tmp_path / "h.db",
        [
            ("T", Sample.good(10.0, T0)),
            ("T", Sample.good(20.0, T0 + 10)),
            ("T", Sample.bad(Reason.COMM_FAILURE, ts=T0 + 20)),
            ("T", Sample(30.0, Quality.UNCERTAIN, T0 + 30, Reason.STALE)),
            ("T", Sample.good(40.0, T0 + 40)),
        ],
    )
    assert reader.value_at("T", T0 - 1) is None
    assert reader.value_at("T", T0 + 5).value == 10.0
    assert reader.value_at("T", T0 + 5).ts == T0
    row = reader.value_at("T", T0 + 5, interpolate=True)
    assert row.ts == T0 + 5 and row.value == pytest.approx(15.0) and row.quality is Quality.GOOD
    assert reader.value_at("T", T0 + 15, interpolate=True).value == 20.0  # next is bad: a step
    assert reader.value_at("T", T0 + 25, interpolate=True).quality is Quality.BAD
    row = reader.value_at("T", T0 + 35, interpolate=True)
    assert row.value == pytest.approx(35.0) and row.quality is Quality.UNCERTAIN
    assert reader.value_at("T", T0 + 99, interpolate=True).value == 40.0


def test_aggregate_over_a_range(tmp_path):
    reader = write(
        tmp_path / "h.db",
        [
            ("T", Sample.bad(Reason.COMM_FAILURE, value=99.0, ts=T0)),
            ("T", Sample.good(1.0, T0 + 1)),
            ("T", Sample(5.0, Quality.UNCERTAIN, T0 + 2, Reason.STALE)),
            ("T", Sample.good(3.0, T0 + 3)),
            ("T", Sample.good("text", T0 + 4)),
        ],
    )
    assert reader.aggregate("T", T0, T0 + 10) == {
        "min": 1.0,
        "max": 5.0,
        "avg": 3.0,
        "first": 1.0,
        "last": 3.0,
        "count": 5,
        "good_count": 3,
    }
    empty = reader.aggregate("NOPE", T0, T0 + 10)
    assert empty["count"] == 0 and empty["min"] is None and empty["avg"] is None


@pytest.fixture(scope="module")
def three_hours(tmp_path_factory) -> tuple[HistoryReader, dict[float, tuple[float, int]]]:
    """Three hours at 1 Hz of noise with spikes and bad spans, and what was written, by ts."""
    rng = np.random.default_rng(7)
    written: dict[float, tuple[float, int]] = {}
    samples = []
    for i in range(3 * 3600):
        ts = T0 + 1800.5 + i  # not on a bucket boundary
        if 4000 <= i < 4100 or i % 997 == 0:
            samples.append(("T", Sample.bad(Reason.COMM_FAILURE, value=1.0, ts=ts)))
            written[ts] = (math.nan, 0)
        else:
            value = float(rng.normal()) * (50 if i % 1500 == 3 else 1)
            samples.append(("T", Sample.good(value, ts)))
            written[ts] = (value, 2)
    return write(tmp_path_factory.mktemp("h") / "h.db", samples), written


def raw_aggregate(written, start, end):
    rows = [(ts, v, q) for ts, (v, q) in sorted(written.items()) if start <= ts <= end]
    usable = [v for _, v, q in rows if q > 0]
    return {
        "min": min(usable, default=None),
        "max": max(usable, default=None),
        "avg": sum(usable) / len(usable) if usable else None,
        "first": usable[0] if usable else None,
        "last": usable[-1] if usable else None,
        "count": len(rows),
        "good_count": sum(q == 2 for _, _, q in rows),
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 3 * 3600), (1800.5, 9000), (1799.9, 5400.2), (3599, 3661), (7205.25, 7205.25), (-50, 10)],
)
def test_aggregate_from_rollups_equals_the_raw_rows(three_hours, start, end):
    reader, written = three_hours
    got = reader.aggregate("T", T0 + 1800 + start, T0 + 1800 + end)
    expected = raw_aggregate(written, T0 + 1800 + start, T0 + 1800 + end)
    average = expected.pop("avg")
    assert got.pop("avg") == (None if average is None else pytest.approx(average, rel=1e-9, abs=1e-12))
    assert got == expected


@pytest.mark.parametrize(
    ("start", "end", "max_points"), [(0, 3 * 3600, 40), (0, 3 * 3600, 4), (1000.3, 9000.7, 100), (10, 130, 8)]
)
def test_long_range_plots_keep_every_peak_and_only_real_points(three_hours, start, end, max_points):
    reader, written = three_hours
    start, end = T0 + 1800 + start, T0 + 1800 + end
    ts, values, quality = reader.plot_series("T", start, end, max_points)
    assert np.all(np.diff(ts) > 0) and np.all((ts >= start) & (ts <= end))
    assert set(quality[np.isnan(values)].tolist()) <= {0} and set(quality[~np.isnan(values)].tolist()) == {2}
    for t, v in zip(ts, values, strict=True):
        assert (math.isnan(v) and math.isnan(written[t][0])) or written[t][0] == v
    expected = raw_aggregate(written, start, end)
    assert np.nanmax(values) == expected["max"] and np.nanmin(values) == expected["min"]
    bucket = (end - start) / (max_points // 2)
    bad = sorted(t for t, (v, _) in written.items() if start <= t <= end and math.isnan(v))
    gaps = ts[np.isnan(values)]
    assert all(np.any(np.abs(gaps - t) <= bucket) for t in bad), "a bad span vanished"
    assert len(ts) <= max_points + len(gaps)


def test_a_short_but_dense_range_reads_the_finest_rollup_instead_of_every_row(three_hours, monkeypatch):
    from hmi.historian import query

    reader, written = three_hours
    start, end = T0 + 1800 + 3000.2, T0 + 1800 + 4500.7  # 1,500 rows, 150 ten-second buckets
    monkeypatch.setattr(query, "RAW_READ_LIMIT", 1_000)
    ts, values, _ = reader.plot_series("T", start, end, max_points=1000)
    assert len(ts) <= 2 * 152 + 12  # two per 10 s bucket, plus gaps: not the 1,500 raw rows
    for t, v in zip(ts, values, strict=True):
        assert (math.isnan(v) and math.isnan(written[t][0])) or written[t][0] == v
    expected = raw_aggregate(written, start, end)
    assert np.nanmax(values) == expected["max"] and np.nanmin(values) == expected["min"]
