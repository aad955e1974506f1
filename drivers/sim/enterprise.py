"""A stand-in for the enterprise in the demo: an HTTP receiver of sync batches on loopback.

It takes JSON batches (``POST``, gzip or not), keeps each ``Idempotency-Key`` it has
stored (so a resent batch is counted once) and answers 204, so that ``hmi demo`` shows
store-and-forward working with no enterprise present. Not a product server: one
interface, no TLS, counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
from collections import Counter, OrderedDict

KEYS_KEPT = 100_000  # the dedup memory; far more batches than a demo session sends


class EnterpriseReceiver:
    """Counts rows per stream after dedup by key; ``url`` once started."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.rows: Counter[str] = Counter()
        self.batches = 0
        self.repeats = 0
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """Where the demo's sync endpoint posts."""
        return f"http://{self.host}:{self.port}/api/v1/batches"

    async def start(self) -> None:
        """Listen (a free port when 0)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop the connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Without TCP_NODELAY a loopback answer waits ~40 ms for the client's delayed ACK.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._clients.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._clients.discard(writer)
            with contextlib.suppress(ConnectionError):
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        if not await reader.readline():
            return False
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self._take(headers, body)
        writer.write(f"HTTP/1.1 {status} OK\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        return True

    def _take(self, headers: dict[str, str], body: bytes) -> int:
        key = headers.get("idempotency-key", "")
        if key in self._keys:
            self.repeats += 1
            return 204
        try:
            raw = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
            batch = json.loads(raw)
            rows = len(batch["rows"])
            stream = str(batch["stream"])
        except (OSError, ValueError, KeyError, TypeError):
            return 400
        self._keys[key] = None
        if len(self._keys) > KEYS_KEPT:
            self._keys.popitem(last=False)
        self.batches += 1
        self.rows[stream] += rows
        return 204
