"""Late samples for many tags at once: one bulk rebuild of the touched buckets, exact at every level."""

from __future__ import annotations

import sqlite3

from test_historian_rollups import assert_rollups_match

from hmi.historian import HistoryWriter
from hmi.model import Quality, Reason, Sample

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # on an hour boundary


def test_a_commit_of_late_and_replacing_samples_for_a_thousand_tags(tmp_path):
    path = tmp_path / "h.db"
    writer = HistoryWriter(path, commit_interval=0.05)
    writer.start()
    # Ten minutes at 1 Hz for 1,000 tags, then a second commit of old timestamps (a backfill after a
    # reconnect): some fall between stored samples, some replace one, some are bad, across buckets.
    writer.extend(
        (f"T{t}", Sample.good(float((t + s) % 17), T0 + s)) for s in range(0, 600, 10) for t in range(1000)
    )
    writer.stop()
    writer = HistoryWriter(path, commit_interval=0.05)
    writer.start()
    late = []
    for t in range(1000):
        late.append((f"T{t}", Sample.good(-1.0 - t, T0 + 5 + t % 5)))  # between two stored samples
        late.append((f"T{t}", Sample.good(99.0, T0 + 120)))  # replaces a stored one
        late.append((f"T{t}", Sample(None, Quality.BAD, T0 + 3599, Reason.COMM_FAILURE)))  # another hour
    writer.extend(late)
    writer.stop()
    assert writer.stats()["written"] == 3000 and writer.stats()["dropped"] == 0
    with sqlite3.connect(path) as conn:
        assert_rollups_match(conn)
        assert conn.execute("SELECT count(*) FROM samples").fetchone() == (1000 * 60 + 2000,)
