"""A real HTTP receiver on 127.0.0.1 for the sync tests: dedups batches by Idempotency-Key, injects faults.

It runs its own asyncio loop on a thread, so a station on the test's loop or an ``hmi``
subprocess can post to it alike. TCP_NODELAY on every connection: without it a loopback
server stalls ~40 ms per answer (Nagle and delayed ACK).

A *plan* decides each request's fate before its body is read: ``"ok"``, an HTTP status
(``500``, ``(429, {"Retry-After": "1"})``), ``"reset"`` (read half the body, then reset
the connection), ``"hang"`` (take the batch, never answer: the answer is lost, as when
a read times out), ``"hold"`` (take the batch, answer 200 only once :meth:`Receiver.release`
is called: a slow answer that later batches overtake).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Action = Any  # "ok" | "reset" | "hang" | int | (int, dict[str, str])


@dataclass
class Request:
    """One request as it arrived."""

    key: str
    stream: str
    body: bytes  # as sent (compressed or not)
    action: Action
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class Receiver:
    """Counts requests, accepted batches by key and the rows they carry."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/batches"
        self.plan: Callable[[int, Request], Action] = lambda n, r: "ok"
        self.requests: list[Request] = []
        self.accepted: dict[str, list[dict[str, Any]]] = {}  # key -> rows, the first time it was accepted
        self.repeats = 0  # accepted again under a key seen before (dropped by the dedup)
        self.lines: dict[str, list[str]] = {}  # key -> line-protocol lines
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._hung: list[asyncio.StreamWriter] = []
        self._open: set[asyncio.StreamWriter] = set()
        self._released: asyncio.Event | None = None  # on the server's loop

    # -- test side ----------------------------------------------------------------

    def start(self) -> Receiver:
        """Listen (again) on the port."""
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="sync-receiver", daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the receiver did not start"
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection (the endpoint goes down)."""
        if self._loop is None:
            return
        loop = self._loop
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop = None

    def release(self) -> None:
        """Answer the held requests (and any held later) with 200."""
        loop, released = self._loop, self._released
        if loop is not None and released is not None:
            loop.call_soon_threadsafe(released.set)

    def rows(self, stream: str) -> list[dict[str, Any]]:
        """Every row accepted for ``stream``, after dedup by key."""
        with self._lock:
            batches = [rows for rows in self.accepted.values() if rows and rows[0]["_stream"] == stream]
        return [row for rows in batches for row in rows]

    def keys_sent(self) -> list[str]:
        """The key of every request, in arrival order (retries repeat a key)."""
        with self._lock:
            return [request.key for request in self.requests]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait (bounded) until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out waiting for the receiver"
            time.sleep(0.02)

    # -- server thread ------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._released = asyncio.Event()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True, ssl=self.tls)
            )
            self._ready.set()
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        if self._released is not None:
            self._released.set()  # a held answer goes to a closed connection: its handler ends
        for writer in [*self._hung, *self._open]:
            writer.transport.abort()
        self._hung.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._open.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            if writer not in self._hung:
                writer.transport.abort()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        start = await reader.readline()
        if not start:
            return False
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        request = Request(
            headers.get("idempotency-key", ""), headers.get("x-converge-stream", ""), b"", None, headers
        )
        with self._lock:
            number = len(self.requests)
            request.action = self.plan(number, request)
        if request.action == "reset":
            await reader.readexactly(length // 2)
            # SO_LINGER 0: close() sends RST, the client sees its connection reset mid-body
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with self._lock:
                self.requests.append(request)
            writer.transport.abort()
            return False
        request.body = await reader.readexactly(length)
        with self._lock:
            self.requests.append(request)
        if request.action == "hang":
            self._take(request, headers)
            self._hung.append(writer)
            return False  # never answered: the client's read times out
        if request.action == "hold":
            self._take(request, headers)
            assert self._released is not None
            await self._released.wait()
        status, extra = (200, {}) if request.action in ("ok", "hold") else _status(request.action)
        if status == 200 and request.action != "hold":
            self._take(request, headers)
        payload = b"" if status == 200 else f"refused ({status})".encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        writer.write(head.encode() + b"\r\n" + payload)
        await writer.drain()
        return True

    def _take(self, request: Request, headers: dict[str, str]) -> None:
        raw = gzip.decompress(request.body) if headers.get("content-encoding") == "gzip" else request.body
        if headers.get("content-type", "").startswith("application/json"):
            doc = json.loads(raw)
            assert doc["batch_id"] == request.key, "the body names the batch it travels under"
            rows = [dict(row, _stream=doc["stream"]) for row in doc["rows"]]
        else:
            lines = raw.decode().splitlines()
            rows = [{"_stream": request.stream, "line": text} for text in lines]
        with self._lock:
            if request.key in self.accepted:
                self.repeats += 1
            else:
                self.accepted[request.key] = rows


def _status(action: Action) -> tuple[int, dict[str, str]]:
    if isinstance(action, tuple):
        return int(action[0]), dict(action[1])
    return int(action), {}
