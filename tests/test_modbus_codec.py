"""Registers to typed values and back, for every type and byte order."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus_address import register_count
from drivers.modbus_codec import (
    as_bool,
    bytes_to_registers,
    decode,
    decode_bit,
    encode,
    integer_range,
    registers_to_bytes,
    with_bit,
)
from drivers.settings import BYTE_ORDERS
from hmi.model import DataType

INTEGER_TYPES = [t for t in DataType if t.is_integer]
byte_orders = st.sampled_from(BYTE_ORDERS)


@st.composite
def integer_values(draw: st.DrawFn) -> tuple[DataType, int]:
    data_type = draw(st.sampled_from(INTEGER_TYPES))
    low, high = integer_range(data_type)
    return data_type, draw(st.integers(low, high))


@given(integer_values(), byte_orders)
def test_integers_round_trip(typed: tuple[DataType, int], byte_order: str) -> None:
    data_type, value = typed
    registers = encode(value, data_type, byte_order)
    assert len(registers) == register_count(data_type)
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode(registers, data_type, byte_order) == value


@given(st.floats(width=32), byte_orders)
def test_float32_round_trips_to_the_same_registers(value: float, byte_order: str) -> None:
    registers = encode(value, DataType.FLOAT32, byte_order)
    decoded = decode(registers, DataType.FLOAT32, byte_order)
    assert encode(decoded, DataType.FLOAT32, byte_order) == registers
    assert struct.pack(">f", decoded) == struct.pack(">f", value)


@pytest.mark.parametrize("value", [0.1, 42.1, -1234.5, 1e-07, 3.4e38, 123.456, 0.0, -0.0])
def test_float32_reads_back_as_the_decimal_written(value: float) -> None:
    assert decode(encode(value, DataType.FLOAT32), DataType.FLOAT32) == value


def test_float32_precision_limits_stay_visible() -> None:
    assert decode(encode(16777217.0, DataType.FLOAT32), DataType.FLOAT32) == 16777216.0
    assert math.isnan(decode(encode(math.nan, DataType.FLOAT32), DataType.FLOAT32))


@given(st.floats(), byte_orders)
def test_float64_round_trips_bit_for_bit(value: float, byte_order: str) -> None:
    decoded = decode(encode(value, DataType.FLOAT64, byte_order), DataType.FLOAT64, byte_order)
    assert struct.pack(">d", decoded) == struct.pack(">d", value)


@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), _latin1_text(n))), byte_orders)
def test_strings_round_trip(sized: tuple[int, str], byte_order: str) -> None:
    length, text = sized
    registers = encode(text, DataType.STRING, byte_order, length)
    assert len(registers) == (length + 1) // 2
    assert decode(registers, DataType.STRING, byte_order, length) == text


def _latin1_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=max_size)


@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=8), byte_orders)
def test_register_byte_layout_is_an_involution(registers: list[int], byte_order: str) -> None:
    assert bytes_to_registers(registers_to_bytes(registers, byte_order), byte_order) == registers


@given(st.integers(0, 0xFFFF), st.integers(0, 15), st.booleans())
def test_setting_a_bit_changes_only_that_bit(register: int, bit: int, value: bool) -> None:
    updated = with_bit(register, bit, value)
    assert decode_bit(updated, bit) is value
    assert updated & ~(1 << bit) == register & ~(1 << bit)
    assert 0 <= updated <= 0xFFFF


# Known layouts of 123.456 as float32 (bytes 42 F6 E9 79), as device manuals print them.
@pytest.mark.parametrize(
    ("byte_order", "registers"),
    [
        ("ABCD", [0x42F6, 0xE979]),
        ("CDAB", [0xE979, 0x42F6]),
        ("BADC", [0xF642, 0x79E9]),
        ("DCBA", [0x79E9, 0xF642]),
    ],
)
def test_float32_layouts_match_device_manuals(byte_order: str, registers: list[int]) -> None:
    assert encode(123.456, DataType.FLOAT32, byte_order) == registers
    assert math.isclose(decode(registers, DataType.FLOAT32, byte_order), 123.456, rel_tol=1e-6)


@pytest.mark.parametrize(
    ("byte_order", "registers"),
    [
        ("ABCD", [0x0102, 0x0304, 0x0506, 0x0708]),
        ("CDAB", [0x0708, 0x0506, 0x0304, 0x0102]),
        ("BADC", [0x0201, 0x0403, 0x0605, 0x0807]),
        ("DCBA", [0x0807, 0x0605, 0x0403, 0x0201]),
    ],
)
def test_64_bit_layouts(byte_order: str, registers: list[int]) -> None:
    assert decode(registers, DataType.UINT64, byte_order) == 0x0102030405060708


def test_16_bit_values_only_feel_the_byte_swap() -> None:
    assert encode(0x1234, DataType.UINT16, "CDAB") == [0x1234]
    assert encode(0x1234, DataType.UINT16, "BADC") == [0x3412]
    assert decode([0xFFFE], DataType.INT16, "ABCD") == -2


def test_string_first_character_in_the_high_byte_unless_bytes_swap() -> None:
    assert encode("ABC", DataType.STRING, "ABCD", 4) == [0x4142, 0x4300]
    assert encode("ABC", DataType.STRING, "CDAB", 4) == [0x4142, 0x4300]
    assert encode("ABC", DataType.STRING, "BADC", 4) == [0x4241, 0x0043]
    assert decode([0x4142, 0x0043], DataType.STRING, "ABCD", 4) == "AB"  # NUL ends the text


@pytest.mark.parametrize(
    ("value", "data_type", "message"),
    [
        (70000, DataType.UINT16, "outside the range of uint16"),
        (-1, DataType.UINT32, "outside the range of uint32"),
        (2**63, DataType.INT64, "outside the range of int64"),
        (1.5, DataType.INT16, "whole number"),
        (True, DataType.INT16, "needs a number"),
        ("7", DataType.FLOAT32, "needs a number"),
        (1e39, DataType.FLOAT32, "outside the range of float32"),
        ("toolong", DataType.STRING, "longer than the 4 characters"),
        ("a\0b", DataType.STRING, "NUL"),
        ("€", DataType.STRING, "Latin-1"),
        (5, DataType.STRING, "needs text"),
    ],
)
def test_values_that_do_not_fit_are_refused_with_the_reason(
    value: object, data_type: DataType, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode(value, data_type, "ABCD", 4)  # type: ignore[arg-type]


def test_whole_floats_are_accepted_for_integers() -> None:
    assert encode(12.0, DataType.INT16) == [12]


def test_unknown_byte_order_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown byte order 'ABDC'"):
        encode(1, DataType.INT32, "ABDC")


def test_wrong_register_count_is_refused() -> None:
    with pytest.raises(ValueError, match="float32 needs 2 registers, got 1"):
        decode([1], DataType.FLOAT32)


def test_bools_accept_true_false_and_0_1_only() -> None:
    assert as_bool(True) is True
    assert as_bool(0) is False
    assert as_bool(1.0) is True
    with pytest.raises(ValueError, match="true/false or 0/1"):
        as_bool(2)


@pytest.mark.parametrize("byte_order", BYTE_ORDERS)
@pytest.mark.parametrize(
    ("value", "data_type"),
    [(2**60 + 1, DataType.INT64), (-(2**63) + 1, DataType.INT64), (2**64 - 1, DataType.UINT64)],
)
def test_64_bit_integers_never_go_through_a_float(value: int, data_type: DataType, byte_order: str) -> None:
    registers = encode(value, data_type, byte_order)
    raw = registers_to_bytes(registers, byte_order)
    assert int.from_bytes(raw, "big", signed=data_type is DataType.INT64) == value
    decoded = decode(registers, data_type, byte_order)
    assert decoded == value and type(decoded) is int


def test_a_float_past_2_53_is_refused_for_an_integer_type() -> None:
    assert encode(float(2**53), DataType.INT64) == encode(2**53, DataType.INT64)
    with pytest.raises(ValueError, match="needs an exact integer"):
        encode(float(2**60), DataType.INT64)
