"""One HTTP client per endpoint (httpx): TLS, client certificate, secret, proxy, timeouts.

``post`` never raises for what a network or a receiver can do: it sorts every answer
into delivered (2xx), retry (a network error, 5xx, 408, 429 with its Retry-After) or
reject (any other status: the batch is quarantined).
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from enum import Enum

import httpx

from hmi.project.sync_settings import SyncAuth, SyncEndpoint, SyncTls
from hmi.sync.backoff import retry_after

RETRY_STATUSES = frozenset({408, 429})

# httpx logs every request at INFO: a drain would write a line per batch. Our own log says what matters.
logging.getLogger("httpx").setLevel(logging.WARNING)
_BODY_EXCERPT = 300
_ANSWER_READ = 64 * 1024  # of an answer's (decoded) body read at most: an endless or bomb answer stops here


class SyncSetupError(Exception):
    """An endpoint cannot be set up (its secret or certificate files are missing): the message says which."""


class Verdict(Enum):
    """What one attempt at a batch came to."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's verdict, its HTTP status (None for a network error), a detail and a wait asked for."""

    verdict: Verdict
    status: int | None
    detail: str
    retry_after: float | None = None


def read_secret(endpoint: str, auth: SyncAuth) -> str | None:
    """The endpoint's token from its environment variable or the OS keyring (blocking); None without auth."""
    if auth.token_env:
        secret = os.environ.get(auth.token_env)
        if not secret:
            raise SyncSetupError(
                f"sync endpoint {endpoint!r}: environment variable {auth.token_env} is not set"
            )
        return secret
    if auth.token_keyring:
        import keyring
        from keyring.errors import KeyringError

        service, user = auth.token_keyring
        try:
            secret = keyring.get_password(service, user)
        except KeyringError as error:
            raise SyncSetupError(
                f"sync endpoint {endpoint!r}: the OS keyring cannot be read ({error})"
            ) from None
        if not secret:
            raise SyncSetupError(f"sync endpoint {endpoint!r}: no keyring entry {service}/{user}")
        return secret
    return None


def ssl_context(endpoint: str, tls: SyncTls) -> ssl.SSLContext | bool:
    """Verification with the system's CAs or ``tls.ca``; a client certificate for mutual TLS (blocking)."""
    if not tls.verify:
        return False
    for label, path in (("ca", tls.ca), ("cert", tls.cert), ("key", tls.key)):
        if path is not None and not path.is_file():
            raise SyncSetupError(f"sync endpoint {endpoint!r}: tls.{label} file {path} does not exist")
    try:
        context = ssl.create_default_context(cafile=str(tls.ca) if tls.ca else None)
        if tls.cert is not None:
            context.load_cert_chain(str(tls.cert), str(tls.key) if tls.key else None)
    except (ssl.SSLError, OSError) as error:
        raise SyncSetupError(f"sync endpoint {endpoint!r}: cannot load its TLS files ({error})") from None
    return context


def build_client(settings: SyncEndpoint, secret: str | None) -> httpx.AsyncClient:
    """The endpoint's client (blocking: reads certificate files); call it off the loop."""
    headers = {"User-Agent": "converge-hmi-sync"}
    if secret is not None:
        scheme = settings.auth.scheme
        headers[settings.auth.header] = f"{scheme} {secret}" if scheme else secret
    return httpx.AsyncClient(
        verify=ssl_context(settings.name, settings.tls),
        proxy=settings.proxy,
        trust_env=False,  # only the proxy the project names: a stray environment variable must not reroute
        headers=headers,
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        ),
        follow_redirects=False,
        limits=pool_limits(settings),
    )


def pool_limits(settings: SyncEndpoint) -> httpx.Limits:
    """A connection for every batch the endpoint's streams may have in flight at once, each kept alive
    between batches (httpx keeps 20 by default, fewer than four streams of eight)."""
    connections = settings.in_flight * max(1, len(settings.streams))
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


def _network_detail(error: httpx.HTTPError) -> str:
    text = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"TLS: the server's certificate is not trusted ({text}); name the CA that signed it in tls.ca"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__}): {text}"
    return f"{type(error).__name__}: {text}"


async def post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], within: float | None = None
) -> Outcome:
    """One attempt: POST ``body`` and sort the answer (never raises for network or HTTP failures).

    ``within`` caps each phase's timeout (connect, TLS handshake, write, read) at that many seconds,
    for an attempt that must end by a deadline.
    """
    timeout = httpx.USE_CLIENT_DEFAULT if within is None else _capped(client, within)
    try:
        request = client.build_request("POST", url, content=body, headers=headers, timeout=timeout)
        response = await client.send(request, stream=True)
        try:
            # The answer is read (a connection whose answer is left unread is not kept alive), but only
            # so far: an endless answer, or a small one that inflates, must not hold the stream or the memory.
            answer = await _read_some(response, _ANSWER_READ)
        finally:
            await response.aclose()
    except httpx.HTTPError as error:
        return Outcome(Verdict.RETRY, None, _network_detail(error))
    status = response.status_code
    if 200 <= status < 300:  # a drain takes thousands a minute: what the receiver said is not needed
        return Outcome(Verdict.DELIVERED, status, f"HTTP {status} {response.reason_phrase}")
    excerpt = _text(answer[: _BODY_EXCERPT * 4], response.charset_encoding)[:_BODY_EXCERPT].strip()
    detail = f"HTTP {status} {response.reason_phrase}" + (f": {excerpt}" if excerpt else "")
    if status >= 500 or status in RETRY_STATUSES:
        return Outcome(Verdict.RETRY, status, detail, retry_after(response.headers.get("Retry-After")))
    return Outcome(Verdict.REJECT, status, detail)


async def _read_some(response: httpx.Response, limit: int) -> bytes:
    """Up to about ``limit`` bytes of the decoded body; the rest is not read (the connection is dropped)."""
    chunks: list[bytes] = []
    held = 0
    async for chunk in response.aiter_bytes():  # cut short, the loop's finalizer closes the iterators
        chunks.append(chunk)
        held += len(chunk)
        if held >= limit:
            break
    return b"".join(chunks)


def _text(data: bytes, charset: str | None) -> str:
    """``data`` as text in the answer's charset, or UTF-8 when it names none or one Python lacks."""
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _capped(client: httpx.AsyncClient, within: float) -> httpx.Timeout:
    """The client's timeouts, none longer than ``within`` seconds."""
    own = client.timeout
    phases = {"connect": own.connect, "read": own.read, "write": own.write, "pool": own.pool}
    return httpx.Timeout(**{name: within if s is None else min(s, within) for name, s in phases.items()})
