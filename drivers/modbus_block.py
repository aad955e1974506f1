"""Whole-block decoding: one read block's response decoded at once, worked out per block at plan time.

A block's tags are grouped into runs that decode alike (same register type, byte order
and scaling). For each run the word positions of every tag are kept as an index matrix
in big-endian order (word order already applied), so that a response decodes with a
handful of numpy operations per run instead of Python work per tag. Change detection
compares a read's raw words with the previous read's: only the tags whose words
changed are decoded at all. Strings, and scalings that numpy cannot compute exactly,
are decoded one by one with ``decode_planned``: the same function, the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
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


@dataclass(frozen=True, slots=True)
class DecodeRun:
    """Tags of one block that decode alike: which they are and where their words sit."""

    kind: str
    """``number`` (a numpy type), ``register_bit``, ``bit`` (coil or discrete input) or ``one_by_one``."""
    tags: np.ndarray
    """Indices of the run's tags in the block's ``tags``."""
    names: np.ndarray
    """The run's tag names (an object array, to pick the changed ones at C speed)."""
    words: np.ndarray
    """Per tag (row), the offsets in the block of its words in big-endian order (or its bit)."""
    numpy_type: str = ""
    swap_bytes: bool = False
    bits: np.ndarray | None = None
    scale: ExactScale | None = None


@dataclass(frozen=True, slots=True)
class DecodedTags:
    """What a block's read decoded to: per tag its index in the block, name and value; and the failures
    (a tag's index and why it could not be decoded)."""

    indices: list[int]
    names: list[str]
    values: list[Value]
    failures: list[tuple[int, str]]


@dataclass(slots=True)
class BlockRead:
    """A block's last good read: its words, when it was read (monotonic s), the sample kept per tag."""

    words: np.ndarray
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
        self.starts = np.array([p.start - block.start for p in block.tags], dtype=np.intp)
        self.ends = self.starts + np.array([p.count for p in block.tags], dtype=np.intp)
        self.runs = _runs(block)
        # Tags one after the other (no two sharing a word): each tag's verdict is one segment of a
        # single reduceat (a gap's word counts for the tag before it: at worst one needless decode).
        self._disjoint = bool(len(self.starts)) and bool(np.all(self.starts[1:] >= self.ends[:-1]))
        self._first = int(self.starts[0]) if len(self.starts) else 0

    def words_of(self, data: Sequence[int] | Sequence[bool]) -> np.ndarray:
        """The block's part of a response (already checked to be long enough) as an array."""
        count = self.block.count
        values = data if len(data) == count else data[:count]
        return np.array(values, dtype=np.bool_ if self.block.table.is_bit else np.uint16)

    def changed(self, words: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Per tag, whether any of its words differs from the previous read's."""
        differs = words != previous
        if self._disjoint:
            return np.logical_or.reduceat(differs[self._first :], self.starts - self._first)
        counts = np.concatenate(([0], np.cumsum(differs)))
        return counts[self.ends] > counts[self.starts]

    def decode(self, words: np.ndarray, which: np.ndarray | None = None) -> DecodedTags:
        """The values of the tags ``which`` selects (all when None), with the failures."""
        decoded = DecodedTags([], [], [], [])
        if which is not None and which.all():
            which = None
        for run in self.runs:
            if which is None:
                tags, names, rows, bits = run.tags, run.names, run.words, run.bits
            else:
                chosen = which[run.tags]
                if not chosen.any():
                    continue
                tags, names, rows = run.tags[chosen], run.names[chosen], run.words[chosen]
                bits = None if run.bits is None else run.bits[chosen]
            if run.kind == "one_by_one":
                self._one_by_one(words, tags.tolist(), decoded)
                continue
            decoded.indices.extend(tags.tolist())
            decoded.names.extend(names.tolist())
            decoded.values.extend(_decode_run(run, words, rows, bits))
        return decoded

    def _one_by_one(self, words: np.ndarray, tags: list[int], decoded: DecodedTags) -> None:
        for index in tags:
            planned = self.block.tags[index]
            span = words[self.starts[index] : self.ends[index]].tolist()
            try:
                value = decode_planned(planned, span)
            except ValueError as exc:
                decoded.failures.append((index, str(exc)))
                continue
            decoded.indices.append(index)
            decoded.names.append(planned.tag.name)
            decoded.values.append(value)


def _decode_run(run: DecodeRun, words: np.ndarray, rows: np.ndarray, bits: np.ndarray | None) -> list[Any]:
    if run.kind == "bit":
        return words[rows[:, 0]].tolist()
    if run.kind == "register_bit":
        assert bits is not None
        return ((words[rows[:, 0]] >> bits) & 1).astype(np.bool_).tolist()
    registers = words[rows]
    if run.swap_bytes:
        registers = registers.byteswap()
    typed = np.ascontiguousarray(registers, dtype=">u2").view(run.numpy_type).ravel()
    if run.numpy_type == ">f4":
        return shortest_float32_array(typed)
    if run.scale is not None:
        return run.scale.apply(typed)
    if run.numpy_type == ">f8":
        return typed.astype(np.float64).tolist()
    return typed.tolist()


def _runs(block: ReadBlock) -> tuple[DecodeRun, ...]:
    """Group a block's tags by how they decode; a group's word matrix is built once here."""
    groups: dict[tuple, list[int]] = {}
    for index, planned in enumerate(block.tags):
        groups.setdefault(_run_key(planned), []).append(index)
    runs = []
    for key, members in groups.items():
        kind = key[0]
        offsets = [_word_offsets(block, block.tags[i], key) for i in members]
        width = max(len(o) for o in offsets)
        rows = np.array([o + [o[-1]] * (width - len(o)) for o in offsets], dtype=np.intp)
        tags = np.array(members, dtype=np.intp)
        names = np.array([block.tags[i].tag.name for i in members], dtype=object)
        if kind == "register_bit":
            bits = np.array([block.tags[i].address.bit for i in members], dtype=np.uint16)
            runs.append(DecodeRun(kind, tags, names, rows, bits=bits))
        elif kind == "number":
            _, numpy_type, swap, scale, _word_swapped = key
            runs.append(DecodeRun(kind, tags, names, rows, numpy_type, swap, scale=scale))
        else:
            runs.append(DecodeRun(kind, tags, names, rows))
    return tuple(runs)


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
