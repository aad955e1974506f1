"""Batches encoded as their rows are committed: what an outage leaves ready to post, a changed format,
and a state file from before ready batches."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sync_store import FilledStore, endpoint, filled_store, service

from hmi.project.sync_settings import SyncBatch
from hmi.store.migrations import Component, MigrationRegistry
from hmi.sync import outbox as outbox_module
from hmi.sync.forwarder import READ_AHEAD
from hmi.sync.outbox import Outbox, outbox_path


@pytest.fixture
def filled(tmp_path) -> Iterator[FilledStore]:
    with filled_store(tmp_path / "history.db") as store:
        yield store


def stored(filled: FilledStore) -> list[outbox_module.Batch]:
    outbox = Outbox(outbox_path(filled.store.path))
    try:
        return outbox.pending("ent", "history", 1000)
    finally:
        outbox.close()


async def outage(filled: FilledStore, down_url: str, commits: int, rows: int, **overrides) -> None:
    """``commits`` commits of ``rows`` samples while the endpoint is down; returns once all are stored."""
    settings = endpoint(down_url, streams=("history",), flush_timeout=0.3, **overrides)
    sync = service(filled, settings)
    await sync.start()
    [forwarder] = sync.forwarders
    try:
        for _ in range(commits):
            filled.add_samples(rows)
            await asyncio.to_thread(filled.commit)
        for _ in range(500):  # bounded: 10 s
            if forwarder.encoded_rows >= commits * rows:
                break
            await asyncio.sleep(0.02)
    finally:
        await sync.stop(budget=0.3)
    assert forwarder.encoded_rows == commits * rows


async def test_an_outage_leaves_full_batches_ready_and_the_drain_posts_them_byte_for_byte(
    filled, receiver, free_port
):
    await outage(filled, f"http://127.0.0.1:{free_port()}/b", commits=10, rows=70)
    ready = stored(filled)
    sizes = [batch.rows for batch in ready]
    assert sum(sizes) == 700 and [b.seq_first for b in ready] == sorted(b.seq_first for b in ready)
    # While older batches wait, only full ones are cut (the first went before anything waited).
    assert all(size == 200 for size in sizes[1:-1]) and len(sizes) <= 5
    # One at a time: the drain's order is the point here (test_sync_window.py has the window).
    sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=1))
    await sync.start()
    try:
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 700)
    finally:
        await sync.stop()
    assert [(r.key, r.body) for r in receiver.requests] == [(b.key, b.body) for b in ready]
    assert sorted(int(row["seq"]) for row in receiver.rows("history")) == list(range(1, 701))
    assert stored(filled) == []


async def test_a_changed_format_encodes_the_unsent_batches_again_but_the_first_goes_as_it_was(
    filled, receiver, free_port
):
    await outage(filled, f"http://127.0.0.1:{free_port()}/b", commits=3, rows=200)
    ready = stored(filled)
    assert len(ready) == 3
    # One at a time: only the oldest batch may be on the receiver's side (a window keeps its oldest
    # in_flight batches as they were: test_sync_window.py).
    settings = endpoint(receiver.url, streams=("history",), format="influx-line", in_flight=1)
    sync = service(filled, settings)
    await sync.start()
    try:
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 600)
    finally:
        await sync.stop()
    first, *rest = receiver.requests
    assert (first.key, first.body) == (ready[0].key, ready[0].body), "it may have reached the receiver"
    assert rest and all(r.headers["content-type"].startswith("text/plain") for r in rest)
    json_rows = [row for row in receiver.rows("history") if "seq" in row]
    lines = [row for row in receiver.rows("history") if "line" in row]
    assert sorted(int(row["seq"]) for row in json_rows) == list(range(1, 201)) and len(lines) == 400
    assert receiver.repeats == 0


async def test_a_batch_left_in_flight_by_the_previous_version_goes_again_under_its_key(filled, receiver):
    filled.add_samples(300)
    filled.commit()
    path = outbox_path(filled.store.path)
    registry = MigrationRegistry()
    registry.register(Component("sync", outbox_module.SYNC_COMPONENT.migrations[:1]))  # the first version
    registry.ensure(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO sync_batches (key, endpoint, stream, seq_first, seq_last, rows, bytes, state,"
            " created, content_type, content_encoding) VALUES ('old-key', 'ent', 'history', 1, 120, 120, 0,"
            " 'inflight', 0, 'application/json', 'gzip')"
        )
    conn.close()
    sync = service(filled, replace(endpoint(receiver.url, streams=("history",)), batch=SyncBatch(rows=200)))
    await sync.start()
    try:
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 300)
    finally:
        await sync.stop()
    assert receiver.requests[0].key == "old-key"
    assert [int(row["seq"]) for row in receiver.accepted["old-key"]] == list(range(1, 121))
    assert sorted(int(row["seq"]) for row in receiver.rows("history")) == list(range(1, 301))


async def test_a_long_backlog_drains_in_order_with_deliveries_sharing_commits(filled, receiver, free_port):
    # More batches than the sender reads ahead at once, several times over: each read begins before the
    # queue runs dry, and every delivery is on disk after the stop however many shared a commit.
    batches = 5 * READ_AHEAD
    await outage(filled, f"http://127.0.0.1:{free_port()}/b", commits=batches, rows=200)
    ready = stored(filled)
    assert len(ready) == batches
    sync = service(filled, endpoint(receiver.url, streams=("history",)))
    await sync.start()
    try:
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 200 * batches)
    finally:
        await sync.stop()
    assert [(r.key, r.body) for r in receiver.requests] == [(b.key, b.body) for b in ready]
    assert receiver.repeats == 0 and stored(filled) == []
    outbox = Outbox(outbox_path(filled.store.path))
    try:
        cursor = outbox.cursor("ent", "history")
    finally:
        outbox.close()
    assert (cursor.seq, cursor.delivered_rows, cursor.delivered_batches) == (
        200 * batches,
        200 * batches,
        batches,
    )


def batch(key: str, stream: str, first: int, rows: int, body: bytes = b"{}\n") -> outbox_module.Batch:
    """A ready batch of ``rows`` rows from seq ``first``, its size that of ``body``."""
    return outbox_module.Batch(
        key=key, endpoint="ent", stream=stream, seq_first=first, seq_last=first + rows - 1, rows=rows,
        size=len(body), state="ready", created=0.0, content_type="application/json", content_encoding="",
        body=body, recipe="r", ts_first=None, ts_last=None,
    )  # fmt: skip


def test_one_commit_records_many_deliveries_per_stream_and_a_resent_batch_keeps_the_cursor(tmp_path):
    outbox = Outbox(tmp_path / "state.db")
    try:
        sent = [batch(f"h{n}", "history", 1 + 10 * n, 10) for n in range(700)]  # more keys than one statement
        sent += [batch("a0", "alarms", 1, 4), batch("a1", "alarms", 5, 4)]
        for item in sent:
            outbox.add_segment(item)
        outbox.delivered_all(sent, 12.5)
        history, alarms = outbox.cursor("ent", "history"), outbox.cursor("ent", "alarms")
        assert (history.seq, history.delivered_rows, history.delivered_batches) == (7000, 7000, 700)
        assert (alarms.seq, alarms.delivered_rows, alarms.delivered_batches) == (8, 8, 2)
        assert history.rows_per_s == 12.5 and history.last_success is not None
        assert outbox.pending("ent", "history", 1000) == [] and outbox.pending("ent", "alarms", 10) == []
        # A quarantined batch resent later is behind the cursor: counted as delivered, the cursor stays.
        outbox.delivered_all([replace(batch("h0", "history", 1, 10), state="quarantined")])
        again = outbox.cursor("ent", "history")
        assert (again.seq, again.delivered_rows, again.delivered_batches) == (7000, 7010, 701)
    finally:
        outbox.close()


@pytest.mark.parametrize(
    ("after", "limit", "max_bytes", "wanted"),
    [
        (0, 10, 700, ["b0", "b1"]),  # 400 + 300 fill the bound exactly
        (0, 10, 699, ["b0"]),
        (0, 10, 1, ["b0"]),  # a batch larger than the bound still goes, alone: the stream never stalls
        (0, 3, 10**9, ["b0", "b1", "b2"]),  # the count bounds too
        (0, 10, 10**9, ["b0", "b1", "b2", "b3", "b4"]),
        (20, 10, 700, ["b2", "b3"]),  # after b1's last seq
        (20, 10, 400, ["b2"]),
        (50, 10, 1, []),
    ],
)
def test_a_read_bounded_by_bytes_holds_no_more_bodies_than_fit_but_at_least_one(
    tmp_path, after, limit, max_bytes, wanted
):
    outbox = Outbox(tmp_path / "state.db")
    try:
        sizes = (400, 300, 500, 200, 900)
        for n, size in enumerate(sizes):
            outbox.add_segment(batch(f"b{n}", "history", 1 + 10 * n, 10, bytes([48 + n]) * size))
        found = outbox.pending("ent", "history", limit, after, max_bytes)
        assert [b.key for b in found] == wanted
        assert all(b.body is not None and len(b.body) == b.size for b in found)
        # Under a bound nothing reaches, the read is the unbounded one, bodies and all.
        unbounded = outbox.pending("ent", "history", limit, after)
        assert outbox.pending("ent", "history", limit, after, 10**9) == unbounded
    finally:
        outbox.close()
