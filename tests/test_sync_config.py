"""The ``sync:`` section: strict validation with file:line errors, secrets never in the file."""

from __future__ import annotations

from pathlib import Path

from project_files import BASE, messages, write_project

from hmi.project.loader import load_project

PLAINTEXT = "a plaintext secret in the project file"


def test_a_full_endpoint_loads_into_settings(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        BASE
        + """\
sync:
  enterprise:
    url: "https://historian.example/api/v1/batches"
    format: json
    streams: [history, alarms, events]
    batch: {rows: 5000, bytes: 2MB, max_age: 2s}
    auth: {token_env: CONVERGE_SYNC_TOKEN}
    tls: {ca: certs/ca.pem, cert: certs/me.pem, key: certs/me.key}
    proxy: "http://proxy.example:3128"
    timeout: {connect: 3s, read: 20s}
    retry: {initial: 1s, max: 5m}
    flush_timeout: 4s
    in_flight: 4
  influx:
    url: "http://127.0.0.1:8086/write?db=plant&precision=ns"
    format: influx-line
    quality: field
    measurements: {history: plant_history}
    auth: {token_keyring: converge/influx, header: Authorization, scheme: Token}
""",
    )
    project = load_project(tmp_path)
    enterprise, influx = project.sync["enterprise"], project.sync["influx"]
    assert enterprise.streams == ("history", "alarms", "events")
    assert (enterprise.batch.rows, enterprise.batch.bytes, enterprise.batch.max_age) == (
        5000,
        2 * 1024**2,
        2.0,
    )
    assert enterprise.auth.token_env == "CONVERGE_SYNC_TOKEN"
    assert enterprise.tls.ca == tmp_path / "certs/ca.pem" and enterprise.tls.verify
    assert (enterprise.connect_timeout, enterprise.read_timeout, enterprise.retry_max) == (3.0, 20.0, 300.0)
    assert influx.auth.token_keyring == ("converge", "influx") and influx.auth.scheme == "Token"
    assert influx.measurement("history") == "plant_history" and influx.measurement("alarms") == "alarms"
    assert influx.gzip and influx.quality == "field"
    assert (enterprise.in_flight, influx.in_flight) == (4, 2), "two batches at once unless told"


def test_the_design_sketch_stays_valid(tmp_path: Path) -> None:
    assert (
        messages(
            tmp_path,
            """\
sync:
  enterprise:
    url: "https://historian.example/api/v1/batches"   # or http://127.0.0.1:8086/write?db=plant
    format: json            # json | influx-line
    streams: [history, alarms, events]
    batch: {rows: 5000, max_age: 2s}
    auth: {token_env: CONVERGE_SYNC_TOKEN}
""",
        )
        == []
    )


def test_plaintext_secrets_are_errors_on_their_line(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """\
sync:
  a:
    url: "https://user:hunter2@historian.example/api"
  b:
    url: "http://127.0.0.1:8086/write?db=plant&u=me&p=hunter2"
  c:
    url: "https://historian.example/api"
    auth: {token: hunter2}
  d:
    url: "https://historian.example/api"
    api_key: hunter2
""",
    )
    assert len(found) == 4
    assert found[0].startswith("10: sync endpoint 'a': url: url holds a password: " + PLAINTEXT)
    assert found[1].startswith("12: sync endpoint 'b': url: url holds a credential in its query (p=)")
    assert found[2].startswith("15: sync endpoint 'c': auth.token: " + PLAINTEXT)
    assert found[3].startswith("18: sync endpoint 'd': api_key: " + PLAINTEXT)
    assert all("token_env" in message and "token_keyring" in message for message in found)


def test_typos_and_bad_values_name_their_line(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """\
sync:
  e:
    url: "ftp://historian.example/"
    format: jsn
    streams: [history, histroy, alarms, alarms]
    batch: {rows: 0, max_agee: 2s, bytes: 1GB}
    auth: {token_env: "NOT A NAME"}
    tls: {key: me.key}
    retry: {initial: 10s, max: 1s}
    timeout: {read: 0s}
""",
    )
    text = "\n".join(found)
    assert "10: sync endpoint 'e': url: 'ftp://historian.example/' is not an http:// or https:// URL" in text
    assert (
        "11: sync endpoint 'e': format: 'jsn' is not one of json, influx-line (did you mean 'json'?)" in text
    )
    assert "12: sync endpoint 'e': streams" in text and "histroy" in text
    assert "13: sync endpoint 'e': batch: unknown key 'max_agee' (did you mean 'max_age'?)" in text
    assert "13: sync endpoint 'e': batch.rows" in text and "13: sync endpoint 'e': batch.bytes" in text
    assert "14: sync endpoint 'e': auth.token_env: 'NOT A NAME' is not an environment variable name" in text
    assert "15: sync endpoint 'e': tls: key: needs cert:" in text
    assert "16: sync endpoint 'e': retry: initial (10 s) must not exceed max (1 s)" in text
    assert "17: sync endpoint 'e': timeout.read" in text


def test_in_flight_is_a_whole_number_from_1_to_8_on_its_line(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """\
sync:
  a: {url: "http://a.example/", in_flight: 0}
  b: {url: "http://b.example/", in_flight: 9}
  c: {url: "http://c.example/", in_flight: "2"}
  d: {url: "http://d.example/", in_flight: 1.5}
""",
    )
    text = "\n".join(found)
    for line, name in ((9, "a"), (10, "b"), (11, "c"), (12, "d")):
        assert f"{line}: sync endpoint '{name}': in_flight" in text, text


def test_duplicate_streams_and_auth_without_a_source(tmp_path: Path) -> None:
    found = messages(
        tmp_path,
        """\
sync:
  e:
    url: "https://historian.example/"
    streams: [history, history]
    auth: {header: X-Api-Key}
""",
    )
    assert found == [
        "11: sync endpoint 'e': streams: names history more than once",
        "12: sync endpoint 'e': auth: needs token_env: NAME or token_keyring: SERVICE/USER",
    ]
