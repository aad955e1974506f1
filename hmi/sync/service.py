"""Every endpoint of a project: one client each, one forwarder per stream, a bounded flush at stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx

from hmi.project.sync_settings import SyncEndpoint
from hmi.sync.encoder import Encoder
from hmi.sync.forwarder import StreamForwarder
from hmi.sync.outbox import Outbox, outbox_path
from hmi.sync.risk import Limits, Risk
from hmi.sync.source import StoreSource
from hmi.sync.status import StreamStatus
from hmi.sync.transport import SyncSetupError, build_client, read_secret

log = logging.getLogger(__name__)

GUARD_EVERY = 10.0  # seconds between looks at the retention limits
STOP_GRACE = 0.1  # seconds past a stop's budget before what is still out is cancelled

RiskListener = Callable[[str, bool, str], None]
"""``(endpoint, at_risk, reason)``: called on the loop at the first look and whenever it changes."""


class SyncService:
    """Store-and-forward of a store's streams to the project's endpoints, on the runtime loop."""

    def __init__(
        self,
        endpoints: Iterable[SyncEndpoint],
        source: StoreSource,
        station: str,
        bool_tags: frozenset[str] = frozenset(),
        outbox: Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        """Nothing is opened until :meth:`start`; the state file defaults to the one beside the store.

        ``limits``: the history's retention and size limit, which the stored batches keep to as well.
        """
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
        self.limits = limits or Limits()
        self.on_risk: RiskListener | None = None
        """Told when an endpoint's undelivered rows come near the limits, and when they no longer are."""
        self.guard_every = GUARD_EVERY
        self._at_risk: dict[str, bool] = {}
        self._guard: asyncio.Task[None] | None = None

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
        if self.limits.active and self.forwarders:
            self._guard = asyncio.create_task(self._watch_limits(), name="sync retention guard")

    async def _watch_limits(self) -> None:
        while True:
            try:
                await self.check_limits()
            except Exception as error:  # the guard must outlive a bad file: say so and look again later
                log.error("sync: the retention check failed: %s", error, exc_info=error)
            await asyncio.sleep(self.guard_every)

    async def check_limits(self, now: float | None = None) -> list[Risk]:
        """Apply the limits to every stream's stored batches and report each endpoint's risk (on the loop).

        ``now``: epoch seconds (default the clock).
        """
        assert self.outbox is not None
        when = time.time() if now is None else now
        risks = [await asyncio.to_thread(f.guard, self.limits, when) for f in self.forwarders]
        for endpoint in {f.endpoint.name for f in self.forwarders}:
            mine = [risk for risk in risks if risk.endpoint == endpoint]
            at_risk = any(risk.at_risk for risk in mine)
            reason = "; ".join(f"{risk.stream}: {risk.reason}" for risk in mine if risk.at_risk)
            if self._at_risk.get(endpoint) == at_risk:
                continue
            self._at_risk[endpoint] = at_risk
            if at_risk:
                log.error("sync %s: undelivered rows are near the history's limits: %s", endpoint, reason)
            elif endpoint in self._at_risk:
                log.info("sync %s: undelivered rows are clear of the history's limits again", endpoint)
            if self.on_risk is not None:
                self.on_risk(endpoint, at_risk, reason)
        return risks

    @staticmethod
    def _client(endpoint: SyncEndpoint) -> httpx.AsyncClient:
        return build_client(endpoint, read_secret(endpoint.name, endpoint.auth))

    def flush_timeout(self) -> float:
        """How long a graceful stop may take: the longest of the endpoints' ``flush_timeout``."""
        return max((endpoint.flush_timeout for endpoint in self.endpoints), default=0.0)

    async def stop(self, budget: float | None = None) -> None:
        """Send what is pending for at most ``budget`` seconds (default :meth:`flush_timeout`, and
        ``STOP_GRACE`` for the attempts out at the deadline to end), then stop.

        A batch still in flight at the deadline stays recorded and goes out, with the same key, at the next
        start; rows not yet batched stay in the history behind the cursor.
        """
        if self._guard is not None:
            self._guard.cancel()
            await asyncio.gather(self._guard, return_exceptions=True)
            self._guard = None
        budget = self.flush_timeout() if budget is None else budget
        deadline = time.monotonic() + budget
        for forwarder in self.forwarders:
            forwarder.stop(deadline)
        if self._tasks:
            # The attempts out at the deadline end by their own timeouts first (see StreamForwarder._attempt).
            done, pending = await asyncio.wait(self._tasks, timeout=budget + STOP_GRACE)
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
