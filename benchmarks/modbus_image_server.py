"""A lean Modbus TCP server for benchmarks: holding registers whose every value changes on every read.

A pymodbus server costs a few hundred microseconds per request in Python, enough to make the
benchmark measure the servers instead of the client when four of them share two cores with it.
This one answers function 3 from two prebuilt register images it alternates between, so every
value a read covers differs from the read before, at the price of a dict lookup and a header.
Run as ``python -m benchmarks.modbus_image_server PORT REGISTERS``; it prints ``listening`` and
serves until its stdin closes (the benchmark that started it has ended, however it ended).
"""

from __future__ import annotations

import asyncio
import struct
import sys

_HEADER = struct.Struct(">HHHBBHH")  # transaction, protocol, length, unit, function, start, count
_REPLY = struct.Struct(">HHHBBB")  # transaction, protocol, length, unit, function, byte count
MAX_READ = 125


class _ImageProtocol(asyncio.Protocol):
    """Answers read-holding-registers requests from the images; anything else gets exception 1."""

    def __init__(self, images: tuple[bytes, bytes]) -> None:
        self._images = images
        self._flips: dict[int, int] = {}
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        replies = []
        while len(self._buffer) >= _HEADER.size:
            tid, _pid, length, unit, function, start, count = _HEADER.unpack_from(self._buffer)
            frame_end = 6 + length
            if len(self._buffer) < frame_end:
                break
            self._buffer = self._buffer[frame_end:]
            flip = self._flips.get(start, 0)
            image = self._images[flip]
            if function != 3 or not 0 < count <= MAX_READ or 2 * (start + count) > len(image):
                code = 1 if function != 3 else 2
                replies.append(struct.pack(">HHHBBB", tid, 0, 3, unit, function | 0x80, code))
                continue
            self._flips[start] = flip ^ 1  # per block: the next read of this block gets the other image
            replies.append(_REPLY.pack(tid, 0, 3 + 2 * count, unit, 3, 2 * count))
            replies.append(image[2 * start : 2 * (start + count)])
        if replies and self._transport is not None:
            self._transport.write(b"".join(replies))


def images(registers: int) -> tuple[bytes, bytes]:
    """Two register images that differ in every register; each word stays below 0x7F00 (no NaN floats)."""
    first = [i % 0x7F00 for i in range(registers)]
    second = [(i + 1) % 0x7F00 for i in range(registers)]
    return struct.pack(f">{registers}H", *first), struct.pack(f">{registers}H", *second)


async def serve(port: int, registers: int) -> None:
    """Serve on 127.0.0.1:``port`` until stdin closes."""
    pair = images(registers)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _ImageProtocol(pair), "127.0.0.1", port)
    print("listening", flush=True)
    try:
        await loop.run_in_executor(None, sys.stdin.read)
    finally:
        server.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2])))
