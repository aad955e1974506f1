"""The Modbus TCP driver against a real pymodbus server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import Callable

import pytest
from modbus_peer import Recorder, device, make_driver, modbus_server, running, tag, wait_for
from pymodbus.pdu import ModbusPDU

from drivers.modbus_codec import encode
from drivers.modbus_errors import reason_for_exception, splitting_may_help
from drivers.settings import BYTE_ORDERS
from hmi.model import ConnectionState, DataType, Quality, Reason, WriteError

FC_READ_COILS, FC_READ_DISCRETE, FC_READ_HOLDING, FC_READ_INPUT = 1, 2, 3, 4


EXAMPLES = {
    DataType.INT16: -1234,
    DataType.UINT16: 54321,
    DataType.INT32: -12345678,
    DataType.UINT32: 3_000_000_000,
    DataType.INT64: -(2**40) - 7,
    DataType.UINT64: 2**63 + 5,
    DataType.FLOAT32: -1234.5,
    DataType.FLOAT64: math.pi,
    DataType.STRING: "PUMP-7",
}


async def test_every_type_and_byte_order_decodes_through_the_driver(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    hr, tags, expected = [0] * 120, [], {}
    address = 0
    for byte_order in BYTE_ORDERS:
        for data_type, value in EXAMPLES.items():
            registers = encode(value, data_type, byte_order, string_length=6)
            hr[address : address + len(registers)] = registers
            name = f"{byte_order}.{data_type.value}"
            tags.append(tag(name, f"hr:{address}", data_type, byte_order=byte_order, string_length=6))
            expected[name] = value
            address += len(registers)
    hr[100] = 0b1000_0000_0000_0101
    ir = [0] * 10
    ir[0:2] = [0xE979, 0x42F6]  # 123.456 with swapped words, as a device manual would list it
    ir[5] = 0b100
    co, di = [False] * 16, [False] * 16
    co[3] = di[7] = True
    tags += [
        tag("ir.float", "ir:0", DataType.FLOAT32, byte_order="CDAB"),
        tag("ir.bit2", "ir:5.2", DataType.BOOL),
        tag("hr.bit0", "hr:100.0", DataType.BOOL),
        tag("hr.bit1", "hr:100.1", DataType.BOOL),
        tag("hr.bit15", "hr:100.15", DataType.BOOL),
        tag("co3", "co:3", DataType.BOOL),
        tag("co4", "co:4", DataType.BOOL),
        tag("di7", "di:7", DataType.BOOL),
        tag("modicon", "400101", DataType.UINT16),  # = hr:100
    ]
    async with modbus_server(port, device(hr, ir, co, di)), running(make_driver(port, tags, recorder)):
        await wait_for(lambda: recorder.good(*(t.name for t in tags)))
        values = {name: sample.value for name, sample in recorder.samples.items()}
    for name, value in expected.items():
        assert values[name] == value, name
    assert values["ir.float"] == 123.456
    assert values["ir.bit2"] is True
    assert [values[f"hr.bit{b}"] for b in (0, 1, 15)] == [True, False, True]
    assert (values["co3"], values["co4"], values["di7"]) == (True, False, True)
    assert values["modicon"] == 0b1000_0000_0000_0101


async def test_nearby_tags_are_read_in_coalesced_blocks(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    received: list[tuple[int, int, int]] = []

    def count_requests(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            received.append((pdu.function_code, pdu.address, pdu.count))
        return pdu

    tags = [
        tag("a", "hr:0"),
        tag("b", "hr:1", DataType.FLOAT32),
        tag("c", "hr:5"),
        tag("b_high_word", "hr:1"),  # overlaps b: must not cause a second read
        tag("far", "hr:40"),
        tag("coil0", "co:0", DataType.BOOL),
        tag("coil9", "co:9", DataType.BOOL),
        tag("slow_input", "ir:3", period=0.5),
    ]
    driver = make_driver(port, tags, recorder)
    async with modbus_server(port, device(), count_requests), running(driver):
        await wait_for(lambda: recorder.good(*(t.name for t in tags)))
        await wait_for(lambda: Counter(received)[(FC_READ_HOLDING, 0, 6)] >= 8)
    shapes = Counter(received)
    assert set(shapes) == {
        (FC_READ_HOLDING, 0, 6),
        (FC_READ_HOLDING, 40, 1),
        (FC_READ_COILS, 0, 10),
        (FC_READ_INPUT, 3, 1),
    }
    fast = [shapes[(FC_READ_HOLDING, 0, 6)], shapes[(FC_READ_HOLDING, 40, 1)], shapes[(FC_READ_COILS, 0, 10)]]
    assert max(fast) - min(fast) <= 1, "every block of a scan group is read once per cycle"
    assert shapes[(FC_READ_INPUT, 3, 1)] < min(fast)
    assert driver.diagnostics()["blocks"] == 4


async def test_an_exception_response_marks_only_the_refused_tag_bad(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    received: Counter[tuple[int, int]] = Counter()

    def count_requests(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            received[(pdu.address, pdu.count)] += 1
        return pdu

    hr = [7] * 20  # protocol addresses 0..19 exist, 20 and above do not
    tags = [
        tag("ok0", "hr:0"),
        tag("ok2", "hr:2"),
        tag("missing", "hr:24"),  # joins the block through the gap, then the device refuses it
        tag("coil", "co:1", DataType.BOOL),
    ]
    driver = make_driver(port, tags, recorder, max_gap=30)
    async with modbus_server(port, device(hr=hr), count_requests), running(driver):
        await wait_for(lambda: recorder.good("ok0", "ok2", "coil") and "missing" in recorder.samples)
        await wait_for(lambda: recorder.samples["missing"].reason is Reason.CONFIG_ERROR)
        counts_before = recorder.counts.copy()
        await wait_for(lambda: recorder.counts["ok2"] >= counts_before["ok2"] + 3)
        assert driver.status.state is ConnectionState.CONNECTED
        assert recorder.samples["missing"].quality is Quality.BAD
        assert recorder.good("ok0", "ok2", "coil")
        diagnostics = driver.diagnostics()
    assert diagnostics["exception_responses"] >= 1
    assert received[(0, 25)] == 1, "the refused block is split once, not retried whole every cycle"
    assert received[(2, 1)] >= 3 and received[(24, 1)] >= 3
    assert "illegal data address" in str(diagnostics["last_error"])


def test_exception_codes_map_to_reasons() -> None:
    assert reason_for_exception(2) is Reason.CONFIG_ERROR
    assert reason_for_exception(4) is Reason.DEVICE_FAILURE
    assert reason_for_exception(11) is Reason.COMM_FAILURE
    assert splitting_may_help(2) and not splitting_may_help(4)


async def test_writes_of_every_writable_kind_are_read_back(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    hr = [0] * 30
    hr[20] = 0b1010
    tags = [
        tag("coil", "co:2", DataType.BOOL, period=10),
        tag("speed", "hr:0", DataType.UINT16, period=10),
        tag("level", "hr:2", DataType.FLOAT32, period=10, byte_order="CDAB"),
        tag("count", "hr:4", DataType.INT64, period=10, byte_order="DCBA"),
        tag("label", "hr:8", DataType.STRING, period=10, string_length=5),
        tag("flag0", "hr:20.0", DataType.BOOL, period=10),
        tag("flag3", "hr:20.3", DataType.BOOL, period=10),
        tag("word20", "hr:20", DataType.UINT16, period=10),
        tag("input", "ir:0", period=10),
        tag("discrete", "di:0", DataType.BOOL, period=10),
        tag("beyond", "hr:45", period=10),
    ]
    by_name = {t.name: t for t in tags}
    driver = make_driver(port, tags, recorder)
    async with modbus_server(port, device(hr=hr)) as server, running(driver):
        await wait_for(lambda: recorder.good("coil", "speed", "flag0"))

        async def registers(address: int, count: int) -> list[int]:
            return await server.async_getValues(1, FC_READ_HOLDING, address, count)

        await driver.write(by_name["coil"], True)
        assert await server.async_getValues(1, FC_READ_COILS, 2, 1) == [True]
        assert recorder.value("coil") is True  # read back at once, not after the 10 s scan

        await driver.write(by_name["speed"], 1450)
        assert await registers(0, 1) == [1450]
        assert recorder.value("speed") == 1450

        await driver.write(by_name["level"], 42.25)
        assert await registers(2, 2) == encode(42.25, DataType.FLOAT32, "CDAB")
        assert recorder.value("level") == 42.25

        await driver.write(by_name["count"], -(2**50))
        assert recorder.value("count") == -(2**50)

        await driver.write(by_name["label"], "P-101")
        assert recorder.value("label") == "P-101"

        await driver.write(by_name["flag0"], True)
        assert await registers(20, 1) == [0b1011]  # the other bits kept
        await driver.write(by_name["flag3"], False)
        assert await registers(20, 1) == [0b0011]
        assert recorder.value("flag3") is False

        for name, message in [
            ("input", "input registers are read-only"),
            ("discrete", "discrete inputs are read-only"),
            ("beyond", "device refused the write: illegal data address"),
        ]:
            with pytest.raises(WriteError, match=rf"^{name}: {message}"):
                await driver.write(by_name[name], True if name == "discrete" else 1)
        with pytest.raises(WriteError, match=r"^speed: 70000 is outside the range of uint16"):
            await driver.write(by_name["speed"], 70000)
        with pytest.raises(WriteError, match=r"^label: .* longer than the 5 characters"):
            await driver.write(by_name["label"], "TOO-LONG")
        with pytest.raises(WriteError, match=r"^flag0: bool needs"):
            await driver.write(by_name["flag0"], 3)
        assert driver.status.state is ConnectionState.CONNECTED


async def test_a_write_without_a_connection_is_refused(free_port: Callable[[], int]) -> None:
    recorder = Recorder()
    target = tag("speed", "hr:0")
    driver = make_driver(free_port(), [target], recorder)
    with pytest.raises(WriteError, match=r"^speed: not connected"):
        await driver.write(target, 5)


async def test_a_stopped_server_makes_tags_bad_and_a_restarted_one_good_again(
    free_port: Callable[[], int],
) -> None:
    port, recorder = free_port(), Recorder()
    tags = [tag("level", "hr:0"), tag("run", "co:0", DataType.BOOL, period=0.5)]
    driver = make_driver(port, tags, recorder, timeout=0.5)
    async with running(driver):
        async with modbus_server(port, device(hr=[42] * 10)):
            await wait_for(lambda: recorder.good("level", "run"))
            assert driver.status.state is ConnectionState.CONNECTED
        await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=2)
        for name in ("level", "run"):
            assert recorder.samples[name].quality is Quality.BAD
            assert recorder.samples[name].reason is Reason.COMM_FAILURE
        async with modbus_server(port, device(hr=[43] * 10)):
            await wait_for(lambda: recorder.good("level", "run") and recorder.value("level") == 43, within=5)
            assert driver.status.state is ConnectionState.CONNECTED
    assert recorder.samples["level"].reason is Reason.NOT_CONNECTED


async def test_a_silent_device_is_detected_within_the_timeout(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(256):
                pass
        writer.close()

    silent = await asyncio.start_server(swallow, "127.0.0.1", port)
    driver = make_driver(port, [tag("level", "hr:0")], recorder, timeout=0.3)
    loop = asyncio.get_running_loop()
    try:
        async with running(driver):
            await wait_for(lambda: driver.status.state is ConnectionState.CONNECTED, within=2)
            connected_at = loop.time()
            await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=2)
            assert loop.time() - connected_at < 0.3 + 0.1 + 0.5
            assert "no response within 0.3 s" in driver.status.last_error
            assert recorder.samples["level"].reason is Reason.COMM_FAILURE
    finally:
        silent.close()
        await silent.wait_closed()


async def test_nothing_listening_means_backing_off_with_the_reason(free_port: Callable[[], int]) -> None:
    recorder = Recorder()
    driver = make_driver(free_port(), [tag("level", "hr:0"), tag("typo", "hx:0")], recorder, timeout=0.5)
    async with running(driver):
        await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=2)
        assert "cannot connect to 127.0.0.1" in driver.status.last_error
        assert recorder.samples["level"].reason is Reason.COMM_FAILURE
        assert recorder.samples["typo"].reason is Reason.CONFIG_ERROR  # not hidden behind the link failure
    assert recorder.samples["typo"].reason is Reason.CONFIG_ERROR


async def test_unpollable_tags_are_bad_with_config_error_and_the_rest_runs(
    free_port: Callable[[], int],
) -> None:
    port, recorder = free_port(), Recorder()
    tags = [tag("ok", "hr:0"), tag("typo", "hx:1"), tag("float_coil", "co:0", DataType.FLOAT32)]
    driver = make_driver(port, tags, recorder)
    async with modbus_server(port, device()), running(driver):
        await wait_for(lambda: recorder.good("ok"))
        for name in ("typo", "float_coil"):
            assert recorder.samples[name].reason is Reason.CONFIG_ERROR
        assert driver.diagnostics()["rejected_tags"] == 2


async def test_diagnostics_report_traffic(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    driver = make_driver(
        port, [tag("a", "hr:0", period=0.05), tag("b", "co:0", DataType.BOOL, period=0.05)], recorder
    )
    async with modbus_server(port, device()), running(driver):
        await wait_for(lambda: driver.diagnostics()["requests"] >= 10)
        diagnostics = driver.diagnostics()
    assert diagnostics["state"] == "connected"
    assert diagnostics["errors"] == 0
    assert diagnostics["requests_per_s"] > 0
    assert 0 < diagnostics["rtt_mean_ms"] <= diagnostics["rtt_p99_ms"] < 1000
    assert diagnostics["overruns"] == 0
    assert diagnostics["last_error"] == ""
