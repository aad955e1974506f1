"""Is the OPC UA server still there? Life is any publish response (data or keep-alive) or a probe answer.

A probe (a read of the server state) is sent only after ``quiet_after`` seconds
without any life, so a server streaming data is never probed. A probe's patience
scales with load: it is at least ``probe_floor``, at least ``latency_factor`` times
the worst recent round trip or event-loop lag, and at most half the session
timeout; time the client's own loop spent busy (a late wake-up) extends the
deadline, because a client that cannot read its socket has not seen the server
fall silent. A timed-out request inside the window is simply asked again.

Worst case on an idle client: an outage is declared at most
``quiet_after + TICK + probe_floor`` seconds after the last sign of life; the driver
sets the floor to the connection's request timeout (at least 1.5 s), so 1.0 + 0.25 + 4
= 5.25 s with the default 4 s timeout. Under load the patience grows to
``latency_factor`` times the measured latency, capped at half the session timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

TICK = 0.25
"""Seconds between two looks at the link; also the granularity of the loop-lag measurement."""

PROBE_STEP = 0.02
"""While a probe waits, the loop's lag is measured this finely, so that nearly all the time the client
spent busy (not reading its socket) is added to the probe's deadline."""

PROBE_FLOOR = 1.5
"""The least patience of a probe (s); the driver raises it to the connection's request timeout."""

LATENCY_DECAY = 0.9
"""Per tick, the remembered worst latency shrinks by this factor towards the present one."""


@dataclass(frozen=True, slots=True)
class LivenessPolicy:
    """When to probe a silent server and how long to wait for its answer."""

    session_timeout: float = 60.0
    quiet_after: float = 1.0
    probe_floor: float = PROBE_FLOOR
    latency_factor: float = 4.0

    def probe_timeout(self, latency: float) -> float:
        """The patience for one probe, given the worst recent round trip or loop lag (s)."""
        return min(max(self.probe_floor, self.latency_factor * latency), self.session_timeout / 2)

    @property
    def idle_detection_bound(self) -> float:
        """Seconds from the last sign of life to the link declared lost, on an idle client."""
        return self.quiet_after + TICK + self.probe_floor


class LinkLiveness:
    """Watches one session: ``saw_life()`` from the publish path, ``watch()`` returns why the link is dead."""

    def __init__(
        self,
        policy: LivenessPolicy,
        probe: Callable[[], Awaitable[Any]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._probe = probe
        self._clock = clock
        self.last_life = clock()
        self.latency = 0.0
        """The worst recent probe round trip or event-loop lag (s), decaying."""
        self.probes = 0
        self.busy_seconds = 0.0
        """Time probes' deadlines were extended because the client's own loop was busy."""

    def saw_life(self) -> None:
        """The server answered something (a publish response, data or keep-alive)."""
        self.last_life = self._clock()

    def note_latency(self, seconds: float) -> None:
        """Remember a measured round trip or loop lag."""
        self.latency = max(self.latency * LATENCY_DECAY, seconds)

    @property
    def probe_timeout(self) -> float:
        """The patience the next probe gets."""
        return self.policy.probe_timeout(self.latency)

    async def watch(self) -> str:
        """Run until the server is judged gone; returns the reason for the operator."""
        while True:
            await self._sleep(TICK)
            if self._clock() - self.last_life < self.policy.quiet_after:
                continue
            reason = await self.probe_once()
            if reason is not None:
                return reason

    async def _sleep(self, seconds: float) -> float:
        """Sleep; returns (and remembers) how much later than asked the loop woke us: its lag."""
        before = self._clock()
        await asyncio.sleep(seconds)
        lag = max(0.0, self._clock() - before - seconds)
        self.note_latency(lag)
        return lag

    async def probe_once(self) -> str | None:
        """One probe window: None when the server showed life within it, else why it is judged gone."""
        self.probes += 1
        started = self._clock()
        timeout = self.probe_timeout
        deadline = started + timeout
        silent_since = self.last_life
        task: asyncio.Future[Any] = asyncio.ensure_future(self._probe())
        try:
            while True:
                wait = max(0.0, min(PROBE_STEP, deadline - self._clock()))
                before = self._clock()
                await asyncio.wait({task}, timeout=wait)
                # The loop being late is the client's own business, not the server's silence.
                lag = max(0.0, self._clock() - before - wait)
                deadline += lag
                self.busy_seconds += lag
                if self.last_life > silent_since:
                    return None
                if task.done():
                    failure = task.exception()
                    if failure is None:
                        self.note_latency(self._clock() - started)
                        self.saw_life()
                        return None
                    if not isinstance(failure, TimeoutError) or self._clock() >= deadline:
                        why = f"{type(failure).__name__}: {failure}".rstrip(": ")
                        return f"the server stopped answering: {why}"
                    # asyncua's own request timeout is shorter than our window: ask again.
                    task = asyncio.ensure_future(self._probe())
                if self._clock() >= deadline:
                    silent = self._clock() - silent_since
                    return f"no answer from the server for {silent:.1f} s (probe timeout {timeout:.1f} s)"
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            elif not task.cancelled():
                task.exception()
