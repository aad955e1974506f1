"""A view's request to the runtime side, made again only once the previous answer is in.

The polling views (connections, rules, alarm report) ask on a timer; a slow runtime must not pile up
requests, so a tick while an answer is still on its way asks nothing. The gate keeps no callback
of its own: the relay holds a view's bound method weakly, so a view gone early gets no answer.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from hmi.ui.futures import FutureRelay

log = logging.getLogger(__name__)

T = TypeVar("T")


class LatestRequest(Generic[T]):
    """At most one request on its way; ``ask`` makes the next one."""

    def __init__(self, relay: FutureRelay, label: str) -> None:
        """``label`` names the view in the log."""
        self._relay = relay
        self._label = label
        self.pending: concurrent.futures.Future[T] | None = None
        """The latest request's future (done or not), None before the first."""

    def ask(
        self,
        request: Callable[[], concurrent.futures.Future[T]],
        on_answer: Callable[[concurrent.futures.Future[T]], None],
        *,
        replace: bool = False,
    ) -> bool:
        """Make ``request()`` unless an answer is still on its way; ``on_answer`` gets it on the GUI thread.

        ``replace`` cancels the request on its way and asks again (the question changed). False when
        nothing was asked.
        """
        if self.pending is not None and not self.pending.done():
            if not replace:
                return False
            self.pending.cancel()
        try:
            self.pending = request()
        except RuntimeError as exc:  # the runtime thread is gone (shutting down)
            log.debug("%s: %s", self._label, exc)
            return False
        self._relay.watch(self.pending, on_answer)
        return True
