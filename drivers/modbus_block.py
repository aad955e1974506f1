"""Whole-block decoding: one read block's response decoded at once, worked out per block at plan time.

A block's tags are grouped into runs that decode alike (same register type, byte order
and scaling). For each run the word positions of every tag are kept in big-endian order
(word order already applied) as one ``itemgetter``, and its formats as precompiled
``struct`` objects, so that a response decodes with three C calls per run (gather, pack,
unpack) instead of Python work per tag; only the float32 shortest form is a numpy pass.
Change detection compares each tag's raw words, as one unsigned integer, with the previous
read's: only the tags whose words changed are decoded at all. Strings, and scalings that
cannot be computed exactly in integers, are decoded one by one with ``decode_planned``:
the same function, the same values.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import compress
from operator import itemgetter, ne
from typing import Any

import numpy as np

from drivers.modbus_codec import Value
from drivers.modbus_float32 import shortest_float32_array
from drivers.modbus_plan import PlannedTag, ReadBlock
from drivers.modbus_scaling import LinearScale, raw_range
from drivers.modbus_write import decode_planned
from drivers.settings import ModbusTagLink
from hmi.model import DataType, Sample

_WORD_SWAPPED = frozenset({"CDAB", "DCBA"})
_BYTE_SWAPPED = frozenset({"BADC", "DCBA"})
_EXACT = 2**53  # integers below this are exact in a float64
_NUMPY_TYPE = {
    DataType.INT16: ">i2",
    DataType.UINT16: ">u2",
    DataType.INT32: ">i4",
    DataType.UINT32: ">u4",
    DataType.INT64: ">i8",
    DataType.UINT64: ">u8",
    DataType.FLOAT32: ">f4",
    DataType.FLOAT64: ">f8",
}
_STRUCT_CODE = {
    ">i2": "h",
    ">u2": "H",
    ">i4": "i",
    ">u4": "I",
    ">i8": "q",
    ">u8": "Q",
    ">f4": "f",
    ">f8": "d",
}
_UNSIGNED = {1: "H", 2: "I", 4: "Q"}  # a tag's width in words: its raw words as one unsigned integer


@dataclass(frozen=True, slots=True)
class ExactScale:
    """``(raw * numerator + offset) / denominator`` in integers: one correctly rounded float division.

    Equal to ``LinearScale.to_engineering`` when every numerator fits a float64 exactly.
    """

    numerator: int
    offset: int
    denominator: int

    @classmethod
    def of(cls, scale: LinearScale, raw_type: DataType) -> ExactScale | None:
        """The integer form of ``scale`` over ``raw_type``'s range, or None when it may not be exact."""
        gain, offset = Fraction(scale.gain), Fraction(scale.offset)
        denominator = gain.denominator * offset.denominator
        numerator = gain.numerator * offset.denominator
        shift = offset.numerator * gain.denominator
        low, high = raw_range(raw_type)
        biggest = max(abs(low), abs(high)) * abs(numerator) + abs(shift)
        if biggest >= _EXACT or denominator >= _EXACT:
            return None
        return cls(numerator, shift, denominator)

    def apply(self, raw: np.ndarray) -> list[float]:
        """The engineering values of raw integers."""
        numerators = raw.astype(np.int64) * self.numerator + self.offset
        return (numerators.astype(np.float64) / float(self.denominator)).tolist()


class DecodeRun:
    """Tags of one block that decode alike, with the C-level steps worked out for them once.

    ``gather`` picks the run's words (or bits) from a response in one call; for a number run they
    are packed to bytes in the value's big-endian order (a byte swap is a little-endian pack) and
    unpacked twice with precompiled formats: as unsigned integers of the tag's width (what change
    detection compares, exact even for a NaN) and as the tag's type.
    """

    def __init__(self, kind: str, block: ReadBlock, members: list[int], key: tuple) -> None:
        self.kind = kind
        """``number``, ``register_bit``, ``bit`` (coil or discrete input) or ``one_by_one``."""
        self.tags: tuple[int, ...] = tuple(members)
        """Indices of the run's tags in the block's ``tags``."""
        self.names: tuple[str, ...] = tuple(block.tags[i].tag.name for i in members)
        self.planned: tuple[PlannedTag, ...] = tuple(block.tags[i] for i in members)
        self.spans = tuple((p.start - block.start, p.end - block.start) for p in self.planned)
        offsets = [o for p in self.planned for o in _word_offsets(block, p, key)]
        self.gather: Callable[[Sequence[Any]], tuple[Any, ...]] = _getter(offsets)
        self.numpy_type = ""
        self.scale: ExactScale | None = None
        self.bits: tuple[int, ...] = ()
        if kind == "register_bit":
            self.bits = tuple(int(p.address.bit or 0) for p in self.planned)
        if kind == "number":
            _, self.numpy_type, swap_bytes, self.scale, _word_swapped = key
            count, width = len(members), len(offsets) // len(members)
            self.pack = struct.Struct(f"{'<' if swap_bytes else '>'}{len(offsets)}H").pack
            self.unpack_raw = struct.Struct(f">{count}{_UNSIGNED[width]}").unpack
            self.unpack_typed = struct.Struct(f">{count}{_STRUCT_CODE[self.numpy_type]}").unpack

    def read(self, data: Sequence[Any]) -> tuple[Any, tuple[Any, ...]]:
        """What decoding needs from a response (bytes for a number run) and the per-tag raw key."""
        if self.kind == "number":
            packed = self.pack(*self.gather(data))
            return packed, self.unpack_raw(packed)
        if self.kind == "one_by_one":
            spans = tuple(tuple(data[start:end]) for start, end in self.spans)
            return spans, spans
        picked = self.gather(data)
        return picked, picked

    def decode(self, packed: Any, chosen: list[int] | None, decoded: DecodedTags) -> None:
        """Append the values of the run's tags ``chosen`` selects (local indices; all when None)."""
        if self.kind == "one_by_one":
            for local in range(len(self.tags)) if chosen is None else chosen:
                try:
                    value = decode_planned(self.planned[local], list(packed[local]))
                except ValueError as exc:
                    decoded.failures.append((self.tags[local], str(exc)))
                    continue
                decoded.indices.append(self.tags[local])
                decoded.names.append(self.names[local])
                decoded.values.append(value)
            return
        if chosen is None:
            decoded.indices.extend(self.tags)
            decoded.names.extend(self.names)
            decoded.values.extend(self._values(packed, None))
            return
        tags, names = self.tags, self.names
        decoded.indices.extend([tags[i] for i in chosen])
        decoded.names.extend([names[i] for i in chosen])
        decoded.values.extend(self._values(packed, chosen))

    def _values(self, packed: Any, chosen: list[int] | None) -> list[Any]:
        if self.kind == "bit":
            return list(packed) if chosen is None else [packed[i] for i in chosen]
        if self.kind == "register_bit":
            words, bits = packed, self.bits
            if chosen is None:
                return [(word >> bit) & 1 == 1 for word, bit in zip(words, bits, strict=True)]
            return [(words[i] >> bits[i]) & 1 == 1 for i in chosen]
        if self.numpy_type == ">f4":
            floats = np.frombuffer(packed, dtype=">f4")
            return shortest_float32_array(floats if chosen is None else floats[chosen])
        typed = self.unpack_typed(packed)
        picked = list(typed) if chosen is None else [typed[i] for i in chosen]
        if self.scale is not None:
            return self.scale.apply(np.array(picked, dtype=np.int64))
        return picked


@dataclass(frozen=True, slots=True)
class DecodedTags:
    """What a block's read decoded to: per tag its index in the block, name and value; and the failures
    (a tag's index and why it could not be decoded)."""

    indices: list[int]
    names: list[str]
    values: list[Value]
    failures: list[tuple[int, str]]


@dataclass(frozen=True, slots=True)
class BlockWords:
    """One response as the block's runs see it: per run what decoding needs and the per-tag raw keys."""

    packed: list[Any]
    raws: list[tuple[Any, ...]]


@dataclass(slots=True)
class BlockRead:
    """A block's last good read: its words, when it was read (monotonic s), the sample kept per tag."""

    words: BlockWords
    data: Sequence[int] | Sequence[bool]
    """The response's values as pymodbus gave them: compared in C first, the common case of a steady block."""
    read_at: float
    samples: list[Sample | None]


class BlockCodec:
    """Decodes the responses of one read block; built once per block."""

    def __init__(self, block: ReadBlock) -> None:
        self.block = block
        self.names: tuple[str, ...] = tuple(planned.tag.name for planned in block.tags)
        """The block's tag names, one tuple for the block's life (what its refresh reports)."""
        self.runs = _runs(block)

    def words_of(self, data: Sequence[int] | Sequence[bool]) -> BlockWords:
        """The block's part of a response (already checked to be long enough), per run."""
        packed, raws = [], []
        for run in self.runs:
            taken, raw = run.read(data)
            packed.append(taken)
            raws.append(raw)
        return BlockWords(packed, raws)

    def changed(self, words: BlockWords, previous: BlockWords) -> np.ndarray:
        """Per tag, whether any of its words (its bit, for a bit) differs from the previous read's."""
        verdict = np.zeros(len(self.names), dtype=np.bool_)
        for run, raw, old in zip(self.runs, words.raws, previous.raws, strict=True):
            if raw != old:
                local = _differing(raw, old)
                verdict[[run.tags[i] for i in local]] = True
        return verdict

    def decode(self, words: BlockWords, previous: BlockWords | None = None) -> DecodedTags:
        """The values of the tags whose words differ from ``previous`` (all when None), with the failures."""
        decoded = DecodedTags([], [], [], [])
        for index, run in enumerate(self.runs):
            chosen: list[int] | None = None
            if previous is not None:
                raw, old = words.raws[index], previous.raws[index]
                if raw == old:  # the common case of a run that did not move: one comparison in C
                    continue
                chosen = _differing(raw, old)
                if len(chosen) == len(raw):
                    chosen = None
            run.decode(words.packed[index], chosen, decoded)
        return decoded


def _differing(raw: tuple[Any, ...], old: tuple[Any, ...]) -> list[int]:
    """The positions where two runs' raw keys differ, found at C speed."""
    return list(compress(range(len(raw)), map(ne, raw, old)))


def _getter(offsets: list[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    if len(offsets) == 1:
        only = offsets[0]
        return lambda data: (data[only],)
    return itemgetter(*offsets)


def _runs(block: ReadBlock) -> tuple[DecodeRun, ...]:
    """Group a block's tags by how they decode; each group's steps are worked out once here."""
    groups: dict[tuple, list[int]] = {}
    for index, planned in enumerate(block.tags):
        groups.setdefault(_run_key(planned), []).append(index)
    return tuple(DecodeRun(key[0], block, members, key) for key, members in groups.items())


def _run_key(planned: PlannedTag) -> tuple:
    address, tag = planned.address, planned.tag
    if address.table.is_bit:
        return ("bit",)
    if address.bit is not None:
        return ("register_bit",)
    link = ModbusTagLink.of(tag.link)
    data_type = link.register_type(tag.type)
    numpy_type = _NUMPY_TYPE.get(data_type)
    if numpy_type is None:  # strings
        return ("one_by_one",)
    scale = None
    if link.scale is not None:
        scale = ExactScale.of(link.scale, data_type)
        if scale is None:
            return ("one_by_one",)
    return ("number", numpy_type, link.byte_order in _BYTE_SWAPPED, scale, link.byte_order in _WORD_SWAPPED)


def _word_offsets(block: ReadBlock, planned: PlannedTag, key: tuple) -> list[int]:
    """A tag's word offsets in the block, most significant first (its word order undone)."""
    first = planned.start - block.start
    offsets = list(range(first, first + planned.count))
    if key[0] == "number" and key[4]:
        offsets.reverse()
    return offsets
