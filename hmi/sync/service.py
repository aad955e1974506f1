"""Every endpoint of a project: one client each, one forwarder per stream, a bounded flush at stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

import httpx

from hmi.project.sync_settings import SyncEndpoint
from hmi.sync.encoder import Encoder
from hmi.sync.forwarder import StreamForwarder
from hmi.sync.outbox import Outbox, outbox_path
from hmi.sync.source import StoreSource
from hmi.sync.status import StreamStatus
from hmi.sync.transport import SyncSetupError, build_client, read_secret

log = logging.getLogger(__name__)


class SyncService:
    """Store-and-forward of a store's streams to the project's endpoints, on the runtime loop."""

    def __init__(
        self,
        endpoints: Iterable[SyncEndpoint],
        source: StoreSource,
        station: str,
        bool_tags: frozenset[str] = frozenset(),
        outbox: Path | None = None,
    ) -> None:
        """Nothing is opened until :meth:`start`; the state file defaults to the one beside the store."""
        self.endpoints = [endpoint for endpoint in endpoints if endpoint.enabled]
        self.source = source
        self.station = station
        self.bool_tags = bool_tags
        self.outbox_path = outbox or outbox_path(source.path)
        self.outbox: Outbox | None = None
        self.forwarders: list[StreamForwarder] = []
        self.setup_errors: dict[str, str] = {}
        """Endpoints that could not start (a missing secret or certificate), with the reason."""
        self.waiting: list[tuple[str, str]] = []
        """(endpoint, stream) pairs whose stream this store does not have yet."""
        self._clients: list[httpx.AsyncClient] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Open the state file, set each endpoint up (off the loop) and start its forwarders."""
        try:
            self.outbox = await asyncio.to_thread(Outbox, self.outbox_path)
        except Exception as error:  # sync must never keep the plant from running: it waits in the history
            self.setup_errors["*"] = f"sync state file {self.outbox_path} cannot be used: {error}"
            log.error("%s; nothing is sent, the data waits in the history", self.setup_errors["*"])
            return
        for endpoint in self.endpoints:
            try:
                client = await asyncio.to_thread(self._client, endpoint)
            except SyncSetupError as error:
                self.setup_errors[endpoint.name] = str(error)
                log.error("%s; its data waits in the history until it can be sent", error)
                continue
            self._clients.append(client)
            encoder = Encoder(endpoint, self.station, self.bool_tags)
            for stream in endpoint.streams:
                if stream not in self.source.streams:
                    self.waiting.append((endpoint.name, stream))
                    continue
                forwarder = StreamForwarder(endpoint, stream, self.source, self.outbox, encoder, client)
                self.forwarders.append(forwarder)
                self._tasks.append(
                    asyncio.create_task(forwarder.run(), name=f"sync {endpoint.name}/{stream}")
                )
        log.info("sync: %d streams to %d endpoints", len(self.forwarders), len(self._clients))

    @staticmethod
    def _client(endpoint: SyncEndpoint) -> httpx.AsyncClient:
        return build_client(endpoint, read_secret(endpoint.name, endpoint.auth))

    def flush_timeout(self) -> float:
        """How long a graceful stop may take: the longest of the endpoints' ``flush_timeout``."""
        return max((endpoint.flush_timeout for endpoint in self.endpoints), default=0.0)

    async def stop(self, budget: float | None = None) -> None:
        """Send what is pending for at most ``budget`` seconds (default :meth:`flush_timeout`), then stop.

        A batch still in flight at the deadline stays recorded and goes out, with the same key, at the next
        start; rows not yet batched stay in the history behind the cursor.
        """
        for forwarder in self.forwarders:
            forwarder.stop()
        budget = self.flush_timeout() if budget is None else budget
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=budget)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "sync: %d streams still had data after %.1f s; the rest goes out at the next start",
                    len(pending),
                    budget,
                )
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("sync: %s failed: %s", task.get_name(), task.exception())
        self._tasks.clear()
        await asyncio.gather(*(client.aclose() for client in self._clients), return_exceptions=True)
        self._clients.clear()
        self.source.close()
        if self.outbox is not None:
            self.outbox.close()

    def status(self) -> list[StreamStatus]:
        """The live status of every stream (loop thread)."""
        return [forwarder.status() for forwarder in self.forwarders]
