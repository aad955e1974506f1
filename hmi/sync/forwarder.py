"""One endpoint's stream: follow the cursor, cut batches, deliver each exactly once after dedup.

Two tasks on the runtime's event loop (every file access through ``asyncio.to_thread``):

1. the encoder follows the stream: when a batch is due (full, old enough, or stopping) it
   reads and encodes it and records it, key and body, as a ready batch in the state file.
   It runs as rows are committed, through an outage too, so a backlog is stored ready to
   post;
2. the sender posts the ready batches oldest first (the first ones at a start are those
   left in flight by the last run: same keys, same bytes), up to the endpoint's ``in_flight``
   at once so that our bookkeeping overlaps the receiver's work, retrying a network error,
   5xx, 408 or 429 with capped exponential backoff and jitter (or the receiver's
   Retry-After) until it is delivered, however long the outage; any other answer
   quarantines the batch and the stream goes on.

With several batches in flight a later one may be answered first: it is recorded as
delivered, but the cursor only moves over the contiguous prefix of batches taken
(``Outbox`` keeps that rule in the state file too). A batch that fails keeps its place and
holds the window: no new batch goes out while one is retrying, and the retries of the
stream go one at a time, under the stream's backoff, so that an outage costs no more
requests than with one batch in flight.

A drain after an outage is then "read a stored body, post it, forget it".
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from hmi.project.sync_settings import SyncEndpoint
from hmi.sync.backoff import backoff_delay
from hmi.sync.encoder import Body, Encoder
from hmi.sync.outbox import Batch, Outbox
from hmi.sync.rate import DeliveryRate
from hmi.sync.recording import DeliveryRecorder
from hmi.sync.risk import AGED_STREAMS, Limits, Risk, assess
from hmi.sync.source import StoreSource
from hmi.sync.status import StreamStatus
from hmi.sync.transport import Outcome, Verdict, post
from hmi.sync.waits import to_thread_to_the_end, wait_set

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between looks at the store while nothing is due
READ_AHEAD = 32  # stored batches read at once by the sender: each read is a thread hop, which costs more
READ_AHEAD_BYTES = 16 * 1024**2  # ... but no more bodies than this held from one read (4 MiB batches: 4)
LOOKAHEAD = 2  # stored batches the encoder keeps ahead of a sender that is getting through


@dataclass(frozen=True, slots=True)
class _Prepared:
    batch: Batch
    content: bytes


class StreamForwarder:
    """Delivers one stream of the store to one endpoint."""

    def __init__(
        self,
        endpoint: SyncEndpoint,
        stream: str,
        source: StoreSource,
        outbox: Outbox,
        encoder: Encoder,
        client: httpx.AsyncClient,
    ) -> None:
        """Wire the parts; nothing runs until :meth:`run`."""
        self.endpoint = endpoint
        self.stream = stream
        self.source = source
        self.outbox = outbox
        self.encoder = encoder
        self.client = client
        self.stopping = False
        self._deadline: float | None = None  # monotonic: when a stop gives up on what is still out
        self._wake = asyncio.Event()
        self._sealed = asyncio.Event()
        self._cursor = 0
        self._encoded = 0  # the last seq in a stored batch (or delivered)
        self._queued = 0  # stored batches not delivered yet
        self._encoding_done = False
        self._room_wanted = False
        self._recorder = DeliveryRecorder(outbox, lambda: self._shown_rate(time.monotonic()))
        self.encode_cpu_s = 0.0
        """CPU seconds spent reading, encoding and storing batches (the cost paid as rows are committed)."""
        self.encoded_rows = 0
        self._last_seq = 0
        self._pending_since: float | None = None  # monotonic: when this run first saw the backlog
        self._oldest_cut: float | None = None  # epoch: when the oldest rows not delivered were batched
        self._state = "idle"
        self._inflight: str | None = None
        self._delivered_rows = 0
        self._last_success: float | None = None
        self._last_error = ""
        self._last_error_at: float | None = None
        self._quarantined = 0
        self._skipped = 0
        self._lost_rows = 0
        self._at_risk = False
        self._rate = DeliveryRate()
        self._open: list[Batch] = []  # posted, not taken yet, in seq order
        self._done_upto = 0  # how far the taken batches reach (some may be ahead of an open one)
        self._retrying = 0  # open batches waiting for another attempt
        self._failures = 0  # failed attempts of the stream since its last answer taken
        self._delay = 0.0  # the stream's wait before its next retry
        self._retry_turn = asyncio.Lock()  # one retrying attempt at a time: the backoff is the stream's

    # -- control (loop thread) ----------------------------------------------------

    def stop(self, deadline: float | None = None) -> None:
        """Send what is pending now, without waiting for a batch to fill, then end; attempts begun from now
        on end by ``deadline`` (monotonic), after which the caller cancels what is left."""
        self.stopping = True
        self._deadline = deadline
        self._recorder.stop()
        self._wake.set()
        self._sealed.set()

    def status(self) -> StreamStatus:
        """The live picture (loop thread)."""
        now = time.monotonic()
        backlog = max(0, self._last_seq - self._cursor)
        return StreamStatus(
            endpoint=self.endpoint.name,
            stream=self.stream,
            state=self._state,
            cursor=self._cursor,
            backlog_rows=backlog,
            backlog_age_s=self._backlog_age(backlog, now),
            rows_per_s=self._shown_rate(now),
            delivered_rows=self._delivered_rows,
            last_success=self._last_success,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            quarantined=self._quarantined,
            inflight=self._inflight,
            skipped=self._skipped,
            lost_rows=self._lost_rows,
            at_risk=self._at_risk,
        )

    def _backlog_age(self, backlog: int, now: float) -> float:
        """How long the oldest rows not delivered have waited: since they were cut into their batch (which
        an outage, a restart or a drain does not reset), else since this run saw the backlog."""
        if not backlog:
            return 0.0
        if self._oldest_cut is not None:
            return round(max(0.0, time.time() - self._oldest_cut), 3)
        return round(now - self._pending_since, 3) if self._pending_since else 0.0

    def _shown_rate(self, now: float) -> float:
        """The rows/s shown and stored with each delivery commit, to a tenth."""
        return round(self._rate.rows_per_s(now), 1)

    async def run(self) -> None:
        """Deliver until stopped; when stopping, end once nothing is pending (the caller bounds the time).

        Anything unexpected (the state file on a full disk, a bug) is a fault: logged with its
        traceback, shown as the last error, and the stream starts over from its durable state after a
        backoff. The rows wait in the history meanwhile; sync never stops for good on its own.
        """
        faults = 0
        try:
            while True:
                try:
                    await self._run_once()
                    return
                except Exception as error:  # the forwarder must outlive any error: report it and go on
                    delay = backoff_delay(faults, self.endpoint.retry_initial, self.endpoint.retry_max)
                    faults += 1
                    self._state = "fault"
                    self._last_error, self._last_error_at = f"{type(error).__name__}: {error}", time.time()
                    log.error(
                        "sync %s/%s: unexpected error, starting over in %.1f s: %s",
                        self.endpoint.name, self.stream, delay, self._last_error, exc_info=error,
                    )  # fmt: skip
                    if self.stopping:
                        return
                    await asyncio.sleep(delay)
        finally:
            self._state = "stopped"

    async def _run_once(self) -> None:
        """Load the durable state, then encode and deliver side by side until stopped."""
        cursor = await asyncio.to_thread(self.outbox.cursor, self.endpoint.name, self.stream)
        self._cursor, self._delivered_rows = cursor.seq, cursor.delivered_rows
        self._done_upto = max(cursor.seq, cursor.done_upto)
        self._lost_rows = cursor.lost_rows
        self._last_success = cursor.last_success
        if not self._last_error:  # a fault's message outranks the one recorded before it
            self._last_error, self._last_error_at = cursor.last_error, cursor.last_error_at
        kept = await asyncio.to_thread(self.outbox.quarantined, self.endpoint.name)
        self._quarantined = sum(1 for batch in kept if batch.stream == self.stream)
        await asyncio.to_thread(self._drop_stale)
        upto = await asyncio.to_thread(self.outbox.encoded_upto, self.endpoint.name, self.stream)
        self._encoded = max(self._cursor, upto)
        summary = await asyncio.to_thread(self.outbox.pending_summary, self.endpoint.name, self.stream)
        self._queued = summary[0]
        self._encoding_done = False
        self._open, self._retrying, self._failures = [], 0, 0
        try:
            async with asyncio.TaskGroup() as group:  # a fault in either ends both; run() starts them over
                group.create_task(self._encode_loop())
                group.create_task(self._deliver_loop())
        except ExceptionGroup as faults:
            raise faults.exceptions[0] from None  # the first fault is the one to report

    def _drop_stale(self) -> None:
        """Pending batches encoded under another recipe (the format changed) are encoded again, except the
        oldest ``in_flight``: they may be on the receiver's side already, so they go as they were sent."""
        recipe = self.encoder.recipe(self.stream)
        dropped = self.outbox.drop_stale(self.endpoint.name, self.stream, recipe, self.endpoint.in_flight)
        if dropped:
            log.info(
                "sync %s/%s: %d batches not sent yet were encoded under another format; encoding them again",
                self.endpoint.name, self.stream, dropped,
            )  # fmt: skip

    # -- encoding: each span of rows as it is committed --------------------------

    async def _encode_loop(self) -> None:
        """Encode the rows after the last encoded seq into ready batches, as they are committed.

        At a plant's pace this is a small piece of work every few seconds, so that a drain after an
        outage only reads stored bodies and posts them. While older batches wait (an outage), only full
        batches are cut: the drain then posts as few requests as it can.
        """
        unencoded_since: float | None = None
        more = False
        ahead = LOOKAHEAD + self.endpoint.in_flight - 1  # a window's worth on the wire, and the next ones
        try:
            while True:
                last = await asyncio.to_thread(self.source.last, self.stream)
                if last < self._encoded and last < self._cursor:
                    await self._restarted(last)
                self._last_seq = last
                if last > self._cursor and self._pending_since is None:
                    self._pending_since = time.monotonic()
                pending = last - self._encoded
                now = time.monotonic()
                if pending <= 0:
                    unencoded_since = None
                    if self.stopping:
                        return
                    await self._pause(POLL)
                    continue
                if unencoded_since is None:
                    unencoded_since = now
                aged = now - unencoded_since >= self.endpoint.batch.max_age and self._queued == 0
                if not (self.stopping or more or pending >= self.endpoint.batch.rows or aged):
                    await self._pause(POLL)
                    continue
                if self._queued >= ahead and self._state != "retrying" and not self.stopping:
                    # A backlog the endpoint is taking: keep a little ahead of it, not the whole backlog
                    # ahead (the encoding takes turns with the loop). Through an outage it goes on.
                    self._room_wanted = True
                    await self._pause(POLL)
                    self._room_wanted = False
                    continue
                sealed = await to_thread_to_the_end(self._seal, self._encoded)
                if sealed is None:
                    more = False
                    if self._queued == 0:
                        await self._skip_gap(last)
                    unencoded_since = None
                    await self._pause(POLL)
                    continue
                batch, more = sealed
                self._encoded = batch.seq_last
                self._queued += 1
                unencoded_since = None if self._encoded >= last else now
                self._sealed.set()
        finally:
            self._encoding_done = True
            self._sealed.set()

    async def _restarted(self, last: int) -> None:
        log.warning(
            "sync %s/%s: the history's sequence restarted (last %d, cursor %d): a new history file;"
            " following it from its start",
            self.endpoint.name, self.stream, last, self._cursor,
        )  # fmt: skip
        await asyncio.to_thread(self.outbox.reset_cursor, self.endpoint.name, self.stream, 0)
        self._cursor = self._encoded = self._queued = 0

    async def _skip_gap(self, last: int) -> None:
        # Every number up to `last` is committed and none is left: rows replaced or purged. Skip the gap.
        log.warning(
            "sync %s/%s: seq %d..%d hold no row any more (a sample replaced by a later one with its"
            " timestamp, or purged by history retention before delivery); skipped",
            self.endpoint.name, self.stream, self._encoded + 1, last,
        )  # fmt: skip
        self._skipped += last - self._encoded
        await asyncio.to_thread(self.outbox.skip_to, self.endpoint.name, self.stream, last)
        self._cursor = self._encoded = max(self._encoded, last)
        self._pending_since = self._oldest_cut = None

    def _tuples(self) -> bool:
        return self.encoder.wants_tuples(self.stream) and self.source.has_tuples(self.stream)

    def _seal(self, after: int) -> tuple[Batch, bool] | None:
        """Read, encode and record the batch after seq ``after`` (worker thread); with whether more rows
        were read than fitted its byte limit."""
        began = time.thread_time()
        rows = self.source.read(self.stream, after, self.endpoint.batch.rows, self._tuples())
        if not rows:
            return None
        key = str(uuid.uuid4())
        body = self.encoder.body(self.stream, rows, key)
        batch = self._batch(key, body)
        self.outbox.add_segment(batch)
        self.encode_cpu_s += time.thread_time() - began
        self.encoded_rows += body.rows
        return batch, body.rows < len(rows)

    def _batch(self, key: str, body: Body, state: str = "ready") -> Batch:
        return Batch(
            key=key,
            endpoint=self.endpoint.name,
            stream=self.stream,
            seq_first=body.seq_first,
            seq_last=body.seq_last,
            rows=body.rows,
            size=len(body.content),
            state=state,
            created=time.time(),
            content_type=body.content_type,
            content_encoding=body.content_encoding,
            body=body.content,
            recipe=self.encoder.recipe(self.stream),
            ts_first=body.ts_first,
            ts_last=body.ts_last,
        )

    # -- delivery: read a stored body, post it ------------------------------------

    async def _deliver_loop(self) -> None:
        """Send the pending batches oldest first, each until delivered or quarantined, up to ``in_flight``
        of them at once."""
        ahead: asyncio.Task[list[Batch]] | None = None
        queue: list[Batch] = []
        sending: set[asyncio.Task[None]] = set()
        taken = 0  # the last seq of the newest batch taken off the queue (sent, or out on the wire)
        refill = READ_AHEAD // 2  # queued batches left when the next read begins: half of the last read
        try:
            while True:
                self._sealed.clear()
                _reap(sending)  # a fault in a delivery is the stream's
                if ahead is not None and (not queue or ahead.done()):
                    read = await ahead
                    queue += read  # read after the last one queued: the order holds
                    ahead, refill = None, len(read) // 2
                if not queue and not self._open:
                    await self._recorder.recorded()  # else the batch just delivered would still look pending
                    queue = await asyncio.to_thread(self._read_ahead, 0)
                    refill = len(queue) // 2
                elif not queue and ahead is None:
                    # The batches sent stay pending until their deliveries are committed, those on the wire
                    # too: read after the newest one sent.
                    queue = await asyncio.to_thread(self._read_ahead, taken)
                    refill = len(queue) // 2
                if not queue and not sending:
                    self._queued = 0
                    if self._last_seq <= self._cursor:
                        self._pending_since = self._oldest_cut = None
                    if self.stopping and self._encoding_done:
                        return
                    self._wake.set()  # the encoder may cut a batch that is not full now that nothing waits
                    await wait_set(self._sealed, POLL)
                    continue
                if not queue or len(sending) >= self.endpoint.in_flight or self._retrying:
                    # The window is full, or a batch is retrying and holds it: wait for one to be taken
                    # (or, with room and nothing read, for a new batch to be sealed).
                    waits: set[asyncio.Future[Any]] = set(sending)
                    sealed = asyncio.ensure_future(self._sealed.wait()) if not queue else None
                    if sealed is not None:
                        waits.add(sealed)
                    try:
                        await asyncio.wait(waits, timeout=POLL, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        if sealed is not None:
                            sealed.cancel()
                    continue
                batch = queue.pop(0)
                taken = batch.seq_last
                if len(queue) <= refill and ahead is None:
                    # Read the next stored bodies while the ones read are on the wire: begun before the
                    # queue runs dry, so that the sender does not wait for a read.
                    after = queue[-1].seq_last if queue else batch.seq_last
                    ahead = asyncio.create_task(asyncio.to_thread(self._read_ahead, after))
                content = batch.body
                if content is None:  # recorded in flight by an older version, without its body
                    left = await asyncio.to_thread(self._reencode, batch)
                    if left is None:
                        await self._lost_inflight(batch)
                        continue
                    content = left.content
                self._open.append(batch)
                self._oldest_cut = self._open[0].created
                self._show()
                if self.endpoint.in_flight == 1:
                    await self._deliver(_Prepared(batch, content))  # one at a time, as it always was
                    continue
                sending.add(asyncio.create_task(self._deliver(_Prepared(batch, content))))
        finally:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            await self._recorder.close()

    def _read_ahead(self, after: int) -> list[Batch]:
        """The next stored batches to send, after seq ``after`` (worker thread)."""
        return self.outbox.pending(self.endpoint.name, self.stream, READ_AHEAD, after, READ_AHEAD_BYTES)

    async def _lost_inflight(self, left: Batch) -> None:
        log.error(
            "sync %s/%s: batch %s (seq %d..%d) is no longer in the history; quarantined without rows",
            self.endpoint.name, self.stream, left.key, left.seq_first, left.seq_last,
        )  # fmt: skip
        await asyncio.to_thread(self.outbox.quarantine, left, 0, "rows no longer in the history", b"")
        self._quarantined += 1
        self._advanced(left)

    def _reencode(self, batch: Batch) -> Body | None:
        tuples = self._tuples()
        rows = [
            r
            for r in self.source.read(self.stream, batch.seq_first - 1, batch.rows, tuples)
            if (r[0] if tuples else r["seq"]) <= batch.seq_last
        ]
        return self.encoder.body(self.stream, rows, batch.key, cut=False) if rows else None

    # -- retention ------------------------------------------------------------------

    def guard(self, limits: Limits, now: float) -> Risk:
        """Forget the stored batches past ``limits`` (counted and named as lost), then say whether the
        rest is near them (worker thread)."""
        name, stream = self.endpoint.name, self.stream
        lost: list[Batch] = []
        if limits.max_age is not None and stream in AGED_STREAMS:
            lost += self.outbox.drop_expired(name, stream, int((now - limits.max_age) * 1e6))
        if limits.max_bytes is not None:
            lost += self.outbox.drop_over(name, stream, limits.max_bytes)
        for batch in lost:
            log.error(
                "sync %s/%s: %d undelivered rows (seq %d..%d, batch %s) lost: past the history's retention"
                " or size limit before the endpoint took them",
                name, stream, batch.rows, batch.seq_first, batch.seq_last, batch.key,
            )  # fmt: skip
            self._lost_rows += batch.rows
        _, _, size, oldest = self.outbox.pending_summary(name, stream)
        # Rows not in a batch yet are pending too; the history holds them (and retention deletes them).
        tuples = self._tuples()
        after = self.source.read(stream, max(self._encoded, self._cursor), 1, tuples)
        ts = _row_ts(after[0]) if after else None
        if ts is not None:
            oldest = ts if oldest is None else min(oldest, ts)
        risk = assess(name, stream, limits, now, oldest, size)
        self._at_risk = risk.at_risk
        return Risk(risk.endpoint, stream, risk.at_risk, risk.oldest_age_s, size, tuple(lost), risk.reason)

    async def _deliver(self, prepared: _Prepared) -> None:
        """Attempt ``prepared`` until it is delivered or quarantined (the caller may cancel a stop)."""
        batch, content = prepared.batch, prepared.content
        headers = batch_headers(batch)
        attempt = 0
        waiting = False  # counted in self._retrying
        try:
            while True:
                if attempt == 0:
                    outcome = await self._attempt(content, headers)
                else:
                    async with self._retry_turn:
                        if self._failures:  # no answer taken since this one failed: the stream waits
                            await asyncio.sleep(self._delay)
                        outcome = await self._attempt(content, headers)
                if outcome.verdict is not Verdict.RETRY:
                    self._failures = 0
                    if waiting:
                        waiting = False
                        self._retrying -= 1
                if outcome.verdict is Verdict.DELIVERED:
                    # Recorded while the next batch goes out: a crash before the commit resends this batch
                    # under its key, which the receiver drops. One commit at a time, taking every delivery
                    # since the last one.
                    self._recorder.add(batch)
                    self._advanced(batch)
                    self._delivered_rows += batch.rows
                    self._last_success = time.time()
                    self._rate.add(time.monotonic(), batch.rows)
                    self._queued = max(0, self._queued - 1)
                    if self._room_wanted:
                        self._wake.set()  # the encoder waits for room ahead
                    return
                if outcome.verdict is Verdict.REJECT:
                    await self._recorder.recorded()
                    log.error(
                        "sync %s/%s: batch %s (seq %d..%d, %d rows) refused, quarantined: %s",
                        self.endpoint.name,
                        self.stream,
                        batch.key,
                        batch.seq_first,
                        batch.seq_last,
                        batch.rows,
                        outcome.detail,
                    )
                    await to_thread_to_the_end(
                        self.outbox.quarantine,
                        batch,
                        outcome.status or 0,
                        outcome.detail,
                        content,
                        attempt + 1,
                    )
                    self._advanced(batch)
                    self._quarantined += 1
                    self._queued = max(0, self._queued - 1)
                    self._last_error, self._last_error_at = outcome.detail, time.time()
                    return
                delay = outcome.retry_after
                if delay is None:
                    delay = backoff_delay(
                        self._failures, self.endpoint.retry_initial, self.endpoint.retry_max
                    )
                self._failures += 1
                self._delay = delay
                if not waiting:
                    waiting = True
                    self._retrying += 1
                    self._show()
                if attempt == 0 or outcome.detail != self._last_error:
                    log.warning(
                        "sync %s/%s: batch %s not delivered (%s); retrying in %.1f s",
                        self.endpoint.name,
                        self.stream,
                        batch.key,
                        outcome.detail,
                        delay,
                    )
                    await asyncio.to_thread(
                        self.outbox.record_error, self.endpoint.name, self.stream, outcome.detail
                    )
                self._last_error, self._last_error_at = outcome.detail, time.time()
                attempt += 1
                self._last_seq = await asyncio.to_thread(
                    self.source.last, self.stream
                )  # backlog grows meanwhile
        finally:
            if batch in self._open:  # cancelled (a stop past its bound): it goes out at the next start
                self._open.remove(batch)
            if waiting:
                self._retrying -= 1
            self._show()

    async def _attempt(self, content: bytes, headers: dict[str, str]) -> Outcome:
        """One POST of a batch; while stopping, one that ends by the stop's deadline.

        An attempt cut short by its own timeout closes its socket. One cancelled during its TLS
        handshake leaves the socket open until it is collected (httpcore 1.0 closes it on errors, not
        on a cancel), so past the deadline no attempt begins, and one that failed at it is not
        retried: the batch waits here for the stop to cancel it, and goes out with its key at the
        next start.
        """
        if self._deadline is None:
            return await post(self.client, self.endpoint.url, content, headers)
        left = self._deadline - time.monotonic()
        if left > 0:
            outcome = await post(self.client, self.endpoint.url, content, headers, within=left)
            if outcome.verdict is not Verdict.RETRY or time.monotonic() < self._deadline:
                return outcome
        never: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        return await never  # the stop cancels it

    def _advanced(self, batch: Batch) -> None:
        """``batch`` is taken: the cursor moves over the taken prefix, up to the oldest batch still open."""
        if batch in self._open:
            self._open.remove(batch)
        self._done_upto = max(self._done_upto, batch.seq_last)
        upto = min(self._done_upto, self._open[0].seq_first - 1) if self._open else self._done_upto
        self._cursor = max(self._cursor, upto)
        if self._open:
            self._oldest_cut = self._open[0].created
        # else the next batch is younger than this one: its age stands until that one goes out
        if self._last_seq <= self._cursor:
            self._pending_since = self._oldest_cut = None

    def _show(self) -> None:
        """The state shown: retrying while a batch waits for another attempt, sending while one is out."""
        self._state = "retrying" if self._retrying else "sending" if self._open else "idle"
        self._inflight = self._open[0].key if self._open else None

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        if self.stopping:
            return
        await wait_set(self._wake, seconds)


def _reap(tasks: set[asyncio.Task[None]]) -> None:
    """Forget the finished deliveries of ``tasks``; a fault in one is raised here."""
    for task in [task for task in tasks if task.done()]:
        tasks.discard(task)
        task.result()


def _row_ts(row: object) -> int | None:
    """A row's source timestamp (µs): a sample tuple's third item, else its ``ts`` key (None: none)."""
    try:
        return int(row[2] if isinstance(row, tuple) else row["ts"])  # type: ignore[index]
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def batch_headers(batch: Batch) -> dict[str, str]:
    """The headers of every attempt at ``batch``: the idempotency key stays the same across retries."""
    headers = {
        "Content-Type": batch.content_type,
        "Idempotency-Key": batch.key,
        "X-Converge-Stream": batch.stream,
        "X-Converge-Seq": f"{batch.seq_first}-{batch.seq_last}",
    }
    if batch.content_encoding:
        headers["Content-Encoding"] = batch.content_encoding
    return headers
