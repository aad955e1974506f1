"""Whole-block decoding gives, tag for tag, exactly the values of the one-by-one decode it replaces."""

from __future__ import annotations

import math
import random
import struct

import numpy as np

from drivers.modbus_block import BlockCodec, ExactScale
from drivers.modbus_codec import shortest_float32
from drivers.modbus_float32 import shortest_float32_array
from drivers.modbus_plan import ModbusPollPlan, ReadBlock
from drivers.modbus_scaling import LinearScale
from drivers.modbus_write import decode_planned
from drivers.settings import BYTE_ORDERS, ModbusTagLink
from hmi.model import DataType, TagDef

WIDE_TYPES = (
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.INT64,
    DataType.UINT64,
    DataType.FLOAT32,
    DataType.FLOAT64,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


def _mixed_tags() -> list[TagDef]:
    """Every register type in every byte order, register bits, strings and scaled integers, packed."""
    tags, address = [], 0
    for data_type in WIDE_TYPES:
        for order in BYTE_ORDERS:
            link = ModbusTagLink(byte_order=order)
            tags.append(TagDef(f"{data_type.value}_{order}", "plc", f"hr:{address}", data_type, link=link))
            address += {2: 1, 4: 2, 8: 4}[struct.calcsize(">" + data_type_code(data_type))]
    tags.append(TagDef("BIT3", "plc", f"hr:{address}.3", DataType.BOOL))
    tags.append(TagDef("BIT15", "plc", f"hr:{address}.15", DataType.BOOL))
    address += 1
    for order in ("ABCD", "BADC"):
        tags.append(
            TagDef(
                f"TEXT_{order}",
                "plc",
                f"hr:{address}",
                DataType.STRING,
                string_length=5,
                link=ModbusTagLink(byte_order=order),
            )
        )
        address += 3
    scales = (
        LinearScale.from_gain(0.1),
        LinearScale.from_ranges((0, 27648), (-50.0, 150.0)),
        LinearScale.from_gain(1e-3, 273.15),
    )
    for n, scale in enumerate(scales):
        for raw_type in (DataType.INT16, DataType.UINT32, DataType.INT64):
            link = ModbusTagLink(scale=scale, raw_type=raw_type, byte_order="CDAB")
            tags.append(
                TagDef(f"SCALED{n}_{raw_type.value}", "plc", f"hr:{address}", DataType.FLOAT64, link=link)
            )
            address += {DataType.INT16: 1, DataType.UINT32: 2, DataType.INT64: 4}[raw_type]
    tags.append(TagDef("OVERLAP", "plc", "hr:1", DataType.UINT32))  # shares registers with its neighbours
    return tags


def data_type_code(data_type: DataType) -> str:
    return {
        "int16": "h",
        "uint16": "H",
        "int32": "i",
        "uint32": "I",
        "int64": "q",
        "uint64": "Q",
        "float32": "f",
        "float64": "d",
    }[data_type.value]


def _blocks(tags: list[TagDef], max_gap: int = 0) -> list[ReadBlock]:
    plan = ModbusPollPlan.build(tags, max_gap=max_gap)
    assert not plan.rejected, plan.rejected
    return [block for group in plan.groups for block in group.blocks]


def _expected(block: ReadBlock, data: list) -> list:
    return [decode_planned(p, block.span_of(p, data)) for p in block.tags]


def _decoded(codec: BlockCodec, data: list, before: list | None = None) -> dict[int, object]:
    decoded = codec.decode(codec.words_of(data), None if before is None else codec.words_of(before))
    assert not decoded.failures
    assert decoded.names == [codec.names[i] for i in decoded.indices]
    return dict(zip(decoded.indices, decoded.values, strict=True))


def test_every_type_and_byte_order_decodes_as_one_by_one() -> None:
    rng = random.Random(9)
    blocks = _blocks(_mixed_tags())
    assert len(blocks) == 1
    block = blocks[0]
    codec = BlockCodec(block)
    for _ in range(300):  # bounded: random words, then the edges of the ranges
        data = [rng.randrange(65536) for _ in range(block.count)]
        got = _decoded(codec, data)
        for index, value in enumerate(_expected(block, data)):
            assert _same(got[index], value), (block.tags[index].tag.name, data, got[index], value)
    for word in (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x7F80, 0xFF80, 0x7FC0):
        data = [word] * block.count
        got = _decoded(codec, data)
        for index, value in enumerate(_expected(block, data)):
            assert _same(got[index], value), (block.tags[index].tag.name, word)


def test_only_tags_whose_words_changed_are_decoded() -> None:
    block = _blocks(_mixed_tags())[0]
    codec = BlockCodec(block)
    before = [7] * block.count
    after = list(before)
    after[1] = 8  # OVERLAP (hr:1-2) and the uint16/int16 tags around it own this register
    changed = codec.changed(codec.words_of(after), codec.words_of(before))
    owners = {p.tag.name for p in block.tags if p.start <= 1 < p.end}
    assert {block.tags[i].tag.name for i in np.flatnonzero(changed)} == owners
    got = _decoded(codec, after, before)
    assert {block.tags[i].tag.name for i in got} == owners
    assert not codec.changed(codec.words_of(before), codec.words_of(before)).any()


def test_coils_decode_as_bools() -> None:
    tags = [TagDef(f"C{i}", "plc", f"co:{i * 3}", DataType.BOOL) for i in range(40)]
    (block,) = _blocks(tags, max_gap=1)
    codec = BlockCodec(block)
    data = [bool(i % 5 == 0) for i in range(block.count)] + [False] * 7  # padded to whole bytes
    got = _decoded(codec, data)
    assert [got[i] for i in range(len(tags))] == _expected(block, data)
    assert all(type(v) is bool for v in got.values())


def test_scaling_is_exact_or_left_to_fractions() -> None:
    scale = LinearScale.from_gain(0.1, 0.3)
    exact = ExactScale.of(scale, DataType.INT32)
    assert exact is not None
    raws = np.array([-(2**31), -621, 0, 1, 621, 2**31 - 1], dtype=np.int64)
    assert exact.apply(raws) == [scale.to_engineering(int(r)) for r in raws]
    assert ExactScale.of(scale, DataType.UINT64) is None, "past 2**53 the fraction path decides"


def test_float32_shortest_form_array_equals_the_scalar_one() -> None:
    rng = np.random.default_rng(3)
    patterns = rng.integers(0, 2**32, 20_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    plant = (rng.integers(-100_000, 100_000, 20_000) / 100).astype(np.float32)
    edges = np.array(
        [
            0.0,
            -0.0,
            0.1,
            42.1,
            1.0,
            10.0,
            1e6,
            1e7,
            9.999999,
            16777216.0,
            3.4e38,
            1e-38,
            1e-45,
            np.inf,
            -np.inf,
            np.nan,
        ],
        dtype=np.float32,
    )
    values = np.concatenate([patterns, plant, edges])
    with np.errstate(invalid="ignore"):
        got = shortest_float32_array(values)
        plain = values.astype(np.float64).tolist()
    assert len(got) == len(values)
    for value, result in zip(plain, got, strict=True):
        assert _same(result, shortest_float32(value)), value
    small = plant[np.abs(plant) < 10_000]  # all below 10**5: the one-branch path
    for value, result in zip(small.astype(np.float64).tolist(), shortest_float32_array(small), strict=True):
        assert _same(result, shortest_float32(value)), value


def test_the_benchmark_measures_the_block_work_of_both_sides() -> None:
    from benchmarks import modbus

    work = modbus._block_work(reads=2)
    assert work["blocks"] == 12
    assert work["ours_us_per_block"] > 0 and work["bare_decode_us_per_block"] > 0


def test_disjoint_tags_are_judged_in_one_step_and_a_gap_costs_at_most_its_neighbour() -> None:
    tags = [
        TagDef("A", "plc", "hr:0", DataType.UINT16),
        TagDef("B", "plc", "hr:1", DataType.FLOAT32),
        TagDef("C", "plc", "hr:5", DataType.UINT16),
        TagDef("D", "plc", "hr:6", DataType.INT32, link=ModbusTagLink(byte_order="CDAB")),
    ]
    (block,) = _blocks(tags, max_gap=4)
    codec = BlockCodec(block)
    before = [1] * block.count

    def verdict(offset: int) -> list[str]:
        after = list(before)
        after[offset] += 1
        changed = codec.changed(codec.words_of(after), codec.words_of(before))
        return [block.tags[i].tag.name for i in np.flatnonzero(changed)]

    assert verdict(0) == ["A"]
    assert verdict(2) == ["B"], "the second word of a float32"
    assert verdict(5) == ["C"]
    assert verdict(7) == ["D"]
    assert verdict(3) in ([], ["B"]), (
        "a word between tags belongs to none: at most the tag before is decoded again"
    )
