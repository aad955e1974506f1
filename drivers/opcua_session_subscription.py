"""One OPC UA subscription run directly on asyncua's session, delivering every notification at once.

asyncua's ``Subscription`` in handler mode starts one asyncio task per notification
(13k tasks a second at plant rates) and its stale watchdog re-creates every item in
one call when a busy client reads a publish late. Here the publish response is taken
apart in the publish callback itself and each item goes straight to the router
(which does no IO); the driver watches liveness and resumes subscriptions itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from asyncua import ua
from asyncua.client.ua_session import UaSession

KEEPALIVE_TARGET_MS = 1_000.0
"""The server is asked for a keep-alive about this often when nothing changes: life the driver can see."""


class NotificationSink(Protocol):
    """What a subscription hands its notifications to (the driver's router)."""

    def deliver(self, item: ua.MonitoredItemNotification) -> None:
        """One monitored item changed."""

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        """The subscription's status changed."""


def subscription_parameters(interval_ms: float, session_timeout_ms: float) -> ua.CreateSubscriptionParameters:
    """Keep-alive about every second, and a lifetime that outlasts the session timeout (so that a
    subscription survives a dropped connection long enough to be taken over)."""
    keepalive = max(1, math.ceil(KEEPALIVE_TARGET_MS / max(interval_ms, 1.0)))
    lifetime = max(3 * keepalive, math.ceil(2 * session_timeout_ms / max(interval_ms, 1.0)))
    return ua.CreateSubscriptionParameters(
        RequestedPublishingInterval=interval_ms,
        RequestedLifetimeCount=lifetime,
        RequestedMaxKeepAliveCount=keepalive,
        MaxNotificationsPerPublish=0,  # no limit: a full scan's changes go in one message
        PublishingEnabled=True,
        Priority=0,
    )


class SessionSubscription:
    """A server subscription (``subscription_id``) fed to ``sink``; ``on_life`` hears every publish."""

    def __init__(
        self,
        session: UaSession,
        interval_ms: float,
        sink: NotificationSink,
        on_life: Callable[[], None],
        subscription_id: int = 0,
        last_sequence_number: int = 0,
    ) -> None:
        self.session = session
        self.interval_ms = interval_ms
        self.subscription_id = subscription_id
        self.last_sequence_number = last_sequence_number
        """The newest data message received: a resumed session republishes from the one after."""
        self.last_publish_at: float | None = None
        self.publishes = 0
        self._sink = sink
        self._on_life = on_life

    async def create(self, session_timeout_ms: float) -> ua.CreateSubscriptionResult:
        """Create the subscription on the server; its publishes start flowing to ``on_publish``."""
        parameters = subscription_parameters(self.interval_ms, session_timeout_ms)
        result = await self.session.create_subscription(parameters, callback=self.on_publish)
        self.subscription_id = int(result.SubscriptionId)
        return result

    async def create_items(self, requests: Sequence[ua.MonitoredItemCreateRequest]) -> list[Any]:
        """Create monitored items; per request its server id (int) or the refusing StatusCode."""
        parameters = ua.CreateMonitoredItemsParameters(
            SubscriptionId=self.subscription_id,
            ItemsToCreate=list(requests),
            TimestampsToReturn=ua.TimestampsToReturn.Both,
        )
        results = await self.session.create_monitored_items(parameters)
        return [r.MonitoredItemId if r.StatusCode.is_good() else r.StatusCode for r in results]

    def attach(self) -> None:
        """Route this (transferred or reactivated) subscription's publishes to us and start publishing."""
        self.session._subscription_callbacks[self.subscription_id] = self.on_publish
        self.session.ensure_publish_loop()

    def on_publish(self, result: ua.PublishResult) -> None:
        """asyncua's publish loop: one response (data or keep-alive). Synchronous and IO-free."""
        self.last_publish_at = time.monotonic()
        self.publishes += 1
        self._on_life()
        self.take(result.NotificationMessage)

    def take(self, message: ua.NotificationMessage) -> None:
        """Hand a message's notifications to the sink (from a publish, or a republish)."""
        if not message.NotificationData:
            return
        self.last_sequence_number = max(self.last_sequence_number, int(message.SequenceNumber))
        for notification in message.NotificationData:
            if isinstance(notification, ua.DataChangeNotification):
                for item in notification.MonitoredItems:
                    self._sink.deliver(item)
            elif isinstance(notification, ua.StatusChangeNotification):
                self._sink.status_change_notification(notification)
