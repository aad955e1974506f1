"""The endpoint's secret: from an environment variable or the OS keyring, sent as the header it names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sync_receiver import Receiver
from sync_store import FilledStore, endpoint, filled_store, service

from hmi.project.sync_settings import SyncAuth


@pytest.fixture
def filled(tmp_path) -> Iterator[FilledStore]:
    with filled_store(tmp_path / "history.db", samples=50) as store:
        yield store


async def first_request_headers(filled: FilledStore, receiver: Receiver, auth: SyncAuth) -> dict[str, str]:
    sync = service(filled, endpoint(receiver.url, streams=("history",), auth=auth))
    await sync.start()
    try:
        assert not sync.setup_errors, sync.setup_errors
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 50)
    finally:
        await sync.stop()
    return receiver.requests[0].headers


async def test_a_bearer_token_from_the_environment(filled, receiver, monkeypatch) -> None:
    monkeypatch.setenv("CONVERGE_TEST_SYNC_TOKEN", "s3cret")
    headers = await first_request_headers(filled, receiver, SyncAuth(token_env="CONVERGE_TEST_SYNC_TOKEN"))
    assert headers["authorization"] == "Bearer s3cret"


async def test_an_api_key_from_the_keyring(filled, receiver, memory_keyring) -> None:
    memory_keyring.set_password("converge", "enterprise", "k-123")
    auth = SyncAuth(token_keyring=("converge", "enterprise"), header="X-API-Key", scheme="")
    headers = await first_request_headers(filled, receiver, auth)
    assert headers["x-api-key"] == "k-123" and "authorization" not in headers


async def test_a_missing_secret_stops_only_that_endpoint(
    filled, receiver, monkeypatch, memory_keyring
) -> None:
    monkeypatch.delenv("CONVERGE_TEST_SYNC_TOKEN", raising=False)
    missing_env = endpoint(receiver.url, name="a", auth=SyncAuth(token_env="CONVERGE_TEST_SYNC_TOKEN"))
    missing_entry = endpoint(receiver.url, name="b", auth=SyncAuth(token_keyring=("converge", "nobody")))
    working = endpoint(receiver.url, name="c", streams=("history",))
    sync = service(filled, missing_env, missing_entry, working)
    await sync.start()
    try:
        await asyncio.to_thread(receiver.wait_for, lambda: len(receiver.rows("history")) >= 50)
    finally:
        await sync.stop()
    assert sync.setup_errors == {
        "a": "sync endpoint 'a': environment variable CONVERGE_TEST_SYNC_TOKEN is not set",
        "b": "sync endpoint 'b': no keyring entry converge/nobody",
    }
