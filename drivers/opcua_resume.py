"""Resuming a lost session's subscriptions on the next connection, in the order OPC UA allows it.

1. **reactivated**: the old session is activated again on the new secure channel
   (Part 4 §6.7); its subscriptions never stopped queuing on the server;
2. **transferred**: a new session takes the subscriptions over with TransferSubscriptions;
3. either way the messages the server sent while the link was down are asked for
   again with Republish (``+republished``); a gap that cannot be filled, or a server
   that refuses the transfer, leads to
4. **resubscribed**: new subscriptions and every monitored item created again.

Only the resubscribe path costs the server one CreateMonitoredItems per chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asyncua import ua
from asyncua.ua.uaerrors import BadMessageNotAvailable

from drivers.opcua_quality import status_name
from drivers.opcua_session_subscription import NotificationSink, SessionSubscription
from drivers.opcua_subscriptions import MonitoredItemPlan
from hmi.model import Sample

log = logging.getLogger(__name__)

MAX_REPUBLISH = 1_000
"""Messages asked for again after a reactivation (where the server does not list what it kept)."""

REACTIVATED = "reactivated"
TRANSFERRED = "transferred"
RESUBSCRIBED = "resubscribed"
RESUMING = "resuming"
"""The path shown while a resume is under way (its republished values may already be arriving)."""


@dataclass(frozen=True, slots=True)
class SessionToken:
    """What ActivateSession needs to take an existing session onto a new channel."""

    authentication_token: ua.NodeId
    server_nonce: bytes | None
    session_id: str
    user_token_policies: tuple[ua.UserTokenPolicy, ...] = ()
    """The endpoint's identity token policies the session was activated with: activating it again
    with another policy id would be an identity change, which servers refuse."""


@dataclass(frozen=True, slots=True)
class SubscriptionMark:
    """One server subscription and the newest data message received from it."""

    interval_ms: float
    subscription_id: int
    last_sequence_number: int


@dataclass(slots=True)
class ResumePoint:
    """What a lost session leaves for the next connection to take over (within the session timeout)."""

    token: SessionToken | None
    plans: list[MonitoredItemPlan]
    marks: list[SubscriptionMark]
    items: int
    refused: dict[str, str]
    unfiltered: dict[str, str]
    last_samples: dict[int, Sample]
    lost_at: float = field(default_factory=time.monotonic)

    def usable(self, session_timeout_s: float) -> bool:
        """The server still holds the session (and so its subscriptions) unless the timeout passed."""
        return time.monotonic() - self.lost_at < session_timeout_s * 0.9


@dataclass(slots=True)
class ResumeResult:
    """The resumed subscriptions, the path taken and how many messages were republished."""

    subscriptions: list[SessionSubscription]
    path: str
    republished: int = 0

    @property
    def description(self) -> str:
        """The path for the diagnostics, e.g. ``reactivated+republished 3``."""
        return f"{self.path}+republished {self.republished}" if self.republished else self.path


class ResumeFailed(Exception):
    """The subscriptions cannot be taken over: subscribe afresh."""


async def resume(
    session: Any,
    point: ResumePoint,
    sink: NotificationSink,
    on_life: Callable[[], None],
    *,
    reactivated: bool,
) -> ResumeResult:
    """Take ``point``'s subscriptions over on ``session``; raises ResumeFailed when it cannot."""
    subscriptions = [
        SessionSubscription(session, m.interval_ms, sink, on_life, m.subscription_id, m.last_sequence_number)
        for m in point.marks
    ]
    available: dict[int, list[int] | None] = dict.fromkeys((m.subscription_id for m in point.marks), None)
    path = REACTIVATED
    if not reactivated:
        path = TRANSFERRED
        available = await _transfer(session, [m.subscription_id for m in point.marks])
    republished = 0
    for subscription in subscriptions:
        republished += await republish_gap(session, subscription, available[subscription.subscription_id])
    for subscription in subscriptions:
        subscription.attach()
    return ResumeResult(subscriptions, path, republished)


async def _transfer(session: Any, ids: list[int]) -> dict[int, list[int] | None]:
    parameters = ua.TransferSubscriptionsParameters(SubscriptionIds=ids, SendInitialValues=False)
    try:
        results = await session.transfer_subscriptions(parameters)
    except ua.UaStatusCodeError as exc:
        raise ResumeFailed(f"the server refused TransferSubscriptions: {exc}") from None
    taken = [sid for sid, r in zip(ids, results, strict=True) if r.StatusCode.is_good()]
    if len(taken) != len(ids):
        codes = sorted({status_name(r.StatusCode.value) for r in results if not r.StatusCode.is_good()})
        await delete_quietly(session, taken)
        raise ResumeFailed(f"TransferSubscriptions: {', '.join(codes)}")
    return {sid: list(r.AvailableSequenceNumbers or []) for sid, r in zip(ids, results, strict=True)}


async def republish_gap(session: Any, subscription: SessionSubscription, available: list[int] | None) -> int:
    """Ask again for the messages after the last one received; returns how many were delivered.

    ``available`` is what the server says it kept (from TransferSubscriptions); None after a
    reactivation, where messages are asked for one after another until the server has no more.
    Raises ResumeFailed when a message the server listed cannot be had: its values would be lost.
    """
    last = subscription.last_sequence_number
    wanted = sorted(n for n in available if n > last) if available is not None else None
    sequence = range(last + 1, last + 1 + MAX_REPUBLISH) if wanted is None else wanted
    delivered = 0
    for number in sequence:
        try:
            message = await session.republish(subscription.subscription_id, number)
        except BadMessageNotAvailable:
            message = None
        except ua.UaStatusCodeError as exc:
            raise ResumeFailed(f"Republish on subscription {subscription.subscription_id}: {exc}") from None
        # Some servers answer an unknown number with an empty message instead of the fault.
        if message is None or int(message.SequenceNumber) != number or not message.NotificationData:
            if wanted is not None:
                raise ResumeFailed(f"message {number} of subscription {subscription.subscription_id} is gone")
            break
        subscription.take(message)
        delivered += 1
    return delivered


async def delete_quietly(session: Any, ids: list[int]) -> None:
    """Delete subscriptions we will not use (best effort: a dead session has none to delete)."""
    if not ids:
        return
    try:
        await session.delete_subscriptions(ids)
    except Exception as exc:  # the server may have dropped them already; nothing is lost either way
        log.debug("deleting subscriptions %s failed: %s", ids, exc)
