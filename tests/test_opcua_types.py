"""OPC UA values of the wrong type for their tag are BAD (config error), never coerced to text or numbers.

One real asyncua server holds a node of each kind of value; tags of every type subscribe to
them. A value that fits its tag's type arrives GOOD, as the tag's type; every other pair is
BAD with reason config error, and the diagnostics count it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from asyncua import ua
from hypothesis import given
from hypothesis import strategies as st
from opcua_server import opcua_test_server
from waiting import SampleLog, wait_for

from drivers.base import Backoff
from drivers.opcua import OpcUaDriver
from drivers.opcua_values import type_mismatch
from drivers.settings import OpcUaSettings
from hmi.model import DataType, Quality, Reason, TagDef

# Node name -> (variant type, value the server holds).
NODES: dict[str, tuple[ua.VariantType, Any]] = {
    "Double": (ua.VariantType.Double, 21.5),
    "Float": (ua.VariantType.Float, 2.5),
    "BigDouble": (ua.VariantType.Double, 1e300),
    "Int32": (ua.VariantType.Int32, 70000),
    "Int16": (ua.VariantType.Int16, -5),
    "UInt64": (ua.VariantType.UInt64, 2**60 + 1),
    "Boolean": (ua.VariantType.Boolean, True),
    "String": (ua.VariantType.String, "hello"),
    "NumericText": (ua.VariantType.String, "42.0"),
    "DoubleArray": (ua.VariantType.Double, [1.0, 2.0, 3.0]),
    "Null": (ua.VariantType.Null, None),
    "DateTime": (ua.VariantType.DateTime, None),  # a datetime, not a number
    "ByteString": (ua.VariantType.ByteString, b"\x01\x02"),
}

# (tag type, node) -> the value the tag must show; every pair not listed: BAD, config error. An integer
# fits any integer tag whose range holds it, and a float tag while exact; 70000 fits no 16-bit tag,
# -5 no unsigned one, 1e300 no float32, a float no integer tag.
FITS: dict[tuple[DataType, str], Any] = {
    (DataType.FLOAT64, "Double"): 21.5,
    (DataType.FLOAT64, "Float"): 2.5,
    (DataType.FLOAT64, "BigDouble"): 1e300,
    (DataType.FLOAT64, "Int32"): 70000.0,
    (DataType.FLOAT64, "Int16"): -5.0,
    (DataType.FLOAT32, "Float"): 2.5,
    (DataType.FLOAT32, "Double"): 21.5,
    (DataType.INT32, "Int32"): 70000,
    (DataType.INT32, "Int16"): -5,
    (DataType.INT16, "Int16"): -5,
    (DataType.INT64, "Int32"): 70000,
    (DataType.INT64, "Int16"): -5,
    (DataType.INT64, "UInt64"): 2**60 + 1,
    (DataType.UINT64, "Int32"): 70000,
    (DataType.UINT32, "Int32"): 70000,
    (DataType.FLOAT32, "Int32"): 70000.0,
    (DataType.FLOAT32, "Int16"): -5.0,
    (DataType.UINT64, "UInt64"): 2**60 + 1,
    (DataType.BOOL, "Boolean"): True,
    (DataType.STRING, "String"): "hello",
    (DataType.STRING, "NumericText"): "42.0",
}
TYPES = list(DataType)
PAIRS = [(data_type, node) for data_type in TYPES for node in NODES]


def tag_name(data_type: DataType, node: str) -> str:
    return f"{data_type.value}.{node}"


class Recorder(SampleLog):
    """Every sample per tag, with the questions this test asks of the newest."""

    def settled(self, name: str) -> bool:
        sample = self.last(name)
        return sample is not None and sample.reason is not Reason.WAITING


async def test_every_value_fits_its_tag_type_or_is_bad(free_port: Callable[[], int], caplog: Any) -> None:
    async with opcua_test_server(free_port()) as server:
        addresses = {}
        for node, (vtype, value) in NODES.items():
            if vtype is ua.VariantType.DateTime:
                addresses[node] = await server.add_variable(node, dt.datetime.now(dt.UTC), vtype)
            elif vtype is ua.VariantType.Null:
                # A variable whose value is the null Variant, as a server shows an uninitialised one.
                addresses[node] = server.node_id(node)
                await server.server.nodes.objects.add_variable(
                    ua.NodeId.from_string(addresses[node]), node, ua.Variant(None, ua.VariantType.Null)
                )
            else:
                addresses[node] = await server.add_variable(node, value, vtype)
        tags = [
            TagDef(tag_name(data_type, node), "ua1", addresses[node], data_type, scan_period=0.1)
            for data_type, node in PAIRS
        ]
        recorder = Recorder()
        driver = OpcUaDriver(
            "ua1",
            OpcUaSettings(server.endpoint, timeout=2.0),
            tags,
            recorder.on_sample,
            lambda status: None,
            Backoff(initial=0.2, maximum=1.0),
        )
        with caplog.at_level(logging.ERROR, logger="drivers.opcua_subscriptions"):
            await driver.start()
            try:
                await wait_for(lambda: all(recorder.settled(t.name) for t in tags))
                mismatches = driver.diagnostics()["type_mismatches"]
            finally:
                await driver.stop()

    wrong = []
    for data_type, node in PAIRS:
        name = tag_name(data_type, node)
        starting = (Reason.WAITING, Reason.NOT_CONNECTED)
        samples = [s for s in recorder.samples[name] if s.reason not in starting]
        expected = FITS.get((data_type, node))
        if expected is None:
            if any(s.quality is not Quality.BAD or s.reason is not Reason.CONFIG_ERROR for s in samples):
                wrong.append((name, samples))
        else:
            last = samples[-1]
            if not (last.is_good and last.value == expected and type(last.value) is type(expected)):
                wrong.append((name, samples))
    assert not wrong, [(name, [(s.quality.name, s.value) for s in samples]) for name, samples in wrong]
    assert mismatches == sum(1 for pair in PAIRS if pair not in FITS)
    assert "tag float64.String: type mismatch: a string 'hello' for a float64 tag" in caplog.text
    assert "tag float64.DoubleArray: type mismatch: an array of 3 values" in caplog.text


@given(
    st.sampled_from(TYPES),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.binary(max_size=5),
        st.lists(st.floats(), max_size=3),
    ),
)
def test_a_value_is_accepted_only_in_its_own_kind_of_tag(data_type: DataType, value: Any) -> None:
    """Over the class: text only in string tags, bools only in bool tags, numbers only in number tags
    (integers in range in integer tags; floats never in integer tags), never null or arrays."""
    accepted = type_mismatch(value, data_type) is None
    if value is None or isinstance(value, list | bytes):
        assert not accepted
    elif isinstance(value, bool):
        assert accepted == (data_type is DataType.BOOL)
    elif isinstance(value, str):
        assert accepted == (data_type is DataType.STRING)
    elif data_type in (DataType.BOOL, DataType.STRING) or (isinstance(value, float) and data_type.is_integer):
        assert not accepted
    elif isinstance(value, int) and data_type.is_integer:
        bits = int(data_type.value.lstrip("uint"))
        signed = not data_type.value.startswith("u")
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        assert accepted == (low <= value <= high)
