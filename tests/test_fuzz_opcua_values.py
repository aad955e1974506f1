"""Malformed OPC UA values never crash the driver's notification path and never become a good value of the
wrong type.

A server may send anything a DataValue can carry: a null, an array, a string in a number tag, an integer
beyond the tag's range, NaN, a status code no specification defines, a time stamp in year 1601 or 9999.
Here the router and the subscription that take publish responses apart are fed (1) DataValues built from
random values and variant types, and (2) notification messages encoded to OPC UA binary, damaged (bytes
flipped, cut, inserted) and decoded again by asyncua, as a hostile server's publish response would reach
us. The outcome for every published sample: good or uncertain only with a value that fits the tag's type
(``type_mismatch`` is None), bad otherwise, a finite time stamp, and no exception at all.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import uuid
from typing import Any

from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.opcua_session_subscription import SessionSubscription
from drivers.opcua_subscriptions import MonitoredItemPlan, NotificationCounters, NotificationRouter
from drivers.opcua_values import type_mismatch
from hmi.model import DataType, Quality, Sample

TYPES = list(DataType)
"""One tag of every type, each on its own monitored item (client handle 1..N)."""
PLANS = [
    MonitoredItemPlan(handle, ua.NodeId(handle, 2), 1000.0, (f"T_{data_type.value}",))
    for handle, data_type in enumerate(TYPES, start=1)
]
TAG_TYPES = {f"T_{data_type.value}": data_type for data_type in TYPES}
SCALE = int(os.environ.get("HMI_FUZZ_SCALE", "1"))
"""``make fuzz`` raises it for a long run with fresh randomness; the suite runs a fixed set."""
FUZZ = settings(
    max_examples=300 * SCALE,
    deadline=None,
    derandomize=SCALE == 1,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- what a server may send ---

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.floats(width=32, allow_nan=True, allow_infinity=True),
        st.text(max_size=50),
        st.binary(max_size=50),
        st.datetimes(min_value=dt.datetime(1601, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        st.uuids(),
    ),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=12,
)
variant_types = st.sampled_from(list(ua.VariantType))
KNOWN_CODES = [
    0,
    ua.StatusCodes.Uncertain,
    ua.StatusCodes.UncertainLastUsableValue,
    ua.StatusCodes.Bad,
    ua.StatusCodes.BadCommunicationError,
    ua.StatusCodes.GoodOverload,
    0x0000_0480,  # good, with the overflow bits set
]
status_codes = st.one_of(
    st.sampled_from(KNOWN_CODES),
    st.integers(min_value=0, max_value=2**32 - 1),
)
stamps = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(1601, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.datetimes(
        min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.timezones()
    ),
)


def _variant(value: Any, vtype: ua.VariantType | None) -> ua.Variant | None:
    """asyncua's own Variant for the value, or None when asyncua itself refuses to build one."""
    try:
        return ua.Variant(value) if vtype is None else ua.Variant(value, vtype)
    except Exception:
        return None


@st.composite
def data_values(draw: st.DrawFn) -> ua.DataValue:
    """A DataValue as asyncua may hand one over: any value and variant type, status and time stamps."""
    variant = _variant(draw(values), draw(st.one_of(st.none(), variant_types)))
    return ua.DataValue(
        variant,
        StatusCode=ua.StatusCode(draw(status_codes)),
        SourceTimestamp=draw(stamps),
        ServerTimestamp=draw(stamps),
    )


handles = st.one_of(st.integers(min_value=1, max_value=len(PLANS)), st.integers(0, 2**32 - 1))

FITTING = {
    DataType.BOOL: (st.booleans(), ua.VariantType.Boolean),
    DataType.INT16: (st.integers(-(2**15), 2**15 - 1), ua.VariantType.Int16),
    DataType.UINT16: (st.integers(0, 2**16 - 1), ua.VariantType.UInt16),
    DataType.INT32: (st.integers(-(2**31), 2**31 - 1), ua.VariantType.Int32),
    DataType.UINT32: (st.integers(0, 2**32 - 1), ua.VariantType.UInt32),
    DataType.INT64: (st.integers(-(2**63), 2**63 - 1), ua.VariantType.Int64),
    DataType.UINT64: (st.integers(0, 2**64 - 1), ua.VariantType.UInt64),
    DataType.FLOAT32: (st.floats(width=32), ua.VariantType.Float),
    DataType.FLOAT64: (st.floats(), ua.VariantType.Double),
    DataType.STRING: (st.text(max_size=30), ua.VariantType.String),
}


@st.composite
def fitting_items(draw: st.DrawFn) -> tuple[int, ua.DataValue]:
    """A well-formed notification for one of the tags: its own type and a plausible status and time."""
    handle = draw(st.integers(min_value=1, max_value=len(PLANS)))
    value, vtype = FITTING[TYPES[handle - 1]]
    stamp = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=draw(st.integers(0, 60)))
    code = draw(
        st.sampled_from([0, ua.StatusCodes.UncertainLastUsableValue, ua.StatusCodes.BadSensorFailure])
    )
    return handle, ua.DataValue(
        ua.Variant(draw(value), vtype), StatusCode=ua.StatusCode(code), SourceTimestamp=stamp
    )


items = st.one_of(st.tuples(handles, data_values()), fitting_items())


# --- the path under test ---


class Published:
    """Every sample the router publishes, by tag; link errors it reports."""

    def __init__(self) -> None:
        self.samples: list[tuple[str, Sample]] = []
        self.link_errors: list[str] = []

    def publish(self, tag: str, sample: Sample) -> None:
        self.samples.append((tag, sample))

    def link_error(self, why: str) -> None:
        self.link_errors.append(why)


def _router() -> tuple[NotificationRouter, Published, NotificationCounters]:
    published, counters = Published(), NotificationCounters()
    router = NotificationRouter(PLANS, published.publish, published.link_error, counters, TAG_TYPES)
    return router, published, counters


def _assert_sound(published: Published) -> None:
    for tag, sample in published.samples:
        data_type = TAG_TYPES[tag]
        assert isinstance(sample.ts, float) and math.isfinite(sample.ts), (tag, sample)
        if sample.quality is not Quality.BAD:
            assert type_mismatch(sample.value, data_type) is None, (tag, sample)
        else:
            assert sample.value is None or type_mismatch(sample.value, data_type) is None, (tag, sample)


@FUZZ
@given(st.lists(items, min_size=1, max_size=20))
def test_any_data_value_is_published_soundly_or_counted(items: list[tuple[int, ua.DataValue]]) -> None:
    router, published, counters = _router()
    for handle, value in items:
        router.deliver(ua.MonitoredItemNotification(ClientHandle=handle, Value=value))
    _assert_sound(published)
    routed = sum(1 for handle, _ in items if 1 <= handle <= len(PLANS))
    assert len(published.samples) == routed, "every routed notification is published, once"
    assert counters.received == len(items) and counters.unrouted == len(items) - routed


class _NoSession:
    """Stands in for an asyncua session: ``take`` only reads messages, it never calls the session."""


def _message(items: list[tuple[int, ua.DataValue]], status: int) -> ua.NotificationMessage:
    notifications: list[Any] = [
        ua.DataChangeNotification(
            MonitoredItems=[ua.MonitoredItemNotification(ClientHandle=h, Value=v) for h, v in items]
        ),
        ua.StatusChangeNotification(Status=ua.StatusCode(status)),
    ]
    return ua.NotificationMessage(
        SequenceNumber=7, PublishTime=dt.datetime(2026, 1, 1), NotificationData=notifications
    )


def _encodable(value: ua.DataValue) -> bool:
    try:
        struct_to_binary(value)
    except Exception:
        return False
    return True


damage = st.lists(
    st.tuples(
        st.sampled_from(["flip", "cut", "insert", "truncate"]),
        st.integers(0, 10_000),
        st.binary(min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=4,
)


def _damaged(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    buffer = bytearray(data)
    for kind, position, noise in edits:
        at = position % max(len(buffer), 1)
        if kind == "flip" and buffer:
            buffer[at] ^= noise[0] or 0xFF
        elif kind == "cut":
            del buffer[at : at + len(noise)]
        elif kind == "insert":
            buffer[at:at] = noise
        else:
            del buffer[at:]
    return bytes(buffer)


@FUZZ
@given(st.lists(items, min_size=1, max_size=8), status_codes, damage)
def test_a_damaged_publish_response_is_decoded_by_asyncua_or_refused_never_misread(
    items: list[tuple[int, ua.DataValue]], status: int, edits: list[tuple[str, int, bytes]]
) -> None:
    items = [(handle, value) for handle, value in items if _encodable(value)]
    wire = _damaged(struct_to_binary(_message(items, status)), edits)
    try:
        message = struct_from_binary(ua.NotificationMessage, Buffer(wire))
    except Exception:
        return
    router, published, _ = _router()
    subscription = SessionSubscription(_NoSession(), 1000.0, router, lambda: None)  # type: ignore[arg-type]
    subscription.take(message)
    _assert_sound(published)
    assert all(isinstance(why, str) and why for why in published.link_errors)


@FUZZ
@given(st.sampled_from(TYPES), values)
def test_the_type_check_itself_never_raises_and_accepts_only_the_tag_type(
    data_type: DataType, value: Any
) -> None:
    why = type_mismatch(value, data_type)
    if why is not None:
        assert isinstance(why, str) and why
        return
    if data_type is DataType.BOOL:
        assert isinstance(value, bool)
    elif data_type is DataType.STRING:
        assert isinstance(value, str)
    else:
        assert isinstance(value, int | float) and not isinstance(value, bool)
        assert not (data_type.is_integer and isinstance(value, float))


def test_the_strategies_reach_every_kind_of_outcome() -> None:
    """The fuzz is not vacuous: good values of each type, mismatches and bad statuses all occur."""
    router, published, counters = _router()
    for handle, data_type in enumerate(TYPES, start=1):
        good = {DataType.BOOL: True, DataType.STRING: "ok", DataType.FLOAT32: 1.5, DataType.FLOAT64: 2.5}
        value = good.get(data_type, 7)
        router.deliver(
            ua.MonitoredItemNotification(ClientHandle=handle, Value=ua.DataValue(ua.Variant(value)))
        )
        router.deliver(
            ua.MonitoredItemNotification(ClientHandle=handle, Value=ua.DataValue(ua.Variant([1, 2])))
        )
        router.deliver(
            ua.MonitoredItemNotification(ClientHandle=handle, Value=ua.DataValue(ua.Variant(uuid.uuid4())))
        )
    qualities = [sample.quality for _, sample in published.samples]
    assert qualities.count(Quality.GOOD) == len(TYPES)
    assert qualities.count(Quality.BAD) == 2 * len(TYPES)
    assert counters.type_mismatches == 2 * len(TYPES)
    _assert_sound(published)
