"""The audit trail as a sync stream: a real station and receiver on loopback, exactly once across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import textwrap
from collections import Counter
from pathlib import Path

from sync_receiver import Receiver

from hmi.core.station import Station
from hmi.project.loader import load_project
from hmi.security.audit import AuditEntry
from hmi.sync.outbox import Outbox, outbox_path
from hmi.sync.status import read_status


def project(root: Path, url: str, form: str = "json") -> Path:
    root.mkdir(exist_ok=True)
    (root / "project.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: Audit Plant
            history: {{path: history.db, commit_interval: 100ms}}
            sync:
              enterprise:
                url: "{url}"
                format: {form}
                streams: [audit]
                batch: {{rows: 20, max_age: 50ms}}
                retry: {{initial: 50ms, max: 200ms}}
                flush_timeout: 500ms
            """
        ),
        encoding="utf-8",
    )
    return root


async def run_station(root: Path, first: int, count: int, receiver: Receiver, until: int) -> None:
    """Start a station, audit ``count`` changes numbered from ``first``, wait for ``until`` rows, stop."""
    loaded = load_project(root)
    station = Station(loaded, loaded.history.path)
    await station.start()
    try:
        for n in range(first, first + count):
            assert station.audit.record(AuditEntry("ada", "screen", "save_trend", f"trend{n}", "ok", value=n))

        def arrived() -> bool:
            return len(receiver.rows("audit")) >= until

        await asyncio.to_thread(receiver.wait_for, arrived, 30)
    finally:
        await station.stop()


def trail_rows(root: Path) -> list[tuple[int, str, str]]:
    with contextlib.closing(sqlite3.connect(root / "history-audit.db")) as conn:
        return conn.execute("SELECT seq, target, hash FROM audit ORDER BY seq").fetchall()


def assert_exactly_once(receiver: Receiver, root: Path) -> None:
    rows = receiver.rows("audit")
    counts = Counter(int(row["seq"]) for row in rows)
    assert max(counts.values()) == 1, "no record twice under two keys"
    assert sorted((int(r["seq"]), r["target"], r["hash"]) for r in rows) == trail_rows(root)


async def test_audit_records_arrive_once_across_a_restart(tmp_path, receiver):
    root = project(tmp_path / "plant", receiver.url)
    await run_station(root, 0, 30, receiver, until=30)
    await run_station(root, 30, 25, receiver, until=55)

    assert len(trail_rows(root)) == 55
    assert_exactly_once(receiver, root)
    first = receiver.rows("audit")[0]
    assert [first[k] for k in ("actor", "origin", "action", "stage")] == ["ada", "screen", "save_trend", "ok"]
    assert first["ts"].endswith("Z") and first["prev_hash"] == "0" * 64

    loaded = load_project(root)
    outbox = Outbox(outbox_path(loaded.history.path))
    try:
        trail = {"audit": root / "history-audit.db"}
        [status] = read_status(outbox, loaded.history.path, loaded.sync, trail)
    finally:
        outbox.close()
    assert (status.stream, status.cursor, status.backlog_rows) == ("audit", 55, 0)


async def test_a_batch_in_flight_at_stop_is_resent_under_its_key_and_kept_once(tmp_path, receiver):
    receiver.plan = lambda n, r: "hang" if n == 0 else "ok"  # the first answer is lost
    root = project(tmp_path / "plant", receiver.url)
    loaded = load_project(root)
    station = Station(loaded, loaded.history.path)
    await station.start()
    try:
        for n in range(10):
            station.audit.record(AuditEntry("olga", "cli", "write", "SP", "done", value=n))
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.requests) >= 1, 30)
    finally:
        await station.stop()  # the flush gives up at its bound: the batch stays in flight
    outbox = Outbox(outbox_path(loaded.history.path))
    left = outbox.inflight("enterprise", "audit")
    outbox.close()
    assert left is not None and left.seq_first == 1

    await run_station(root, 10, 5, receiver, until=15)
    assert receiver.requests[1].key == receiver.requests[0].key
    assert receiver.repeats == 1
    assert_exactly_once(receiver, root)


async def test_audit_as_influx_line_protocol(tmp_path, receiver):
    root = project(tmp_path / "plant", receiver.url, form="influx-line")
    await run_station(root, 0, 3, receiver, until=3)
    lines = sorted(row["line"] for row in receiver.rows("audit"))
    assert len(lines) == 3
    tags = "station=Audit\\ Plant,actor=ada,origin=screen,action=save_trend,stage=ok"
    assert lines[0].startswith(f"audit,{tags} ")
    assert 'target="trend0"' in lines[0] and "seq=1i" in lines[0]


def test_audit_batches_carry_exactly_the_keys_the_json_schema_names(tmp_path):
    import json

    from hmi.project.sync_settings import SyncEndpoint
    from hmi.security.audit import read_records
    from hmi.security.trail import AuditTrail
    from hmi.sync.encoder import Encoder

    trail = AuditTrail(tmp_path / "history-audit.db", commit_interval=0.05)
    trail.start()
    trail.record(
        AuditEntry("olga", "faceplate", "write", "SP", "done", value=2**62 + 1, old=7, read_back=2**62 + 1)
    )
    trail.stop()
    with contextlib.closing(sqlite3.connect(tmp_path / "history-audit.db")) as conn:
        conn.row_factory = sqlite3.Row
        rows = read_records(conn)
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs" / "sync-batch.schema.json").read_text())
    encoder = Encoder(SyncEndpoint("ent", "http://127.0.0.1/", gzip=False), "P")
    doc = json.loads(encoder.body("audit", rows, "k").content)
    part = schema["$defs"]["audit_record"]
    assert set(doc["rows"][0]) == set(part["required"]) == set(part["properties"])
    assert doc["stream"] == "audit" and doc["rows"][0]["value"] == str(2**62 + 1), "exact, as JSON text"
