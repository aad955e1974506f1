"""The batch formats: line-protocol escaping and typing, the JSON batch's shape, gzip, byte limits."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

from hmi.project.sync_settings import SyncBatch, SyncEndpoint
from hmi.sync import json_batch, line_protocol
from hmi.sync.backoff import backoff_delay, retry_after
from hmi.sync.encoder import Encoder

TS = 1_700_000_000_123_456  # microseconds, as the history stores them


def sample(tag: str, value: object, quality: int = 2, reason: str = "", seq: int = 1) -> dict[str, object]:
    return {"seq": seq, "tag": tag, "ts": TS, "value": value, "quality": quality, "reason": reason}


def history(
    row: dict[str, object], quality_as: str = "tag", bools: frozenset[str] = frozenset(), station: str = "P1"
) -> str:
    return line_protocol.history_line(row, "history", station, quality_as, bools)


def test_odd_names_are_escaped_per_the_line_protocol() -> None:
    line = history(sample('TANK 1,LEVEL="hi"=x', 1.5), station="Plant 1")
    tags = 'station=Plant\\ 1,tag=TANK\\ 1\\,LEVEL\\="hi"\\=x,quality=good'
    assert line == f"history,{tags} value=1.5 1700000000123456000"
    assert line_protocol.measurement("my meas,x=y") == "my\\ meas\\,x=y"
    assert line_protocol.string_field('say "hi" \\ bye\nnow') == '"say \\"hi\\" \\\\ bye now"'
    assert history(sample("Température.Ü", 2)).startswith("history,station=P1,tag=Température.Ü,")


def test_values_are_typed() -> None:
    assert history(sample("I", 7)).split(" ")[1] == "value=7i"
    assert history(sample("B", 1), bools=frozenset({"B"})).split(" ")[1] == "value=true"
    assert history(sample("S", 'a "b"')).split(" ")[1:-1] == ['value="a', '\\"b\\""']
    assert history(sample("BIG", 2**70)).split(" ")[1] == "value=1.1805916207174113e+21"
    assert history(sample("NAN", float("nan")), quality_as="tag").split(" ")[1] == "no_value=true"


def test_quality_and_reason_as_tags_or_fields() -> None:
    bad = sample("T", 3.0, quality=0, reason="comm failure")
    assert (
        history(bad)
        == "history,station=P1,tag=T,quality=bad,reason=comm\\ failure value=3.0 1700000000123456000"
    )
    assert history(bad, quality_as="field") == (
        'history,station=P1,tag=T value=3.0,quality="bad",reason="comm failure" 1700000000123456000'
    )
    none = sample("T", None, quality=0, reason="not connected")
    assert (
        history(none)
        == "history,station=P1,tag=T,quality=bad,reason=not\\ connected no_value=true 1700000000123456000"
    )
    assert history(none, quality_as="field") == (
        'history,station=P1,tag=T quality="bad",reason="not connected" 1700000000123456000'
    )


def test_the_fast_writers_write_what_the_plain_functions_do() -> None:
    rows = [
        sample('odd "tag", \\ é', 1.5),
        sample("I", 2**40, seq=2),
        sample("B", 1, seq=3),
        sample("S", 'x "y"', seq=4),
        sample("N", None, quality=0, reason="not connected", seq=5),
        sample("F", float("inf"), quality=1, reason="stale", seq=6),
    ]
    bools = frozenset({"B"})
    fast = json_batch.HistoryRowWriter(bools)
    for row in rows:
        assert fast.row(row) == json_batch.dumps_row(json_batch.history_row(row, bools))
        for quality_as in ("tag", "field"):
            lines = line_protocol.HistoryLineWriter("h m", "P 1", quality_as, bools)
            assert lines.line(row) == line_protocol.history_line(row, "h m", "P 1", quality_as, bools)


def test_alarm_events_as_points() -> None:
    row = {"seq": 9, "ts": TS, "alarm": "TANK1.HI", "kind": "raised", "state": "active unacknowledged",
           "priority": "high", "value": 91.5, "message": 'Tank 1 "high"', "user": ""}  # fmt: skip
    assert line_protocol.alarm_line(row, "alarms", "P") == (
        "alarms,station=P,alarm=TANK1.HI,kind=raised,state=active\\ unacknowledged,priority=high"
        ' message="Tank 1 \\"high\\"",user="",value=91.5,seq=9i 1700000000123456000'
    )


def endpoint(**overrides: object) -> SyncEndpoint:
    return replace(SyncEndpoint(name="e", url="http://127.0.0.1:1/"), **overrides)  # type: ignore[arg-type]


def test_json_batch_is_deterministic_and_gzipped() -> None:
    rows = [sample("T", float(i), seq=i + 1) for i in range(10)]
    encoder = Encoder(endpoint(), "Plant 1", frozenset())
    one, two = encoder.body("history", rows, "k1"), encoder.body("history", rows, "k1")
    assert one.content == two.content and one.content_encoding == "gzip"
    doc = json.loads(gzip.decompress(one.content))
    header = ("format", "version", "batch_id", "stream", "seq_first", "seq_last", "count")
    assert {k: doc[k] for k in header} == {
        "format": "converge-hmi.sync-batch", "version": 1, "batch_id": "k1", "stream": "history",
        "seq_first": 1, "seq_last": 10, "count": 10,
    }  # fmt: skip
    assert doc["rows"][0] == {
        "seq": 1, "tag": "T", "ts": "2023-11-14T22:13:20.123456Z", "ts_us": TS, "value": 0.0,
        "quality": "good", "reason": "",
    }  # fmt: skip


def test_batches_carry_exactly_the_keys_the_json_schema_names() -> None:
    schema = json.loads((Path(__file__).resolve().parents[1] / "docs" / "sync-batch.schema.json").read_text())
    rows = [sample("T", 1.0)]
    event = {"seq": 1, "ts": TS, "alarm": "A", "kind": "raised", "state": "normal", "priority": "low",
             "value": None, "message": "m", "user": ""}  # fmt: skip
    encoder = Encoder(endpoint(gzip=False), "P", frozenset())
    for stream, row, definition in (("history", rows[0], "sample"), ("alarms", event, "alarm_event")):
        doc = json.loads(encoder.body(stream, [row], "k").content)
        assert set(doc) == set(schema["required"]) == set(schema["properties"])
        part = schema["$defs"][definition]
        assert set(doc["rows"][0]) == set(part["required"]) == set(part["properties"])


def test_a_batch_is_cut_at_its_byte_limit_and_always_carries_a_row() -> None:
    rows = [sample("T", float(i), seq=i + 1) for i in range(1000)]
    for form in ("json", "influx-line"):
        encoder = Encoder(endpoint(format=form, gzip=False, batch=SyncBatch(bytes=4096)), "P", frozenset())
        body = encoder.body("history", rows, "k")
        assert body.raw_bytes <= 4096 and 10 < body.rows < 1000
        assert (body.seq_first, body.seq_last) == (1, body.rows)
        tiny = Encoder(endpoint(format=form, gzip=False, batch=SyncBatch(bytes=10)), "P", frozenset())
        assert tiny.body("history", rows, "k").rows == 1


def test_backoff_is_capped_and_jittered_and_retry_after_is_read() -> None:
    delays = [backoff_delay(attempt, 0.5, 60.0) for attempt in range(20)]
    assert all(0.25 <= d <= 0.5 for d in delays[:1]) and all(30.0 <= d <= 60.0 for d in delays[10:])
    assert retry_after("7") == 7.0 and retry_after("junk") is None and retry_after(None) is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after("99999999") == 3600.0


def test_sample_tuples_encode_to_the_same_bytes_as_dicts() -> None:
    rows = [
        sample('odd "tag", \\ é', 1.5),
        sample("I", 2**40, seq=2),
        sample("B", 1, seq=3),
        sample("S", 'x "y"', seq=4),
        sample("N", None, quality=0, reason="not connected", seq=5),
        sample("F", float("inf"), quality=1, reason="stale", seq=6),
        sample("Z", -0.0, seq=7),
        {**sample("Old", 0.1, seq=8), "ts": -1_500_001, "reason": None},  # before 1970, no reason
    ]
    bools = frozenset({"B"})
    tuples = [(r["seq"], r["tag"], r["ts"], r["value"], r["quality"], r["reason"]) for r in rows]
    writer = json_batch.HistoryRowWriter(bools)
    assert json_batch.HistoryRowWriter(bools).rows(tuples) == [writer.row(row) for row in rows]  # type: ignore[arg-type]
    for cut in (True, False):
        encoder = Encoder(endpoint(batch=SyncBatch(bytes=700)), "P", bools)
        assert encoder.wants_tuples("history") and not encoder.wants_tuples("alarms")
        assert encoder.body("history", tuples, "k", cut) == encoder.body("history", rows, "k", cut)
