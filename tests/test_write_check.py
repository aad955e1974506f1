import math

import pytest

from hmi.core.write_check import coerce_for_write
from hmi.model import DataType, TagDef, WriteError


def tag(type_=DataType.UINT16, **kw):
    return TagDef(name="P.SP", connection="plc1", address="hr:10", type=type_, writable=True, **kw)


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        (DataType.UINT16, "1200", 1200),
        (DataType.UINT16, 1200.0, 1200),
        (DataType.INT16, "-5", -5),
        (DataType.FLOAT32, "12,5", 12.5),
        (DataType.BOOL, "on", True),
        (DataType.BOOL, 0, False),
        (DataType.STRING, 42, "42"),
    ],
)
def test_values_are_coerced_to_the_tag_type(type_, value, expected):
    result = coerce_for_write(tag(type_), value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("definition", "value", "reason"),
    [
        (tag(limits=(0, 1500)), 1501, "outside the limits"),
        (tag(), "fast", "not a number"),
        (tag(), 1.5, "not a whole number"),
        (tag(), -1, "does not fit uint16"),
        (tag(DataType.INT16), 40000, "does not fit int16"),
        (tag(DataType.FLOAT64), math.nan, "not a finite number"),
        (tag(DataType.FLOAT64), "inf", "not a finite number"),
        (tag(DataType.BOOL), "maybe", "not on/off"),
        (tag(DataType.FLOAT64), True, "expected a number"),
        (TagDef(name="P.SP", connection="plc1", address="hr:10"), 1, "read-only"),
    ],
)
def test_unsafe_values_never_reach_a_driver(definition, value, reason):
    with pytest.raises(WriteError, match=reason) as caught:
        coerce_for_write(definition, value)
    assert str(caught.value).startswith("P.SP:")
