"""OPC UA client driver: one session per connection, one handler-mode subscription per scan period.

The base class supervises the link. Here ``_connect`` opens a session (with
channel security and user identity when configured), caches the data type of
every writable node and subscribes, or resumes the subscriptions of the session
it lost (``opcua_resume``); ``_serve`` watches the link (``opcua_liveness``: publish
responses are life, a silent server is probed with a patience that scales with
load) until it is lost; ``write`` converts a value to the node's exact type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.ua_utils import data_type_to_variant_type

from drivers.base import Backoff, Driver, SampleSink, StatusSink
from drivers.opcua_client import SESSION_TIMEOUT_MS, SessionClient
from drivers.opcua_coerce import CoercionError, to_variant
from drivers.opcua_credentials import apply_login, explaining_login_refusal
from drivers.opcua_diagnostics import OpcUaDiagnostics
from drivers.opcua_limits import OperationLimits, read_operation_limits
from drivers.opcua_liveness import PROBE_FLOOR, TICK, LinkLiveness, LivenessPolicy
from drivers.opcua_namespaces import NamespaceBinding, TagAddress
from drivers.opcua_quality import status_name
from drivers.opcua_resume import (
    RESUBSCRIBED,
    RESUMING,
    ResumeFailed,
    ResumePoint,
    SubscriptionMark,
    delete_quietly,
    resume,
)
from drivers.opcua_security import secure_client
from drivers.opcua_session_subscription import SessionSubscription, subscription_parameters
from drivers.opcua_subscriptions import (
    ITEMS_PER_CALL,
    Deadband,
    ItemParameters,
    MonitoredItemPlan,
    NotificationCounters,
    NotificationRouter,
    plan_monitored_items,
    subscribe,
)
from drivers.opcua_values import TimePolicy
from drivers.settings import OpcUaSettings, OpcUaTagLink
from drivers.tasks import cancel_and_wait
from hmi.model import ConnectionState, Reason, Sample, StalePolicy, TagDef, WriteError

log = logging.getLogger(__name__)

DISCONNECT_TIMEOUT = 2.0
"""Closing a session politely is worth this long; then the socket is simply dropped."""

LOST_LINK_DISCONNECT_TIMEOUT = 0.5
"""After the link was declared lost the server is unlikely to answer: do not keep tags waiting for it."""

RATE_WINDOW = 1.0
"""Seconds over which notifications per second are measured."""

READS_PER_CALL = 500

LostCallback = Callable[[Exception], Coroutine[Any, Any, None]]

RESUME_GRACE = 5.0
"""A resumed subscription must publish (data or keep-alive) within three keep-alives plus this (s)."""


class OpcUaDriver(Driver):
    """Subscribes to OPC UA nodes (``tag.address`` is a NodeId such as ``ns=2;s=Plant.Tank1.Temperature``)."""

    # Data changes arrive only when a value changes; the session keep-alive proves the rest fresh.
    reports_every_scan = False

    def __init__(
        self,
        name: str,
        settings: OpcUaSettings,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        backoff: Backoff | None = None,
        pki_dir: Path | None = None,
        stale: StalePolicy | None = None,
    ) -> None:
        super().__init__(name, tags, on_sample, on_status, backoff, stale)
        self.settings = settings
        # An explicit folder (the runtime's resolved one, a test's) wins over the project setting.
        self._pki_dir = pki_dir or (Path(settings.pki_dir) if settings.pki_dir else None)
        self._addresses: dict[str, TagAddress] = {}
        self._invalid_addresses: dict[str, str] = {}
        for tag in self.tags:
            try:
                self._addresses[tag.name] = TagAddress.parse(tag.address)
            except ValueError as exc:
                self._invalid_addresses[tag.name] = str(exc)
        # Bound to the server's namespace array at each connect: indexes may change across restarts.
        self._namespaces = NamespaceBinding()
        self._node_ids: dict[str, ua.NodeId] = {}
        self._unresolved: dict[str, str] = {}
        self._client: SessionClient | None = None
        self._router: NotificationRouter | None = None
        self._variant_types: dict[str, ua.VariantType] = {}
        self._link_lost = asyncio.Event()
        self._link_error = ""
        self._session_id = ""
        self._subscriptions: list[SessionSubscription] = []
        self._plans: list[MonitoredItemPlan] = []
        self._liveness: LinkLiveness | None = None
        self._limits = OperationLimits()
        self._serving = False
        self._resume_point: ResumePoint | None = None
        self._resume_path = ""
        self._resumes: dict[str, int] = {}
        self._resume_check: float | None = None
        """While a resumed subscription has not published yet: the time by which it must have."""
        self._link_losses = 0
        self.reactivate_sessions = True
        """False: take a lost session's subscriptions over with a new session (TransferSubscriptions)
        instead of activating the old session again, as a restarted client has to."""
        self._items = 0
        self._refused: dict[str, str] = {}
        self._unfiltered: dict[str, str] = {}
        self._counters = NotificationCounters()
        self._rate = 0.0
        self._rate_mark = (time.monotonic(), 0)
        self._certificate_warning = ""

    @property
    def pki_dir(self) -> Path | None:
        """Where the client certificate and the trust list live (None: security None only)."""
        return self._pki_dir

    def diagnostics(self) -> OpcUaDiagnostics:
        """Figures for the connection's status page; counters run since the driver was made."""
        counters = self._counters
        return OpcUaDiagnostics(
            state=self.status.state,
            # The connections view shows this column: a warning about the server certificate in use is seen.
            last_error=self.status.last_error or _as_warning(self._certificate_warning),
            requests_per_s=round(self._rate, 1),
            endpoint=self.settings.endpoint,
            security=self._security_in_use(),
            session_id=self._session_id,
            subscriptions=len(self._subscriptions),
            items=self._items,
            refused_items=len(self._refused) + len(self._invalid_addresses) + len(self._unresolved),
            items_without_deadband=len(self._unfiltered),
            notifications=counters.received,
            keepalive_age_s=self._keepalive_age(),
            dropped=counters.dropped,
            late_after_link_loss=counters.late,
            unrouted=counters.unrouted,
            server_queue_overflows=counters.server_overflows,
            type_mismatches=counters.type_mismatches,
            restamped=counters.restamped,
            certificate_warning=self._certificate_warning,
            link_losses=self._link_losses,
            resume_path=self._resume_path,
            resumed=sum(n for path, n in self._resumes.items() if path != RESUBSCRIBED),
            resubscribed=self._resumes.get(RESUBSCRIBED, 0),
            probes=self._liveness.probes if self._liveness is not None else 0,
            probe_timeout_s=round(self._liveness.probe_timeout, 2) if self._liveness is not None else 0.0,
            max_items_per_call=self._limits.max_monitored_items_per_call,
        )

    def _keepalive_age(self) -> float | str:
        """Seconds since the server last answered a publish (data or keep-alive); empty when unknown."""
        stamps = [s.last_publish_at for s in self._subscriptions if s.last_publish_at is not None]
        return round(time.monotonic() - max(stamps), 1) if stamps else ""

    def _security_in_use(self) -> str:
        """The policy and mode of the live channel when connected, else the configured ones."""
        client = self._client
        if client is None or self.status.state is not ConnectionState.CONNECTED:
            return f"{self.settings.security}/{self.settings.mode}"
        policy = client.security_policy
        mode = ua.MessageSecurityMode(policy.Mode).name.rstrip("_")
        return f"{policy.URI.rsplit('#', 1)[-1]}/{mode}"

    async def write(self, tag: TagDef, value: Any) -> None:
        """Write ``value`` converted to the node's type; a refusal raises WriteError with the StatusCode."""
        client = self._client
        # The session, not the state shown: initial values arrive while the last items are still being
        # created, and a value shown good must be writable.
        if client is None or client.state is not UaClientState.CONNECTED or self._link_lost.is_set():
            raise WriteError(f"{tag.name}: connection {self.name} is not connected")
        node_id = self._node_ids.get(tag.name)
        if node_id is None:
            reason = self._invalid_addresses.get(tag.name) or self._unresolved.get(tag.name)
            raise WriteError(f"{tag.name}: {reason or f'not a tag of connection {self.name}'}")
        vtype = self._variant_types.get(tag.name)
        if vtype is None:
            vtype = await self._read_variant_type(client, tag, node_id)
        try:
            variant = to_variant(value, vtype)
        except CoercionError as exc:
            raise WriteError(
                f"{tag.name}: cannot write {value!r} to {vtype.name} node {tag.address}: {exc}"
            ) from None
        request = ua.WriteValue(
            NodeId=node_id,
            AttributeId=ua.AttributeIds.Value,
            Value=ua.DataValue(variant),
        )
        parameters = ua.WriteParameters(NodesToWrite=[request])
        status = (await self._request(tag, client.uaclient.write(parameters)))[0]
        if not status.is_good():
            name = status_name(status.value)
            raise WriteError(f"{tag.name}: {name} writing {variant.Value!r} to {tag.address}: {status.doc}")

    async def _read_variant_type(self, client: Client, tag: TagDef, node_id: ua.NodeId) -> ua.VariantType:
        read = client.uaclient.read_attributes([node_id], ua.AttributeIds.DataType)
        data_type = (await self._request(tag, read))[0]
        vtype = await self._request(tag, _variant_type_of(client, data_type))
        if vtype is None:
            code = data_type.StatusCode.value if data_type.StatusCode is not None else ua.StatusCodes.Bad
            raise WriteError(f"{tag.name}: {status_name(code)} reading the data type of {tag.address}")
        self._variant_types[tag.name] = vtype
        return vtype

    async def _request(self, tag: TagDef, call: Any) -> Any:
        """Await one service call for a write, turning every failure into a WriteError for the operator."""
        try:
            async with asyncio.timeout(self.settings.timeout + 1.0):
                return await call
        except TimeoutError:
            endpoint, timeout = self.settings.endpoint, self.settings.timeout
            raise WriteError(f"{tag.name}: no answer from {endpoint} within {timeout} s") from None
        except ua.UaStatusCodeError as exc:
            raise WriteError(f"{tag.name}: {status_name(exc.code)} from {self.settings.endpoint}") from None
        except (ConnectionError, OSError) as exc:
            raise WriteError(f"{tag.name}: connection {self.name} lost during the write ({exc})") from None

    async def _connect(self) -> None:
        self._link_lost = asyncio.Event()
        self._link_error = ""
        self._serving = False
        # Kept until a connection has resumed or replaced them: an outage may outlast many attempts.
        point = self._resume_point
        if point is not None and not point.usable(SESSION_TIMEOUT_MS / 1000):
            point = self._resume_point = None
        token = point.token if point is not None and self.reactivate_sessions else None
        client = SessionClient(self.settings.endpoint, self.settings.timeout, token)
        self._client = client
        client.connection_lost_callback = self._connection_lost_callback(client)
        # Each request is bounded by settings.timeout; this bounds the whole session set-up.
        async with asyncio.timeout(self.settings.timeout * 3):
            # The identity first: a missing key file is reported even while the server is unreachable.
            await apply_login(client, self.settings)
            self._certificate_warning = await secure_client(client, self.settings, self._pki_dir)
            with explaining_login_refusal(self.settings):
                await client.connect(auto_reconnect=False)
        self._session_id = client.session_id
        # The engineer's request timeout is what a probe may take at least: a server slow to answer
        # (starved, or busy with another client) is not a dead one.
        floor = max(PROBE_FLOOR, self.settings.timeout)
        policy = LivenessPolicy(session_timeout=client.session_timeout / 1000, probe_floor=floor)
        self._liveness = LinkLiveness(policy, client.nodes.server_state.read_value)
        namespaces = await client.get_namespace_array()
        self._node_ids, self._unresolved = self._namespaces.resolve(self._addresses, namespaces)
        self._limits = await read_operation_limits(client.uaclient)
        await self._cache_variant_types(client)
        await self._subscribe(client, point)

    async def _cache_variant_types(self, client: Client) -> None:
        # A restarted server may have new node types: never trust the previous session's cache.
        self._variant_types = {}
        writable = [tag.name for tag in self.tags if tag.writable and tag.name in self._node_ids]
        per_call = self._limits.chunk(self._limits.max_nodes_per_read, READS_PER_CALL)
        for start in range(0, len(writable), per_call):
            names = writable[start : start + per_call]
            values = await client.uaclient.read_attributes(
                [self._node_ids[name] for name in names], ua.AttributeIds.DataType
            )
            for name, value in zip(names, values, strict=True):
                try:
                    vtype = await _variant_type_of(client, value)
                except (ua.UaError, ValueError) as exc:
                    # Not fatal to the connection: write() looks again and reports it to the operator.
                    log.warning("%s: data type of tag %s is not usable: %s", self.name, name, exc)
                    continue
                if vtype is not None:
                    self._variant_types[name] = vtype

    async def _subscribe(self, client: SessionClient, point: ResumePoint | None) -> None:
        by_tag = {tag.name: tag for tag in self.tags}
        plans = plan_monitored_items(
            {name: (node_id, by_tag[name].scan_period) for name, node_id in self._node_ids.items()},
            {
                name: Deadband.of(tag.deadband, OpcUaTagLink.of(tag.link).deadband_percent)
                for name, tag in by_tag.items()
            },
        )
        self._plans = plans
        self._router = NotificationRouter(
            plans,
            self.publish,
            self._declare_link_lost,
            self._counters,
            {name: tag.type for name, tag in by_tag.items()},
            TimePolicy(self.settings.max_clock_skew, self.settings.max_source_age),
        )
        session = client.uaclient.session
        if point is not None and await self._resume(client, point, plans):
            self._resume_point = None
            self._report_refused(by_tag)
            return
        self._resume_point = None
        parameters = ItemParameters(self.settings.queue_size, self.settings.discard_oldest)
        per_call = self._limits.chunk(self._limits.max_monitored_items_per_call, ITEMS_PER_CALL)
        outcome = await subscribe(
            session,
            plans,
            self._router,
            parameters,
            on_life=self._saw_life,
            session_timeout_ms=client.session_timeout,
            items_per_call=per_call,
            label=self.name,
        )
        self._subscriptions, self._items = outcome.subscriptions, outcome.items
        self._refused, self._unfiltered = outcome.refused, outcome.unfiltered
        self._resume_path = RESUBSCRIBED if point is not None else "subscribed"
        if point is not None:
            self._resumes[RESUBSCRIBED] = self._resumes.get(RESUBSCRIBED, 0) + 1
        self._report_refused(by_tag)

    async def _resume(
        self, client: SessionClient, point: ResumePoint, plans: list[MonitoredItemPlan]
    ) -> bool:
        """Take the lost session's subscriptions over; False when they must be created again."""
        session = client.uaclient.session
        router = self._router
        assert router is not None
        if point.plans != plans:
            # The server's namespaces moved (a restart): the old items watch other nodes now.
            log.info("%s: the address space changed; subscribing again", self.name)
            if client.reactivated:
                await delete_quietly(session, [mark.subscription_id for mark in point.marks])
            return False
        router.begin_resume(point.last_samples)
        # Not the previous connection's path: republished values arrive before the resume has ended.
        self._resume_path = RESUMING
        try:
            result = await resume(session, point, router, self._saw_life, reactivated=client.reactivated)
        except ResumeFailed as exc:
            log.warning("%s: the subscriptions could not be resumed (%s); subscribing again", self.name, exc)
            if client.reactivated:
                await delete_quietly(session, [mark.subscription_id for mark in point.marks])
            self._router = NotificationRouter(
                plans,
                self.publish,
                self._declare_link_lost,
                self._counters,
                {tag.name: tag.type for tag in self.tags},
                TimePolicy(self.settings.max_clock_skew, self.settings.max_source_age),
            )
            return False
        self._subscriptions, self._items = result.subscriptions, point.items
        self._refused, self._unfiltered = point.refused, point.unfiltered
        self._resume_path = result.description
        self._resumes[result.path] = self._resumes.get(result.path, 0) + 1
        timeout_ms = client.session_timeout
        keepalive = max(_keepalive_seconds(s.interval_ms, timeout_ms) for s in self._subscriptions)
        self._resume_check = time.monotonic() + 3 * keepalive + RESUME_GRACE
        log.info("%s: %d subscriptions resumed (%s)", self.name, len(self._subscriptions), result.description)
        return True

    def _report_refused(self, by_tag: dict[str, TagDef]) -> None:
        refused = {**self._invalid_addresses, **self._unresolved, **self._refused}
        for name, why in refused.items():
            log.error("%s: tag %s (%s) is not subscribed: %s", self.name, name, by_tag[name].address, why)
            self.publish(name, Sample.bad(Reason.CONFIG_ERROR))

    def _saw_life(self) -> None:
        if self._liveness is not None:
            self._liveness.saw_life()

    async def _serve(self) -> None:
        client, liveness = self._client, self._liveness
        assert client is not None and liveness is not None, "_serve runs only after a successful _connect"
        self._serving = True
        watcher = asyncio.create_task(self._watch_liveness(liveness), name=f"opcua-liveness:{self.name}")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(TICK):
                        await self._link_lost.wait()
                if self._link_lost.is_set():
                    raise ConnectionError(self._link_error)
                if client.state is not UaClientState.CONNECTED:
                    raise ConnectionError(f"session lost ({client.state.value})")
                self._check_resumed()
                if time.monotonic() - self._rate_mark[0] >= RATE_WINDOW:
                    self._measure_rate()
        finally:
            await cancel_and_wait([watcher])

    async def _watch_liveness(self, liveness: LinkLiveness) -> None:
        self._declare_link_lost(await liveness.watch())

    def _check_resumed(self) -> None:
        """Once every resumed subscription has published, vouch for the items that did not change."""
        if self._resume_check is None or self._router is None:
            return
        if all(s.publishes > 0 for s in self._subscriptions):
            self._resume_check = None
            vouched = self._router.vouch_unchanged()
            log.info("%s: resumed; %d items unchanged while the link was down", self.name, vouched)
        elif time.monotonic() > self._resume_check:
            self._resume_check = None
            # Without a publish its items would stay bad for ever: subscribe afresh on the next connect.
            self._subscriptions = []
            self._declare_link_lost("a resumed subscription sent nothing, not even a keep-alive")

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        router, subs = self._router, self._subscriptions
        if router is not None:
            router.close()
        task = asyncio.current_task()
        stopping = task is not None and task.cancelling() > 0
        if client is not None and self._serving and not stopping and self._subscriptions and router:
            self._link_losses += 1
            self._resume_point = ResumePoint(
                client.session_token(),
                self._plans,
                [SubscriptionMark(s.interval_ms, s.subscription_id, s.last_sequence_number) for s in subs],
                self._items,
                self._refused,
                self._unfiltered,
                router.last_samples,
            )
        self._serving = False
        self._resume_check = None
        self._session_id = ""
        self._subscriptions, self._items = [], 0
        self._rate = 0.0
        if client is None:
            return
        if self._resume_point is not None:
            # Keep the session on the server: the next connection takes its subscriptions over.
            await client.abandon()
            return
        patience = LOST_LINK_DISCONNECT_TIMEOUT if self._link_lost.is_set() else DISCONNECT_TIMEOUT
        try:
            async with asyncio.timeout(patience):
                await client.disconnect()
        except TimeoutError:
            log.info("%s: the server did not answer the session close; dropping the socket", self.name)
        except Exception as exc:  # a dead server makes closing fail; the socket is dropped below anyway
            log.debug("%s: closing the session failed: %s", self.name, exc)
        finally:
            client.disconnect_socket()

    def _connection_lost_callback(self, client: SessionClient) -> LostCallback:
        async def lost(exc: Exception) -> None:
            # A previous session's client may report its end late: it must not end the current one.
            if client is self._client:
                self._declare_link_lost(f"connection lost: {type(exc).__name__}: {exc}".rstrip(": "))

        return lost

    def _declare_link_lost(self, reason: str) -> None:
        if not self._link_lost.is_set():
            self._link_error = reason
            self._link_lost.set()
            if self._router is not None:
                self._router.close()

    def _measure_rate(self) -> None:
        """Notifications per second since the last measure."""
        now, received = time.monotonic(), self._counters.received
        since, before = self._rate_mark
        if now > since:
            self._rate = (received - before) / (now - since)
        self._rate_mark = (now, received)


def _keepalive_seconds(interval_ms: float, session_timeout_ms: float) -> float:
    parameters = subscription_parameters(interval_ms, session_timeout_ms)
    return interval_ms * parameters.RequestedMaxKeepAliveCount / 1000


def _as_warning(text: str) -> str:
    return f"warning: {text}" if text else ""


async def _variant_type_of(client: Client, data_type: ua.DataValue) -> ua.VariantType | None:
    """The built-in type to encode values of a node whose DataType attribute read as ``data_type``."""
    if data_type.StatusCode is not None and not data_type.StatusCode.is_good():
        return None
    if data_type.Value is None or not isinstance(data_type.Value.Value, ua.NodeId):
        return None
    type_id: ua.NodeId = data_type.Value.Value
    if type_id.NamespaceIndex == 0 and isinstance(type_id.Identifier, int) and 1 <= type_id.Identifier <= 21:
        return ua.VariantType(type_id.Identifier)
    # Subtypes (Duration, UtcTime, enumerations, vendor types) resolve through the type hierarchy.
    return await data_type_to_variant_type(client.get_node(type_id))
