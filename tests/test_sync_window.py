"""Several batches in flight (``in_flight``): the cursor keeps to the prefix taken, retries hold the window.

A real receiver on loopback answers some batches late ("hold"), refuses or fails others; the
state file is read beside the running service to see what is durable at each point.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_receiver import Receiver
from sync_store import FilledStore, endpoint, filled_store, service

from hmi.sync.outbox import Batch, Cursor, Outbox, outbox_path

ROWS = 1000  # five batches of 200


@pytest.fixture
def filled(tmp_path) -> Iterator[FilledStore]:
    """An open store with 1,000 samples committed."""
    with filled_store(tmp_path / "history.db", samples=ROWS) as store:
        yield store


@pytest.fixture
def state(filled) -> Iterator[Outbox]:
    """The sync state file of ``filled``, read beside the running service."""
    outbox = Outbox(outbox_path(filled.store.path))
    yield outbox
    outbox.close()


def cursor(state: Outbox) -> Cursor:
    return state.cursor("ent", "history")


def arrived(receiver: Receiver) -> Counter[int]:
    """How many times each history seq arrived, after dedup by key."""
    return Counter(int(row["seq"]) for row in receiver.rows("history"))


async def until(receiver: Receiver, predicate, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    await asyncio.to_thread(receiver.wait_for, predicate, within)


def holding_the_first(receiver: Receiver, then=lambda n, r: "ok"):  # type: ignore[no-untyped-def]
    """A plan that takes the first batch but holds its answer; ``then`` decides the others."""
    first: list[str] = []

    def plan(number: int, request) -> object:  # type: ignore[no-untyped-def]
        if not first:
            first.append(request.key)
        return "hold" if request.key == first[0] else then(number, request)

    receiver.plan = plan
    return first


async def test_a_later_batch_answered_first_is_recorded_but_the_cursor_waits_for_the_first(
    receiver, filled, state
):
    first = holding_the_first(receiver)
    sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=2))
    await sync.start()
    try:
        await until(receiver, lambda: len(arrived(receiver)) >= ROWS)
        await until(receiver, lambda: cursor(state).done_upto == ROWS)  # the four later ones recorded
        assert cursor(state).seq == 0, "the durable cursor waits for the first batch"
        assert [batch.key for batch in state.pending("ent", "history", 10)] == first
        shown = sync.status()[0]
        assert shown.cursor == 0 and shown.delivered_rows == ROWS - 200 and shown.inflight == first[0]
        receiver.release()
        await until(receiver, lambda: cursor(state).seq == ROWS)
    finally:
        receiver.release()
        await sync.stop()
    assert receiver.keys_sent()[0] == first[0] and receiver.keys_sent().count(first[0]) == 1
    assert sorted(arrived(receiver)) == list(range(1, ROWS + 1)) and receiver.repeats == 0
    assert state.pending("ent", "history", 10) == []


async def test_a_retrying_batch_holds_the_window_until_it_is_delivered(receiver, filled, state):
    first: list[str] = []

    def plan(number: int, request) -> object:  # type: ignore[no-untyped-def]
        if not first:
            first.append("")
        if not first[0]:
            first[0] = request.key
        if request.key != first[0]:
            return "ok"
        first.append(request.key)  # the plan runs under the receiver's lock: count here, not by asking it
        return 500 if len(first) <= 4 else "ok"

    receiver.plan = plan
    sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=4))
    await sync.start()
    try:
        await until(receiver, lambda: cursor(state).seq == ROWS)
    finally:
        await sync.stop()
    keys = receiver.keys_sent()
    attempts = [i for i, key in enumerate(keys) if key == first[0]]
    assert len(attempts) == 4, "three refusals (500), then delivered, under one key"
    before = set(keys[: attempts[-1]])
    # The window had at most three more batches out when the first failed; none opened after it until
    # it was delivered, however many retries it took.
    assert len(before) <= 4, keys
    assert len(set(keys)) == 5 and sorted(arrived(receiver)) == list(range(1, ROWS + 1))


async def test_an_outage_opens_no_batch_past_the_window_and_each_goes_again_under_its_key(
    receiver, filled, state
):
    receiver.plan = lambda n, r: 503 if n < 12 else "ok"
    sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=4))
    await sync.start()
    try:
        await until(receiver, lambda: cursor(state).seq == ROWS)
    finally:
        await sync.stop()
    failing = {request.key for request in receiver.requests[:12]}
    assert len(failing) <= 4, "no batch past the window while it fails"
    assert failing <= set(receiver.accepted), "each went again under its own key"
    assert sorted(arrived(receiver)) == list(range(1, ROWS + 1)) and max(arrived(receiver).values()) == 1


async def test_a_refused_batch_inside_the_window_is_quarantined_without_moving_the_cursor_early(
    receiver, filled, state
):
    refused: list[str] = []

    def then(number: int, request) -> object:  # type: ignore[no-untyped-def]
        if not refused:
            refused.append(request.key)
        return 400 if request.key == refused[0] else "ok"

    first = holding_the_first(receiver, then)
    sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=3))
    await sync.start()
    try:
        await until(receiver, lambda: len(state.quarantined("ent")) == 1 and cursor(state).done_upto == ROWS)
        assert cursor(state).seq == 0, "the quarantine does not move the cursor past the batch still out"
        receiver.release()
        await until(receiver, lambda: cursor(state).seq == ROWS)
    finally:
        receiver.release()
        await sync.stop()
    [kept] = state.quarantined("ent")
    assert kept.key == refused[0] and kept.key != first[0] and kept.status == 400
    gap = set(range(kept.seq_first, kept.seq_last + 1))
    assert sorted(arrived(receiver)) == sorted(set(range(1, ROWS + 1)) - gap)
    assert max(arrived(receiver).values()) == 1


async def test_a_restart_resends_only_the_batch_not_answered_not_the_later_ones_answered(
    receiver, filled, state
):
    first = holding_the_first(receiver)
    sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=2))
    await sync.start()
    try:
        await until(receiver, lambda: cursor(state).done_upto == ROWS)
    finally:
        await sync.stop(budget=0.2)  # the first batch is still out at the deadline
    receiver.release()
    assert cursor(state).seq == 0 and [b.key for b in state.pending("ent", "history", 10)] == first
    sent = len(receiver.keys_sent())
    receiver.plan = lambda n, r: "ok"
    again = service(filled, endpoint(receiver.url, streams=("history",), in_flight=2))
    await again.start()
    try:
        await until(receiver, lambda: cursor(state).seq == ROWS)
    finally:
        await again.stop()
    assert receiver.keys_sent()[sent:] == first, "only the unanswered batch goes again, under its key"
    assert receiver.repeats == 1 and len(receiver.accepted) == 5
    assert sorted(arrived(receiver)) == list(range(1, ROWS + 1))


def _copy(source: Path, target: Path) -> None:
    """The whole state file, through SQLite's backup (its WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


async def test_a_restart_after_answers_that_were_never_recorded_resends_them_under_their_keys(
    receiver, filled, state, tmp_path
):
    # The worst a crash can leave: every batch answered, not one delivery committed. The state file
    # as it was before the drain is put back, as a kill before the commits would have left it.
    receiver.plan = lambda n, r: 503
    down = service(filled, endpoint(receiver.url, streams=("history",), in_flight=2, retry_max=0.05))
    await down.start()
    try:
        await until(receiver, lambda: len(state.pending("ent", "history", 10)) == 5)
    finally:
        await down.stop(budget=0.2)
    before = tmp_path / "before.sync.db"
    path = outbox_path(filled.store.path)
    state.close()
    _copy(path, before)
    receiver.plan = lambda n, r: "ok"
    for _ in range(2):  # the drain, then the same drain again from the state put back
        sync = service(filled, endpoint(receiver.url, streams=("history",), in_flight=2))
        await sync.start()
        try:
            await until(receiver, lambda: cursor(state).seq == ROWS)
        finally:
            await sync.stop()
        state.close()
        if not receiver.repeats:
            keys = set(receiver.accepted)
            _copy(before, path)
    assert set(receiver.accepted) == keys and len(keys) == 5, "the same five keys, no batch encoded again"
    assert receiver.repeats == 5, "each answered batch went again under its key; the receiver dropped it"
    assert sorted(arrived(receiver)) == list(range(1, ROWS + 1))
    assert state.pending("ent", "history", 10) == []


def _batch(key: str, first: int, last: int) -> Batch:
    return Batch(key, "ent", "history", first, last, last - first + 1, 10, "ready", time.time(), body=b"x")


def test_the_state_file_moves_the_cursor_over_the_taken_prefix_only(tmp_path):
    outbox = Outbox(tmp_path / "history.sync.db")
    try:
        a, b, c, d = _batch("a", 1, 10), _batch("b", 11, 20), _batch("c", 21, 30), _batch("d", 31, 40)
        for batch in (a, b, c, d):
            outbox.add_segment(batch)
        outbox.quarantine(b, 400, "refused", b"x")
        outbox.delivered_all([c])
        assert (cursor(outbox).seq, cursor(outbox).done_upto) == (0, 30)
        assert [p.key for p in outbox.pending("ent", "history", 10)] == ["a", "d"]
        outbox.delivered_all([a])
        assert cursor(outbox).seq == 30, "a taken, the cursor catches up over b and c"
        outbox.close()
        reopened = Outbox(tmp_path / "history.sync.db")
        assert reopened.encoded_upto("ent", "history") == 40
        reopened.delivered_all([d])
        assert cursor(reopened).seq == 40
        reopened.close()
    finally:
        outbox.close()


def test_encoding_goes_on_after_batches_taken_ahead_of_one_still_pending(tmp_path):
    outbox = Outbox(tmp_path / "history.sync.db")
    try:
        a, b = _batch("a", 1, 10), _batch("b", 11, 20)
        outbox.add_segment(a)
        outbox.add_segment(b)
        outbox.delivered_all([b])
        # A restart now must not encode b's rows again under a new key: the encoding goes on after 20.
        assert outbox.encoded_upto("ent", "history") == 20 and cursor(outbox).seq == 0
        outbox.reset_cursor("ent", "history", 0)  # a new history file: everything starts over
        assert outbox.encoded_upto("ent", "history") == 0 and cursor(outbox).done_upto == 0
    finally:
        outbox.close()


def test_a_changed_format_keeps_a_window_of_the_oldest_batches_as_they_were(tmp_path):
    outbox = Outbox(tmp_path / "history.sync.db")
    try:
        for n in range(4):
            outbox.add_segment(_batch(f"k{n}", 10 * n + 1, 10 * n + 10))
        assert outbox.drop_stale("ent", "history", "another recipe", keep=2) == 2
        assert [b.key for b in outbox.pending("ent", "history", 10)] == ["k0", "k1"]
    finally:
        outbox.close()
