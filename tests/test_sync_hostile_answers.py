"""Answers an endpoint should never give: endless bodies, bodies that inflate, bogus charsets.

A raw asyncio server on loopback writes each answer byte for byte, so the client meets exactly what
a broken or hostile receiver would send. An attempt must end with a short, clear detail, read no
more of the answer than it needs, and keep the stream going.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from hmi.sync.transport import Verdict, post

CHUNK = 64 * 1024
MOST_CHUNKS = 4096  # 256 MiB: the server's own bound, far past what a client should read


@dataclass
class Sent:
    """What the server wrote of its answer's body before the client hung up (or the bound)."""

    bytes: int = 0


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    await reader.readexactly(length)


def endless(status: bytes, piece: bytes = b"x" * CHUNK, headers: bytes = b"") -> Callable[..., object]:
    """An answer with ``status`` whose chunked body goes on (up to the server's bound)."""

    async def answer(writer: asyncio.StreamWriter, sent: Sent) -> None:
        writer.write(b"HTTP/1.1 " + status + b"\r\nTransfer-Encoding: chunked\r\n" + headers + b"\r\n")
        for _ in range(MOST_CHUNKS):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            sent.bytes += len(piece)

    return answer


def whole(status: bytes, body: bytes, headers: bytes = b"") -> Callable[..., object]:
    async def answer(writer: asyncio.StreamWriter, sent: Sent) -> None:
        writer.write(b"HTTP/1.1 %s\r\nContent-Length: %d\r\n%s\r\n%s" % (status, len(body), headers, body))
        await writer.drain()
        sent.bytes += len(body)

    return answer


@asynccontextmanager
async def answering(answer: Callable[..., object]) -> AsyncIterator[tuple[str, Sent]]:
    sent = Sent()
    handlers: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await _read_request(reader)
            await answer(writer, sent)  # type: ignore[misc]
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up: what it was meant to do
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/batches", sent
    finally:
        server.close()
        # A handler still writing to a client that hung up fails on its next write: bounded wait.
        if handlers:
            await asyncio.wait(handlers, timeout=10)
        await server.wait_closed()
        # httpx's body iterators left at the cut are closed by the loop's async-generator finalizer, a
        # task each: let them run (a few turns) before the test's check for tasks left behind.
        for _ in range(10):
            await asyncio.sleep(0)


def bomb() -> bytes:
    """A gzip body of a few hundred KiB that inflates to 256 MiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(CHUNK)
    return b"".join(packer.compress(zeros) for _ in range(MOST_CHUNKS)) + packer.flush()


@pytest.mark.parametrize(
    ("answer", "verdict", "status"),
    [
        (endless(b"500 Internal Server Error"), Verdict.RETRY, 500),
        (endless(b"200 OK"), Verdict.DELIVERED, 200),
        (endless(b"400 Bad Request"), Verdict.REJECT, 400),
    ],
    ids=["endless-500", "endless-200", "endless-400"],
)
async def test_an_endless_answer_is_read_no_further_than_needed(answer, verdict, status) -> None:
    async with answering(answer) as (url, sent), httpx.AsyncClient(timeout=10) as client:
        outcome = await post(client, url, b"{}", {"Content-Type": "application/json"})
    assert (outcome.verdict, outcome.status) == (verdict, status)
    assert len(outcome.detail) < 400
    assert sent.bytes < 16 * 1024**2, f"the client read {sent.bytes:,} bytes of an endless answer"


async def test_an_answer_that_inflates_is_cut_and_named() -> None:
    inflating = whole(b"503 Service Unavailable", bomb(), b"Content-Encoding: gzip\r\n")
    async with answering(inflating) as (url, _), httpx.AsyncClient(timeout=10) as client:
        outcome = await post(client, url, b"{}", {"Content-Type": "application/json"})
    assert (outcome.verdict, outcome.status) == (Verdict.RETRY, 503)
    assert outcome.detail.startswith("HTTP 503 Service Unavailable") and len(outcome.detail) < 400


@pytest.mark.parametrize("charset", [b"no-such-charset", b"utf-16", b""])
async def test_a_refusal_in_an_odd_charset_still_gives_its_reason(charset: bytes) -> None:
    header = b"Content-Type: text/plain; charset=" + charset + b"\r\n" if charset else b""
    text = "batch refused: field «value» is not a number"
    body = text.encode("utf-16" if charset == b"utf-16" else "utf-8")
    refusal = whole(b"422 Unprocessable Entity", body, header)
    async with answering(refusal) as (url, _), httpx.AsyncClient(timeout=10) as client:
        outcome = await post(client, url, b"{}", {"Content-Type": "application/json"})
    assert (outcome.verdict, outcome.status) == (Verdict.REJECT, 422)
    assert "field «value» is not a number" in outcome.detail
