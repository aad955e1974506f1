"""Retention against undelivered rows, with a real store and a short retention: warned well before,
then forgotten by name and counted, never silently."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path

from sync_receiver import Receiver
from sync_store import FilledStore, endpoint

from hmi.alarms.builtin import sync_risk_alarm_name
from hmi.alarms.engine import AlarmState
from hmi.core.station import Station
from hmi.model import Sample
from hmi.project.config import HistorySettings, Project
from hmi.project.sync_settings import SyncBatch
from hmi.sync.outbox import Outbox, outbox_path
from hmi.sync.risk import Limits
from hmi.sync.service import SyncService
from hmi.sync.status import read_status

RETENTION = 600.0  # seconds: short, and long enough that nothing ages during the test by itself


def add_at(filled: FilledStore, count: int, age: float, first_tag: int = 0) -> None:
    """``count`` samples ``age`` seconds old (a hundredth of a second apart, one tag each)."""
    now = time.time()
    for i in range(count):
        filled.add(f"T{first_tag + i}", Sample.good(float(i), now - age + i * 0.01))


async def wait_encoded(sync: SyncService, rows: int) -> None:
    [forwarder] = sync.forwarders
    for _ in range(500):  # bounded: 10 s
        if forwarder.encoded_rows >= rows:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {forwarder.encoded_rows} of {rows} rows encoded")


async def test_undelivered_rows_near_retention_warn_then_are_dropped_by_name_and_counted(
    tmp_path, free_port, caplog
):
    filled = FilledStore(tmp_path / "history.db")
    down = endpoint(f"http://127.0.0.1:{free_port()}/batches", streams=("history",), batch=SyncBatch(rows=50))
    verdicts: list[tuple[str, bool]] = []
    try:
        add_at(filled, 50, age=0.95 * RETENTION)  # within the last 10 % of the window: at risk
        filled.commit()
        sync = SyncService([down], filled.source(), "Test Plant", limits=Limits(max_age=RETENTION))
        sync.guard_every = 3600  # the test looks itself, with a clock of its own
        sync.on_risk = lambda name, at_risk, reason: verdicts.append((name, at_risk))
        await sync.start()
        try:
            await wait_encoded(sync, 50)  # the endpoint is down: the batch waits in the state file
            add_at(filled, 50, age=5.0, first_tag=100)
            await asyncio.to_thread(filled.commit)
            await wait_encoded(sync, 100)
            [risk] = await sync.check_limits()
            assert risk.at_risk and "history retention is 600 s" in risk.reason
            assert verdicts[-1] == ("ent", True) and sync.status()[0].at_risk
            with caplog.at_level(logging.ERROR, logger="hmi.sync.forwarder"):
                [risk] = await sync.check_limits(now=time.time() + 0.1 * RETENTION)  # the old batch expires
            assert [(b.seq_first, b.seq_last) for b in risk.lost] == [(1, 50)] and not risk.at_risk
            assert "50 undelivered rows (seq 1..50" in caplog.text
            assert verdicts[-1] == ("ent", False)
            assert sync.status()[0].lost_rows == 50
        finally:
            await sync.stop(budget=0.5)
        outbox = Outbox(outbox_path(filled.store.path))
        try:
            [status] = read_status(outbox, filled.store.path, {"ent": down})
            assert status.lost_rows == 50 and status.cursor == 50
        finally:
            outbox.close()
        # The endpoint back: the rows still within retention arrive, once; the lost ones do not.
        receiver = Receiver(free_port()).start()
        try:
            back = SyncService([replace(down, url=receiver.url)], filled.source(), "Test Plant")
            await back.start()
            try:
                await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 50)
            finally:
                await back.stop()
            assert sorted(int(row["seq"]) for row in receiver.rows("history")) == list(range(51, 101))
        finally:
            receiver.stop()
    finally:
        filled.close()


async def test_the_station_raises_an_urgent_at_risk_alarm_before_retention_deletes_pending_rows(
    tmp_path, free_port
):
    path = tmp_path / "history.db"
    filled = FilledStore(path)  # an outage's backlog from before this start, near the end of its window
    add_at(filled, 20, age=0.95 * RETENTION)
    filled.commit()
    filled.close()
    down = endpoint(f"http://127.0.0.1:{free_port()}/batches", streams=("history",), flush_timeout=0.5)
    project = Project(
        name="t",
        root=Path(tmp_path),
        connections={},
        scan_classes={},
        tags={},
        alarms={},
        history=HistorySettings(path, retention=RETENTION, commit_interval=0.05),
        screens={},
        sync={"ent": down},
    )
    station = Station(project, path)
    await station.start()
    try:
        status = station.alarms.statuses[sync_risk_alarm_name("ent")]
        for _ in range(100):  # bounded: 10 s
            if status.state is AlarmState.UNACKED:
                break
            await asyncio.sleep(0.1)
        assert status.state is AlarmState.UNACKED
        assert status.definition.priority == "urgent" and "will be lost" in status.message
    finally:
        await station.stop()


async def test_stored_batches_beyond_the_size_limit_go_oldest_first_named_and_counted(tmp_path, free_port):
    filled = FilledStore(tmp_path / "history.db")
    url = f"http://127.0.0.1:{free_port()}/batches"
    down = endpoint(url, streams=("history",), batch=SyncBatch(rows=200))
    try:
        sync = SyncService([down], filled.source(), "Test Plant", limits=Limits(max_bytes=10**9))
        sync.guard_every = 3600
        await sync.start()
        try:
            for _ in range(3):  # three commits of a full batch each while the endpoint is down
                add_at(filled, 200, age=5.0)
                await asyncio.to_thread(filled.commit)
            await wait_encoded(sync, 600)
            outbox = sync.outbox
            assert outbox is not None
            first, *rest = outbox.pending("ent", "history", 10)
            sync.limits = Limits(max_bytes=sum(batch.size for batch in rest))  # room for all but the oldest
            [risk] = await sync.check_limits()
            assert [batch.key for batch in risk.lost] == [first.key]
            assert risk.at_risk and "bytes wait to be sent" in risk.reason
            assert [batch.key for batch in outbox.pending("ent", "history", 10)] == [b.key for b in rest]
            assert sync.status()[0].lost_rows == 200
        finally:
            await sync.stop(budget=0.3)
    finally:
        filled.close()
