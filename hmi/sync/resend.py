"""Resend quarantined batches as they were kept: the same body under the same key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hmi.project.sync_settings import SyncEndpoint
from hmi.sync.forwarder import batch_headers
from hmi.sync.outbox import Batch, Outbox
from hmi.sync.transport import Verdict, build_client, post, read_secret


@dataclass(frozen=True, slots=True)
class ResendResult:
    """What one resend came to."""

    key: str
    delivered: bool
    detail: str


async def resend(
    outbox: Outbox, endpoints: Mapping[str, SyncEndpoint], batches: Iterable[Batch]
) -> list[ResendResult]:
    """Post each batch once; delivered ones leave the quarantine, refused ones stay with the new answer.

    A receiver that deduplicates by key makes this safe beside a running station.
    """
    results: list[ResendResult] = []
    clients = {}
    try:
        for batch in batches:
            settings = endpoints.get(batch.endpoint)
            if settings is None:
                results.append(
                    ResendResult(batch.key, False, f"endpoint {batch.endpoint!r} is not configured")
                )
                continue
            if not batch.body:
                results.append(ResendResult(batch.key, False, "no body kept (its rows left the history)"))
                continue
            if batch.endpoint not in clients:
                secret = await asyncio.to_thread(read_secret, settings.name, settings.auth)
                clients[batch.endpoint] = await asyncio.to_thread(build_client, settings, secret)
            outcome = await post(clients[batch.endpoint], settings.url, batch.body, batch_headers(batch))
            if outcome.verdict is Verdict.DELIVERED:
                await asyncio.to_thread(outbox.delivered, batch)
            elif outcome.status is not None:
                await asyncio.to_thread(outbox.still_quarantined, batch.key, outcome.status, outcome.detail)
            results.append(ResendResult(batch.key, outcome.verdict is Verdict.DELIVERED, outcome.detail))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients.values()))
    return results
