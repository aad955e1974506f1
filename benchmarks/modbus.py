"""Modbus TCP polling: our driver against bare pymodbus on the same blocks, a 1,000-tag scan, and scaling
over four connections. Every server is a pymodbus server in its own process on 127.0.0.1, so the
client side is what is measured (and a server never competes with the client for one event loop).

- ``throughput_changing``: the server changes every register and coil on every read, as a plant's
  values do (registers step within 0x4000..0x43FF, so a float32 reads 2..512 as a plant's readings
  do), so the driver decodes and publishes every tag on every read. Against it, in the same run and
  alternately: a bare ``AsyncModbusTcpClient`` reading the same blocks (``bare_reads``) and the same
  reads plus the decode a pymodbus user would write (``bare_reads_decode``: ``struct`` over each
  block's registers into one value per tag, coils as pymodbus returns them). Beside each rate, this
  process's user CPU time per block read: on a loaded machine the rates measure the machine, the CPU
  ratio (``cpu_ratio_to_bare_reads_decode``, bare's CPU per block over ours) still the code.
- ``throughput_static_superseded``: the same with values that never change (the earlier shape, kept
  beside it and labelled): the driver's unchanged-block shortcut then skips decoding, which flatters it.
- ``throughput_two_tags_per_block``: the same blocks with only two tags each, which leaves the
  driver's per-request machinery alone.
- ``block_work_changing``: one block's answer in this process without a socket, every value changed:
  our decode, change detection and batch against the bare ``struct`` decode (CPU µs per block).
- ``scan_1000``: 1,000 tags at 100 ms on one connection: cycles kept, overruns, p99 lateness of the
  cycle starts against their deadlines.
- ``four_connections``: four drivers on four server processes against one, back to back; once with
  servers answering at once (CPU bound: client and servers share the machine's cores) and once with
  servers answering after a fixed delay, as a PLC answers at the end of its scan (latency bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import statistics
import struct
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import NamedTuple

from pymodbus.client import AsyncModbusTcpClient

from benchmarks.bench_servers import free_port, server_processes
from drivers.base import Backoff
from drivers.modbus import ModbusDriver
from drivers.modbus_plan import ReadBlock
from drivers.settings import ModbusSettings
from hmi.model import DataType, TagDef

ROUNDS = 3
ROUND_S = 1.5
SCAN_S = 6.0
DEVICE_DELAY_S = 0.005
REGISTERS = 4000


@contextlib.asynccontextmanager
async def _servers(
    count: int, delay: float = 0.0, changing: bool = False, registers: int = REGISTERS
) -> AsyncIterator[list[int]]:
    """``count`` pymodbus servers, each in its own process; yields their ports.

    ``changing``: every register and coil a read covers changes before it is answered.
    ``registers``: how many holding registers and coils each serves (from address 0).
    """
    ports = [free_port() for _ in range(count)]
    shape = [str(delay), "changing" if changing else "static", str(registers)]
    async with server_processes([["benchmarks.modbus", str(port), *shape] for port in ports], quiet=True):
        yield ports


def _tags(count: int, period: float) -> list[TagDef]:
    """A plant-like mix: half float32 (two registers), a third uint16, the rest coils."""
    floats, words = count // 2, count // 3
    tags = [
        TagDef(f"F{i}", "plc", f"hr:{2 * i}", DataType.FLOAT32, scan_period=period) for i in range(floats)
    ]
    base = 2 * floats
    tags += [
        TagDef(f"W{i}", "plc", f"hr:{base + i}", DataType.UINT16, scan_period=period) for i in range(words)
    ]
    tags += [
        TagDef(f"C{i}", "plc", f"co:{i}", DataType.BOOL, scan_period=period)
        for i in range(count - floats - words)
    ]
    return tags


def _driver(port: int, tags: Sequence[TagDef], published: list[int]) -> ModbusDriver:
    def on_sample(_name: str, _sample: object) -> None:
        published[0] += 1

    def on_samples(batch: Sequence[tuple[str, object]]) -> None:
        published[0] += len(batch)

    def on_refresh(_names: Sequence[str]) -> None:
        pass

    settings = ModbusSettings("127.0.0.1", port, timeout=2.0)
    driver = ModbusDriver(f"plc:{port}", settings, tags, on_sample, lambda _s: None, Backoff())
    # As the runtime wires it: a read's changed tags in one batch, then one refresh for the whole block.
    driver.on_samples = on_samples
    driver.on_refresh = on_refresh
    return driver


async def _wait_connected(drivers: Sequence[ModbusDriver]) -> None:
    for _ in range(500):
        if all(d.diagnostics()["requests"] > 0 for d in drivers):
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("drivers did not connect")


def _user_cpu() -> float:
    """This process's user CPU time (s): the kernel's share of a loopback send grows with the machine's
    load (a send measured 0.1 to 1.6 ms), the code's own work does not."""
    return os.times().user


class Rate(NamedTuple):
    """Blocks read per second, and this process's user CPU time per block read (µs): the second holds
    its shape on a loaded machine, where the first measures the machine as much as the code."""

    blocks_per_s: float
    cpu_us_per_block: float


async def _driver_blocks_per_s(ports: Sequence[int], tags: Sequence[TagDef], seconds: float) -> Rate:
    """Blocks per second read by one driver per port, each polling back to back."""
    published = [0]
    drivers = [_driver(port, tags, published) for port in ports]
    for driver in drivers:
        await driver.start()
    try:
        await _wait_connected(drivers)
        before = sum(int(d.diagnostics()["requests"]) for d in drivers)
        cpu = _user_cpu()
        await asyncio.sleep(seconds)
        cpu = _user_cpu() - cpu
        after = sum(int(d.diagnostics()["requests"]) for d in drivers)
    finally:
        for driver in drivers:
            await driver.stop()
    reads = after - before
    return Rate(reads / seconds, cpu / max(1, reads) * 1e6)


Block = tuple[bool, int, int]
Layout = tuple[tuple[int, str], ...]  # (register offset in the block, struct format) per register tag


def _layouts(plan_blocks: Sequence[ReadBlock]) -> list[Layout]:
    """Per block, where each register tag sits and its struct format: what a user writes by hand."""
    formats = {DataType.FLOAT32: ">f", DataType.UINT16: ">H"}
    return [
        tuple((t.address.index - b.start, formats[t.tag.type]) for t in b.tags) if not b.table.is_bit else ()
        for b in plan_blocks
    ]


def _decode(registers: list[int], layout: Layout) -> list[float | int]:
    """A block's registers to one value per tag with struct: pack once, unpack each tag at its offset."""
    raw = struct.pack(f">{len(registers)}H", *registers)
    return [struct.unpack_from(fmt, raw, 2 * offset)[0] for offset, fmt in layout]


async def _bare_blocks_per_s(
    port: int, blocks: Sequence[Block], seconds: float, layouts: Sequence[Layout] | None = None
) -> Rate:
    """Blocks per second read by a bare pymodbus client looping over the same blocks.

    With ``layouts``, each block is also decoded into one value per tag, kept as a user's table would.
    """
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2.0, retries=0, reconnect_delay=0)
    await client.connect()
    loop = asyncio.get_running_loop()
    reads, end = 0, loop.time() + seconds
    latest: list[list[float | int] | list[bool]] = [[] for _ in blocks]
    cpu = _user_cpu()
    try:
        while loop.time() < end:
            for index, (is_bit, start, count) in enumerate(blocks):
                if is_bit:
                    response = await client.read_coils(start, count=count, device_id=1)
                else:
                    response = await client.read_holding_registers(start, count=count, device_id=1)
                if response.isError():
                    raise RuntimeError(f"bare read failed: {response}")
                if layouts is not None:
                    latest[index] = (
                        response.bits[:count] if is_bit else _decode(response.registers, layouts[index])
                    )
                reads += 1
    finally:
        cpu = _user_cpu() - cpu
        client.close()
    return Rate(reads / seconds, cpu / max(1, reads) * 1e6)


def _one_tag_per_block(tags: Sequence[TagDef], blocks: Sequence[tuple[bool, int, int]]) -> list[TagDef]:
    """Tags spanning the same blocks with just two tags each (first and last address): protocol cost only."""
    ends = []
    for index, (is_bit, start, count) in enumerate(blocks):
        table, kind = ("co", DataType.BOOL) if is_bit else ("hr", DataType.UINT16)
        ends += [
            TagDef(f"S{index}", "plc", f"{table}:{start}", kind, scan_period=tags[0].scan_period),
            TagDef(f"E{index}", "plc", f"{table}:{start + count - 1}", kind, scan_period=tags[0].scan_period),
        ]
    return ends


async def _throughput(sparse: bool = False, changing: bool = False) -> dict[str, float | int]:
    tags = _tags(1000, 0.001)  # a period far below the cycle time: the driver polls back to back
    plan = ModbusDriver("plan", ModbusSettings("127.0.0.1"), tags, lambda *_: None, lambda _s: None).plan
    plan_blocks = [b for g in plan.groups for b in g.blocks]
    blocks = [(b.table.is_bit, b.start, b.count) for b in plan_blocks]
    layouts = _layouts(plan_blocks)
    if sparse:
        tags = _one_tag_per_block(tags, blocks)
    ours: list[Rate] = []
    bare: list[Rate] = []
    decoded: list[Rate] = []
    async with _servers(1, changing=changing) as (port,):
        for _ in range(ROUNDS):  # alternating: load from another process hits a round, not a side
            ours.append(await _driver_blocks_per_s([port], tags, ROUND_S))
            bare.append(await _bare_blocks_per_s(port, blocks, ROUND_S))
            if not sparse:
                decoded.append(await _bare_blocks_per_s(port, blocks, ROUND_S, layouts))
    rate = _medians(ours)
    result: dict[str, float | int] = {
        "tags": len(tags),
        "blocks_per_cycle": len(blocks),
        "ours_blocks_per_s": round(rate.blocks_per_s),
        "bare_reads_blocks_per_s": round(_medians(bare).blocks_per_s),
        "ratio_to_bare_reads": round(rate.blocks_per_s / _medians(bare).blocks_per_s, 3),
        "ours_cpu_us_per_block": round(rate.cpu_us_per_block, 1),
        "bare_reads_cpu_us_per_block": round(_medians(bare).cpu_us_per_block, 1),
    }
    if decoded:
        with_decode = _medians(decoded)
        result |= {
            "bare_reads_decode_blocks_per_s": round(with_decode.blocks_per_s),
            "ratio_to_bare_reads_decode": round(rate.blocks_per_s / with_decode.blocks_per_s, 3),
            "bare_reads_decode_cpu_us_per_block": round(with_decode.cpu_us_per_block, 1),
            "cpu_ratio_to_bare_reads_decode": round(with_decode.cpu_us_per_block / rate.cpu_us_per_block, 3),
        }
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    return result


def _medians(rates: Sequence[Rate]) -> Rate:
    return Rate(
        statistics.median(r.blocks_per_s for r in rates), statistics.median(r.cpu_us_per_block for r in rates)
    )


async def _scan_1000() -> dict[str, float | int]:
    tags = _tags(1000, 0.1)
    published = [0]
    async with _servers(1) as (port,):
        driver = _driver(port, tags, published)
        await driver.start()
        try:
            await _wait_connected([driver])
            start = driver.diagnostics()
            await asyncio.sleep(SCAN_S)
            end = driver.diagnostics()
        finally:
            await driver.stop()
    cycles = int(end["cycles"]) - int(start["cycles"])
    return {
        "tags": len(tags),
        "blocks_per_cycle": int(end["blocks"]),
        "period_ms": 100,
        "cycles": cycles,
        "expected_cycles": round(SCAN_S / 0.1),
        "overruns": int(end["overruns"]),
        "lateness_p99_ms": end["lateness_p99_ms"],
        "rtt_mean_ms": end["rtt_mean_ms"],
    }


async def _four_connections(delay: float) -> dict[str, float]:
    tags = _tags(1000, 0.001)
    async with _servers(4, delay) as ports:
        one = (await _driver_blocks_per_s(ports[:1], tags, ROUND_S)).blocks_per_s
        four = (await _driver_blocks_per_s(ports, tags, ROUND_S)).blocks_per_s
    return {"one_blocks_per_s": round(one), "four_blocks_per_s": round(four), "ratio": round(four / one, 2)}


class _Answer:
    """A read's answer as the driver sees it (registers or bits), for the in-process measurement."""

    def __init__(self, registers: list[int], bits: list[bool]) -> None:
        self.registers, self.bits = registers, bits

    def isError(self) -> bool:
        """Never an exception response."""
        return False


def _block_work(reads: int = 20) -> dict[str, float | int]:
    """The CPU cost of one block's answer on each side, in this process with no socket: our decode,
    change detection and batch (every value changed) against the bare ``struct`` decode. The best of
    three rounds, so that another process's load hits neither side's figure much."""
    tags = _tags(1000, 1.0)
    driver = ModbusDriver("work", ModbusSettings("127.0.0.1"), tags, lambda *_: None, lambda _s: None)
    driver.on_samples = lambda _batch: None
    driver.on_refresh = lambda _names: None
    blocks = [b for g in driver.plan.groups for b in g.blocks]
    layouts = _layouts(blocks)
    answers = [
        [
            _Answer([], [(i + step) % 3 == 0 for i in range(b.count + 8)])
            if b.table.is_bit
            else _Answer([_plant_word(b.start + i + step) for i in range(b.count)], [])
            for b in blocks
        ]
        for step in range(reads)
    ]

    def ours() -> None:
        for round_answers in answers:
            for block, answer in zip(blocks, round_answers, strict=True):
                driver._publish_block(block, answer)  # type: ignore[arg-type]

    def bare() -> None:
        for round_answers in answers:
            for block, answer, layout in zip(blocks, round_answers, layouts, strict=True):
                _ = answer.bits[: block.count] if block.table.is_bit else _decode(answer.registers, layout)

    def best(work: Callable[[], None]) -> float:
        times = []
        for _ in range(3):
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
        return min(times) / (reads * len(blocks)) * 1e6

    ours_us, bare_us = best(ours), best(bare)
    return {
        "blocks": len(blocks),
        "ours_us_per_block": round(ours_us, 1),
        "bare_decode_us_per_block": round(bare_us, 1),
        "ours_extra_us_per_block": round(ours_us - bare_us, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


async def _all() -> dict[str, object]:
    return {
        "block_work_changing": _block_work(),
        "throughput_changing": await _throughput(changing=True),
        "throughput_static_superseded": await _throughput(),
        "throughput_two_tags_per_block": await _throughput(sparse=True),
        "scan_1000": await _scan_1000(),
        "four_connections_cpu_bound": await _four_connections(0.0),
        f"four_connections_device_delay_{DEVICE_DELAY_S * 1000:g}ms": await _four_connections(DEVICE_DELAY_S),
    }


def run() -> dict[str, object]:
    """Run the three measurements; every server runs in its own process."""
    # pymodbus logs a warning for each request cut short when a driver stops: not a result.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    return asyncio.run(_all())


# ---------------------------------------------------------------- the server process


PLANT_WORDS = 0x4000
"""Registers hold 0x4000..0x43FF: as a float32's high word that is a value between 2 and 512, the range
of a plant's readings (registers stepping from 0, as before, made every float32 a subnormal near 1e-40);
as a uint16, a count. Every read still changes every register."""


def _plant_word(i: int) -> int:
    return PLANT_WORDS + i % 0x400


def _change_all(code: int, registers: list[int], first: int, count: int) -> None:
    """Change every value the read covers: coils (16 to a register) flip, registers step by one.

    A register steps within 0x4000..0x43FF, so that a float32 stays a plant-like reading (never an
    infinity or a NaN).
    """
    for i in range(max(0, first), min(len(registers), first + count)):
        registers[i] = registers[i] ^ 0xFFFF if code in (1, 2) else _plant_word(registers[i] + 1)


async def _serve(port: int, delay: float, changing: bool, registers: int = REGISTERS) -> None:
    from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
    from pymodbus.server import ModbusTcpServer

    logging.disable(logging.WARNING)  # pymodbus's deprecation notices are not results
    device = ModbusDeviceContext(
        hr=ModbusSequentialDataBlock(1, [_plant_word(i) for i in range(registers)]),
        ir=ModbusSequentialDataBlock(1, [0] * 16),
        co=ModbusSequentialDataBlock(1, [bool(i % 3) for i in range(registers)]),
        di=ModbusSequentialDataBlock(1, [False] * 16),
    )

    async def on_request(
        code: int, start: int, address: int, count: int, registers: list[int], values: object
    ) -> None:
        if changing and values is None:  # a read: a plant's values move between two reads
            _change_all(code, registers, address - start, count)
        if delay > 0:  # a PLC answers at the end of its scan
            await asyncio.sleep(delay)

    if delay > 0 or changing:
        device.simdevice.action = on_request
    server = ModbusTcpServer(ModbusServerContext(devices=device), address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    print("listening", flush=True)
    # Serve until the benchmark closes our stdin (or dies): never outlive it.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    _registers = int(sys.argv[4]) if len(sys.argv) > 4 else REGISTERS
    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "changing", _registers))
