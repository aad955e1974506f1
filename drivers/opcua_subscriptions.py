"""OPC UA subscriptions: one per scan period, created in chunks, and a router from notifications to tags.

asyncua's iterator mode keeps at most 1,000 events and silently drops the oldest,
and its handler mode starts a task per notification; here each publish response
is taken apart in the publish callback (``SessionSubscription``) and every item
goes to ``NotificationRouter``, which turns it into a Sample at once (no IO, no
awaits). Anything that cannot be delivered is counted, never lost silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from asyncua import ua

from drivers.opcua_quality import has_overflowed, sample_of, status_name
from drivers.opcua_session_subscription import SessionSubscription
from drivers.opcua_values import TimePolicy, fitted, type_mismatch
from hmi.model import DataType, Quality, Reason, Sample

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
"""Default server-side queue per monitored item: a burst between two publishes is delivered whole."""

FILTER_REFUSALS = frozenset(
    {
        ua.StatusCodes.BadFilterNotAllowed,
        ua.StatusCodes.BadMonitoredItemFilterUnsupported,
        ua.StatusCodes.BadMonitoredItemFilterInvalid,
        ua.StatusCodes.BadDeadbandFilterInvalid,
    }
)
"""Codes of a server that will not apply a deadband to an item: subscribe it unfiltered instead."""

ITEMS_PER_CALL = 1_000
"""Items per CreateMonitoredItems call when the server states no MaxMonitoredItemsPerCall (or a larger one):
one call of 50k items would take the server tens of seconds to answer and time out."""

PROGRESS_EVERY = 10_000
"""Log subscription progress after about this many items (a 50k-item connect takes a while)."""


@dataclass(slots=True)
class NotificationCounters:
    """Running totals since the driver was made; a healthy link has zero in every 'lost' column."""

    received: int = 0
    server_overflows: int = 0
    late: int = 0
    unrouted: int = 0
    type_mismatches: int = 0
    """Values that did not fit their tag's type, published as BAD (config error) instead."""
    restamped: int = 0
    """Values whose source timestamp was implausible, published with the receive time instead."""

    @property
    def dropped(self) -> int:
        """Notifications received but not published (after the link was declared lost, or unknown)."""
        return self.late + self.unrouted


@dataclass(frozen=True, slots=True)
class Deadband:
    """A server-side deadband: ``absolute`` in engineering units, or ``percent`` of the node's EURange."""

    kind: ua.DeadbandType = ua.DeadbandType.None_
    value: float = 0.0

    @classmethod
    def of(cls, absolute: float, percent: float) -> Deadband:
        """The deadband a tag asks for; percent wins when both are given (it adapts to the range)."""
        if percent > 0:
            return cls(ua.DeadbandType.Percent, percent)
        if absolute > 0:
            return cls(ua.DeadbandType.Absolute, absolute)
        return cls()


NO_DEADBAND = Deadband()


@dataclass(frozen=True, slots=True)
class ItemParameters:
    """Per-connection monitored item settings: the server queue and which end of it overflows."""

    queue_size: int = QUEUE_SIZE
    discard_oldest: bool = True


@dataclass(frozen=True, slots=True)
class MonitoredItemPlan:
    """One monitored item: a node sampled at one interval (and deadband), feeding one or more tags."""

    handle: int
    node_id: ua.NodeId
    interval_ms: float
    tags: tuple[str, ...]
    deadband: Deadband = NO_DEADBAND


@dataclass(slots=True)
class SubscribeOutcome:
    """What the server accepted: live subscriptions, the item count, the tags it refused (tag → why)
    and the tags subscribed without their deadband because the server refused the filter (tag → why)."""

    subscriptions: list[SessionSubscription] = field(default_factory=list)
    items: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    unfiltered: dict[str, str] = field(default_factory=dict)


def plan_monitored_items(
    nodes: Mapping[str, tuple[ua.NodeId, float]], deadbands: Mapping[str, Deadband] | None = None
) -> list[MonitoredItemPlan]:
    """Group tags (name → node id, scan period in s) into items; tags sharing node, period and deadband
    share one."""
    deadbands = deadbands or {}
    grouped: dict[tuple[float, ua.NodeId, Deadband], list[str]] = {}
    for tag, (node_id, period) in nodes.items():
        key = (round(period * 1000.0, 3), node_id, deadbands.get(tag, NO_DEADBAND))
        grouped.setdefault(key, []).append(tag)
    return [
        MonitoredItemPlan(handle, node_id, interval_ms, tuple(tags), deadband)
        for handle, ((interval_ms, node_id, deadband), tags) in enumerate(grouped.items(), start=1)
    ]


class NotificationRouter:
    """asyncua's handler for one session: routes each DataValue to its tags as a Sample.

    Runs inside asyncua's dispatch tasks: it must stay cheap and never do IO.
    After ``close()`` (the link was declared lost) notifications still in flight
    are counted as late instead of overwriting the bad quality just published.
    """

    def __init__(
        self,
        plans: Iterable[MonitoredItemPlan],
        publish: Callable[[str, Sample], None],
        on_link_error: Callable[[str], None],
        counters: NotificationCounters,
        types: Mapping[str, DataType] | None = None,
        time_policy: TimePolicy | None = None,
    ) -> None:
        self._routes = {plan.handle: plan.tags for plan in plans}
        self._publish = publish
        self._on_link_error = on_link_error
        self._counters = counters
        self._types = dict(types or {})
        self._time_policy = time_policy or TimePolicy()
        self._seen: set[int] = set()
        # Tags whose value or time stamp is wrong right now: each is logged when it starts, not each time.
        self._mismatched: set[str] = set()
        self._skewed: set[int] = set()
        # The newest sample per item, and the items heard from since a resume began: an item the server
        # did not report after a resume has not changed, and its last sample is vouched for again.
        self._last: dict[int, Sample] = {}
        self._heard: set[int] | None = None
        self._open = True

    def close(self) -> None:
        """Stop publishing: the session this router served is gone."""
        self._open = False

    def deliver(self, item: ua.MonitoredItemNotification) -> None:
        """One monitored item changed (from a publish or a republish)."""
        self._counters.received += 1
        if not self._open:
            self._counters.late += 1
            return
        tags = self._routes.get(item.ClientHandle)
        if tags is None:
            self._counters.unrouted += 1
            log.warning("notification for unknown client handle %s", item.ClientHandle)
            return
        if item.Value.StatusCode is not None and has_overflowed(item.Value.StatusCode.value):
            self._counters.server_overflows += 1
        sample = self._stamped(item.ClientHandle, sample_of(item.Value), tags)
        self._last[item.ClientHandle] = sample
        if self._heard is not None:
            self._heard.add(item.ClientHandle)
        for tag in tags:
            self._publish(tag, self._typed(tag, sample))

    def begin_resume(self, last: Mapping[int, Sample]) -> None:
        """A resumed subscription: carry the previous session's last samples, and note who speaks now."""
        self._last = dict(last)
        self._heard = set()

    @property
    def last_samples(self) -> dict[int, Sample]:
        """The newest sample per item handle (handed to the next session's router on a resume)."""
        return self._last

    def vouch_unchanged(self) -> int:
        """After a resumed subscription's queues were drained: the items not heard from have not changed;
        publish their last sample again, stamped now. Returns how many."""
        heard, self._heard = self._heard or set(), None
        if not self._open:
            return 0
        now = time.time()
        vouched = 0
        for handle, tags in self._routes.items():
            last = self._last.get(handle)
            if handle in heard or last is None:
                continue
            sample = Sample(last.value, last.quality, now, last.reason)
            self._last[handle] = sample
            vouched += 1
            for tag in tags:
                self._publish(tag, self._typed(tag, sample))
        return vouched

    def _stamped(self, handle: int, sample: Sample, tags: tuple[str, ...]) -> Sample:
        first = handle not in self._seen
        if first:
            self._seen.add(handle)
        judged, why = self._time_policy.judge(sample, time.time(), first)
        if why is None:
            self._skewed.discard(handle)
            return judged
        self._counters.restamped += 1
        if handle not in self._skewed:
            self._skewed.add(handle)
            quality = judged.quality.name
            log.warning("%s: %s; stamped with the receive time (%s)", ", ".join(tags), why, quality)
        return judged

    def _typed(self, tag: str, sample: Sample) -> Sample:
        data_type = self._types.get(tag)
        if data_type is None:
            return sample
        why = type_mismatch(sample.value, data_type)
        if why is None:
            self._mismatched.discard(tag)
            value = fitted(sample.value, data_type)
            if value is sample.value:
                return sample
            return Sample(value, sample.quality, sample.ts, sample.reason)
        if sample.quality is Quality.BAD:
            # A bad value is not shown anyway; only one of the tag's type may stand beside it.
            return Sample(None, Quality.BAD, sample.ts, sample.reason)
        self._counters.type_mismatches += 1
        if tag not in self._mismatched:
            self._mismatched.add(tag)
            log.error("tag %s: type mismatch: %s; bad (config error)", tag, why)
        return Sample(None, Quality.BAD, sample.ts, Reason.CONFIG_ERROR)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        """asyncua callback: the server (or asyncua on link loss) changed the subscription's status."""
        if self._open and not status.Status.is_good():
            self._on_link_error(f"subscription status {status_name(status.Status.value)}")


async def subscribe(
    session: Any,
    plans: list[MonitoredItemPlan],
    router: NotificationRouter,
    parameters: ItemParameters | None = None,
    *,
    on_life: Callable[[], None] = lambda: None,
    session_timeout_ms: float = 60_000,
    items_per_call: int = ITEMS_PER_CALL,
    label: str = "",
) -> SubscribeOutcome:
    """Create one subscription per sampling interval and its monitored items in chunks of
    ``items_per_call`` (the server's MaxMonitoredItemsPerCall); report refused tags.

    An item whose deadband the server refuses is created again without it: a value
    reported too often is better than a tag with no value at all.
    """
    parameters = parameters or ItemParameters()
    outcome = SubscribeOutcome()
    by_interval: dict[float, list[MonitoredItemPlan]] = {}
    for plan in plans:
        by_interval.setdefault(plan.interval_ms, []).append(plan)
    total, done, logged = len(plans), 0, 0
    began = time.monotonic()
    for interval_ms, group in by_interval.items():
        subscription = SessionSubscription(session, interval_ms, router, on_life)
        await subscription.create(session_timeout_ms)
        outcome.subscriptions.append(subscription)
        for start in range(0, len(group), items_per_call):
            chunk = group[start : start + items_per_call]
            retry = await _create_items(subscription, chunk, parameters, outcome, filtered=True)
            if retry:
                await _create_items(subscription, retry, parameters, outcome, filtered=False)
            done += len(chunk)
            if done - logged >= PROGRESS_EVERY and done < total:
                logged = done
                seconds = time.monotonic() - began
                log.info("%s: subscribed %d of %d items (%.1f s)", label, done, total, seconds)
    if total >= PROGRESS_EVERY:
        log.info("%s: subscribed %d items in %.1f s", label, outcome.items, time.monotonic() - began)
    return outcome


async def _create_items(
    subscription: SessionSubscription,
    chunk: list[MonitoredItemPlan],
    parameters: ItemParameters,
    outcome: SubscribeOutcome,
    *,
    filtered: bool,
) -> list[MonitoredItemPlan]:
    """Create ``chunk``'s items, recording the outcome; returns the items whose filter was refused."""
    requests = [_item_request(plan, parameters, filtered) for plan in chunk]
    results = await subscription.create_items(requests)
    retry: list[MonitoredItemPlan] = []
    for plan, result in zip(chunk, results, strict=True):
        if not isinstance(result, ua.StatusCode):
            outcome.items += 1
            continue
        code = result.value & 0xFFFF0000
        if filtered and code in FILTER_REFUSALS and plan.deadband.kind is not ua.DeadbandType.None_:
            kind = plan.deadband.kind.name.lower()
            why = f"server refused the {kind} deadband: {status_name(result.value)}"
            log.warning("%s: subscribing without a deadband (%s)", ", ".join(plan.tags), why)
            outcome.unfiltered.update(dict.fromkeys(plan.tags, why))
            retry.append(plan)
        else:
            outcome.refused.update(dict.fromkeys(plan.tags, status_name(result.value)))
    return retry


def _item_request(
    plan: MonitoredItemPlan, parameters: ItemParameters, filtered: bool
) -> ua.MonitoredItemCreateRequest:
    request_parameters = ua.MonitoringParameters(
        ClientHandle=plan.handle,
        SamplingInterval=plan.interval_ms,
        QueueSize=parameters.queue_size,
        DiscardOldest=parameters.discard_oldest,
    )
    if filtered and plan.deadband.kind is not ua.DeadbandType.None_:
        request_parameters.Filter = ua.DataChangeFilter(
            Trigger=ua.DataChangeTrigger.StatusValue,
            DeadbandType=plan.deadband.kind.value,
            DeadbandValue=plan.deadband.value,
        )
    return ua.MonitoredItemCreateRequest(
        ItemToMonitor=ua.ReadValueId(NodeId=plan.node_id, AttributeId=ua.AttributeIds.Value),
        MonitoringMode=ua.MonitoringMode.Reporting,
        RequestedParameters=request_parameters,
    )
