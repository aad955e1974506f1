"""Answers that do not match their request are protocol errors: never decoded, never stored GOOD.

A hostile Modbus TCP server on loopback (a small asyncio server, not pymodbus, so it can
lie on the wire) answers every read in one of the ways a broken device or gateway does:
another transaction id (0, the next, the previous one), another unit, another function
code, a byte count for more or fewer values than asked, more data than the byte count, a
malformed exception, two answers. The honest answer holds 42; every lie holds 999.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from modbus_peer import Recorder, make_driver, running, tag, wait_for

from drivers.modbus_frames import SentRequest, mismatch
from hmi.core.station import Station
from hmi.historian.reader import HistoryReader
from hmi.model import DataType, Quality, Reason, Sample, WriteError
from hmi.project.loader import load_project

HONEST, LIE = 42, 999

Answer = Callable[[int, int, bytes], bytes]
"""(transaction id, unit id, request PDU) -> the bytes the server sends back."""


def mbap(tid: int, unit: int, pdu: bytes, protocol: int = 0) -> bytes:
    """One Modbus TCP frame."""
    return (
        tid.to_bytes(2, "big")
        + protocol.to_bytes(2, "big")
        + (len(pdu) + 1).to_bytes(2, "big")
        + bytes([unit])
        + pdu
    )


def read_pdu(function: int, quantity: int, value: int, extra: int = 0, count_delta: int = 0) -> bytes:
    """A read answer of ``quantity`` values (+ ``extra``), its byte count off by ``count_delta``."""
    if function in (1, 2):
        data = bytes([0xFF if value else 0]) * ((quantity + extra + 7) // 8)
    else:
        data = value.to_bytes(2, "big") * (quantity + extra)
    return bytes([function, len(data) + count_delta]) + data


def quantity_of(pdu: bytes) -> int:
    return int.from_bytes(pdu[3:5], "big")


def honest(tid: int, unit: int, pdu: bytes) -> bytes:
    return mbap(tid, unit, read_pdu(pdu[0], quantity_of(pdu), HONEST))


def lie(tid: int, unit: int, pdu: bytes, **kw: int) -> bytes:
    return mbap(tid, unit, read_pdu(pdu[0], quantity_of(pdu), LIE, **kw))


def other_function(function: int) -> int:
    return {1: 2, 2: 1, 3: 4, 4: 3}[function]


HOSTILE: dict[str, Answer] = {
    "transaction id 0": lambda tid, unit, pdu: lie(0, unit, pdu),
    "next transaction id": lambda tid, unit, pdu: lie(tid + 1, unit, pdu),
    "previous transaction id": lambda tid, unit, pdu: lie(tid - 1, unit, pdu),
    "another unit": lambda tid, unit, pdu: lie(tid, unit + 1, pdu),
    "unit 0": lambda tid, unit, pdu: lie(tid, 0, pdu),
    "protocol id 1": lambda tid, unit, pdu: mbap(tid, unit, read_pdu(pdu[0], quantity_of(pdu), LIE), 1),
    "another function code": lambda tid, unit, pdu: mbap(
        tid, unit, read_pdu(other_function(pdu[0]), quantity_of(pdu), LIE)
    ),
    "more values than asked": lambda tid, unit, pdu: lie(tid, unit, pdu, extra=8),
    "byte count larger than the data": lambda tid, unit, pdu: lie(tid, unit, pdu, count_delta=2),
    "byte count smaller than the data": lambda tid, unit, pdu: lie(tid, unit, pdu, count_delta=-1),
    "byte count zero": lambda tid, unit, pdu: mbap(tid, unit, bytes([pdu[0], 0])),
    "fewer values than asked": lambda tid, unit, pdu: mbap(tid, unit, bytes([pdu[0], 0])),
    "exception of another function": lambda tid, unit, pdu: mbap(
        tid, unit, bytes([other_function(pdu[0]) | 0x80, 2])
    ),
    "exception too long": lambda tid, unit, pdu: mbap(tid, unit, bytes([pdu[0] | 0x80, 2, 0, 0])),
    "two answers": lambda tid, unit, pdu: lie(tid, unit, pdu) + lie(tid, unit, pdu),
    "MBAP length 1": lambda tid, unit, pdu: tid.to_bytes(2, "big") + b"\0\0\0\1" + bytes([unit]),
}

# One tag per read function: coils (1), discrete inputs (2), holding (3) and input registers (4).
TABLES = {
    "co:0": DataType.BOOL,
    "di:0": DataType.BOOL,
    "hr:0": DataType.UINT16,
    "ir:0": DataType.UINT16,
}


class EveryRecorder(Recorder):
    """A recorder that keeps every sample, not just the last."""

    def __init__(self) -> None:
        super().__init__()
        self.every: list[Sample] = []

    def on_sample(self, name: str, sample: Sample) -> None:
        super().on_sample(name, sample)
        self.every.append(sample)

    def reason(self, name: str) -> Reason | None:
        sample = self.samples.get(name)
        return None if sample is None else sample.reason


@contextlib.asynccontextmanager
async def hostile_server(port: int, answers: Callable[[], Answer]) -> AsyncIterator[list[bytes]]:
    """A Modbus TCP server on 127.0.0.1:``port`` answering each request with ``answers()``'s answer."""
    received: list[bytes] = []
    connections: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.add(writer)
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            while True:
                header = await reader.readexactly(7)
                pdu = await reader.readexactly(int.from_bytes(header[4:6], "big") - 1)
                received.append(pdu)
                answer = answers()
                writer.write(answer(int.from_bytes(header[0:2], "big"), header[6], pdu))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            connections.discard(writer)
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    try:
        yield received
    finally:
        server.close()
        for writer in list(connections):
            writer.close()
        # Each handler ends on its reader's EOF; let them end before the loop does.
        if handlers:
            await asyncio.wait(handlers, timeout=2)
        await server.wait_closed()


@pytest.mark.parametrize("address", list(TABLES))
@pytest.mark.parametrize("lie_name", list(HOSTILE))
async def test_an_answer_that_does_not_match_its_request_is_a_protocol_error(
    free_port: Callable[[], int], lie_name: str, address: str
) -> None:
    port = free_port()
    recorder = EveryRecorder()
    async with hostile_server(port, lambda: HOSTILE[lie_name]) as received:
        driver = make_driver(port, [tag("T", address, TABLES[address])], recorder, timeout=0.5)
        async with running(driver):
            await wait_for(lambda: len(received) >= 2 and recorder.reason("T") is Reason.PROTOCOL_ERROR)
    assert not [sample for sample in recorder.every if sample.is_good], recorder.every
    errors = [status.last_error for status in recorder.statuses if "protocol error" in status.last_error]
    assert errors, recorder.statuses
    assert f"read unit 1 {address}+1: protocol error: " in errors[0], errors[0]


@pytest.mark.parametrize("code", [1, 2, 3, 4, 6, 10, 11])
async def test_an_exception_answer_to_the_request_is_bad_never_good(
    free_port: Callable[[], int], code: int
) -> None:
    port = free_port()
    recorder = Recorder()
    exception: Answer = lambda tid, unit, pdu: mbap(tid, unit, bytes([pdu[0] | 0x80, code]))  # noqa: E731
    async with hostile_server(port, lambda: exception) as received:
        driver = make_driver(port, [tag("T", "hr:0")], recorder, timeout=0.5)
        async with running(driver):
            await wait_for(lambda: len(received) >= 2 and "T" in recorder.samples and not recorder.good("T"))
            await wait_for(lambda: recorder.samples["T"].reason is not Reason.WAITING)
            assert not recorder.samples["T"].is_good
            assert recorder.samples["T"].reason is not Reason.PROTOCOL_ERROR


async def test_the_honest_answer_is_good(free_port: Callable[[], int]) -> None:
    port = free_port()
    recorder = Recorder()
    async with hostile_server(port, lambda: honest):
        tags = [tag(address.replace(":", ""), address, data_type) for address, data_type in TABLES.items()]
        async with running(make_driver(port, tags, recorder, timeout=0.5)):
            await wait_for(lambda: recorder.good(*(t.name for t in tags)))
            assert recorder.value("hr0") == HONEST and recorder.value("co0") is True


WRITE_LIES: dict[str, Callable[[bytes], bytes]] = {
    "another address": lambda pdu: pdu[:1] + bytes([pdu[1], pdu[2] ^ 1]) + pdu[3:5],
    "another function code": lambda pdu: bytes([3]) + pdu[1:5],
    "a short answer": lambda pdu: pdu[:3],
    "another quantity": lambda pdu: pdu[:3] + bytes([pdu[3], pdu[4] + 1]),
}
# Function 6 for a uint16, 16 for a uint32; a function 6 answer's value is verify's to judge (a clamp).
WRITES = [
    (lie, data_type)
    for lie in WRITE_LIES
    for data_type in (DataType.UINT16, DataType.UINT32)
    if not (lie == "another quantity" and data_type is DataType.UINT16)
]


@pytest.mark.parametrize(("lie_name", "data_type"), WRITES)
async def test_a_write_answer_that_does_not_match_is_a_failed_write(
    free_port: Callable[[], int], lie_name: str, data_type: DataType
) -> None:
    port = free_port()
    recorder = Recorder()

    def answer(tid: int, unit: int, pdu: bytes) -> bytes:
        if pdu[0] in (6, 16):
            return mbap(tid, unit, WRITE_LIES[lie_name](pdu))
        return honest(tid, unit, pdu)

    setpoint = tag("SP", "hr:0", data_type, period=10, writable=True)
    driver = make_driver(port, [setpoint], recorder, timeout=0.5)
    async with hostile_server(port, lambda: answer), running(driver):
        await wait_for(lambda: recorder.good("SP"))
        with pytest.raises(WriteError, match=r"^SP: write unit 1 hr:0: protocol error: "):
            await driver.write(setpoint, 7)


STATION = """\
name: Hostile
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 200ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
"""


async def test_no_lie_reaches_history_as_good(tmp_path: Path, free_port: Callable[[], int]) -> None:
    """Honest and hostile answers in turn, every lie once: history holds 42 GOOD and no 999 GOOD."""
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(STATION.format(port=port)), encoding="utf-8")
    project = load_project(tmp_path)
    station = Station(project, tmp_path / "history.db")
    turns = itertools.chain.from_iterable((honest, answer) for answer in HOSTILE.values())
    last = iter(itertools.repeat(honest))
    async with hostile_server(port, lambda: next(turns, None) or next(last)) as received:
        await station.start()
        try:
            await wait_for(lambda: len(received) > 2 * len(HOSTILE) + 2, within=30)
            await wait_for(lambda: station.runtime.values["LEVEL"].is_good, within=5)
        finally:
            await station.stop()
    reader = HistoryReader(station.history_path)
    rows = list(reader.iter_rows("LEVEL"))
    good = {row.value for row in rows if row.quality is Quality.GOOD}
    assert good == {HONEST}, good
    assert any(row.reason == Reason.PROTOCOL_ERROR.value for row in rows)


# ---------------------------------------------------------------- the check itself, over the class


requests = st.builds(
    lambda tid, unit, function, address, quantity: SentRequest(
        tid, unit, bytes([function]) + address.to_bytes(2, "big") + quantity.to_bytes(2, "big")
    ),
    st.integers(0, 65535),
    st.integers(0, 255),
    st.sampled_from([1, 2, 3, 4]),
    st.integers(0, 65535),
    st.integers(1, 125),
)


@given(requests)
def test_the_exact_answer_matches(request: SentRequest) -> None:
    frame = mbap(request.tid, request.unit, read_pdu(request.function, request.quantity, 7))
    assert mismatch(request, frame) is None


@given(requests, st.integers(0, 8), st.integers(1, 255))
def test_any_changed_header_byte_or_count_is_a_mismatch(
    request: SentRequest, position: int, delta: int
) -> None:
    """Change the transaction id, protocol id, unit, function code or byte count: always caught."""
    frame = bytearray(mbap(request.tid, request.unit, read_pdu(request.function, request.quantity, 7)))
    if position in (4, 5):  # the MBAP length only frames the answer; the caller reads it
        position = 8
    frame[position] = (frame[position] + delta) % 256
    assert mismatch(request, bytes(frame)) is not None
