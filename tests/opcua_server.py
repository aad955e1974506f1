"""A real asyncua OPC UA server on 127.0.0.1 for tests, with a small plant namespace.

Use it inside the test body so that it stops before the test ends (the suite
fails a test that leaves asyncio tasks running)::

    async with opcua_test_server(free_port()) as server:
        node = await server.add_variable("Plant.Tank1.Temperature", 21.5, ua.VariantType.Double)
        ...
        await server.set_value("Plant.Tank1.Temperature", 22.0, status=ua.StatusCodes.BadSensorFailure)

Building the standard address space takes about a second, so keep the number
of servers per test module small. ``stop()`` then ``start()`` restarts the same
server on the same port quickly (for reconnect tests). With ``users`` and/or
``user_certificates`` (DER, with an ``identity``) it accepts exactly those user
names/passwords and X.509 user certificates, and refuses anonymous sessions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import CertificateUserManager
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import DNSName, UniformResourceIdentifier
from cryptography.x509.oid import ExtendedKeyUsageOID

NAMESPACE_URI = "urn:converge-hmi:test-plant"
SERVER_URI = "urn:converge-hmi:test-server"


@dataclass(frozen=True)
class ServerIdentity:
    """The test server's application certificate (DER) and private key (PEM)."""

    certificate: bytes
    private_key: bytes


def make_server_identity() -> ServerIdentity:
    """A fresh self-signed server certificate; generate it once per session, RSA takes a moment."""
    key = cert_gen.generate_private_key()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,
        "Converge test server",
        {},
        [UniformResourceIdentifier(SERVER_URI), DNSName(socket.gethostname()), DNSName("localhost")],
        extended=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    return ServerIdentity(cert.public_bytes(Encoding.DER), cert_gen.dump_private_key_as_pem(key))


class _KnownUsers:
    """Accepts exactly the configured user names and passwords, and the user certificates that
    asyncua's CertificateUserManager was given; refuses anonymous sessions."""

    def __init__(self, users: Mapping[str, str], certificates: CertificateUserManager) -> None:
        self._users = dict(users)
        self._certificates = certificates

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is not None and self._users.get(username) == password:
            return User(role=UserRole.User, name=username)
        if certificate is not None:
            return self._certificates.get_user(iserver, certificate=certificate)
        return None


class OpcUaTestServer:
    """An asyncua ``Server`` bound to 127.0.0.1:``port`` whose variables live under namespace 2."""

    def __init__(
        self,
        port: int,
        identity: ServerIdentity | None = None,
        users: Mapping[str, str] | None = None,
        *,
        user_certificates: Sequence[bytes] = (),
    ) -> None:
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/"
        self._identity = identity
        self._users = users
        # DER user certificates accepted as X.509 identities (they need ``identity``: tokens are signed).
        self._user_certificates = tuple(user_certificates)
        self._server: Server | None = None
        self._ns = 0
        self._types: dict[str, ua.VariantType] = {}
        self.monitored_item_calls: list[int] = []
        """The number of items in each CreateMonitoredItems call the server received."""
        self._item_limit = 0

    @property
    def server(self) -> Server:
        """The underlying asyncua server, for anything this helper does not wrap."""
        assert self._server is not None, "start() the server first"
        return self._server

    async def start(self) -> None:
        """Build the address space on first start, then listen."""
        if self._server is None:
            await self._build()
        await self.server.start()

    async def stop(self) -> None:
        """Stop as a server process would: drop every connection and forget every session."""
        if self._server is None:
            return
        await self._server.stop()
        # asyncua keeps sessions with subscriptions alive after their connection drops, so a
        # client could resume them; a stopped server process would not, and their timers would
        # outlive the test.
        for session in list(self._server.iserver._external_sessions.values()):
            await session.close_session(True)

    async def _build(self) -> None:
        server = Server(user_manager=await self._user_manager())
        await server.init()
        # The clock task rewrites a node every second and makes stop() wait for it.
        server.disable_clock(True)
        server.set_endpoint(self.endpoint)
        server.set_server_name("Converge test server")
        await server.set_application_uri(SERVER_URI)
        if self._identity is not None:
            await server.load_certificate(self._identity.certificate, format="der")
            await server.load_private_key(self._identity.private_key, format="pem")
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        tokens = [ua.UserNameIdentityToken] if self._users else []
        tokens += [ua.X509IdentityToken] if self._user_certificates else []
        if tokens:
            server.set_identity_tokens(tokens)
        self._ns = await server.register_namespace(NAMESPACE_URI)
        self._count_monitored_item_calls(server)
        self._server = server

    async def _user_manager(self) -> _KnownUsers | None:
        """None (anyone may log in) unless users or user certificates are configured."""
        if not self._users and not self._user_certificates:
            return None
        certificates = CertificateUserManager()
        for index, certificate in enumerate(self._user_certificates):
            await certificates.add_user(certificate, f"certificate-user-{index}", format="der")  # type: ignore[arg-type]
        return _KnownUsers(self._users or {}, certificates)

    async def limit_monitored_items_per_call(self, limit: int) -> None:
        """State MaxMonitoredItemsPerCall = ``limit`` and refuse larger calls (BadTooManyOperations), as a
        strict server does."""
        limits = ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall
        await self.server.get_node(ua.NodeId(limits)).write_value(ua.Variant(limit, ua.VariantType.UInt32))
        self._item_limit = limit

    def _count_monitored_item_calls(self, server: Server) -> None:
        service = server.iserver.subscription_service
        create = service.create_monitored_items

        async def counted(params: ua.CreateMonitoredItemsParameters) -> list[ua.MonitoredItemCreateResult]:
            self.monitored_item_calls.append(len(params.ItemsToCreate))
            if self._item_limit and len(params.ItemsToCreate) > self._item_limit:
                raise ServiceError(ua.StatusCodes.BadTooManyOperations)
            return await create(params)

        service.create_monitored_items = counted  # type: ignore[method-assign]

    def sessions(self) -> int:
        """Sessions the server holds now (a session whose connection dropped is kept for a while)."""
        return len(self.server.iserver._external_sessions)

    def node_id(self, path: str) -> str:
        """The NodeId string a tag uses for the variable at ``path`` (``ns=2;s=<path>``)."""
        return f"ns={self._ns};s={path}"

    async def add_variable(
        self, path: str, value: Any, vtype: ua.VariantType, *, writable: bool = False
    ) -> str:
        """Add a variable of built-in type ``vtype`` under Objects; returns its NodeId string."""
        node = await self.server.nodes.objects.add_variable(
            ua.NodeId(path, self._ns), ua.QualifiedName(path.rsplit(".", 1)[-1], self._ns), value, vtype
        )
        if writable:
            await node.set_writable()
        self._types[path] = vtype
        return self.node_id(path)

    async def set_value(
        self,
        path: str,
        value: Any,
        *,
        status: int = ua.StatusCodes.Good,
        source_ts: dt.datetime | None = None,
    ) -> None:
        """Change a variable as a device would, with a StatusCode and a source timestamp (default: now)."""
        now = dt.datetime.now(dt.UTC)
        data_value = ua.DataValue(
            ua.Variant(value, self._types[path]),
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=source_ts or now,
            ServerTimestamp=now,
        )
        await self.server.write_attribute_value(ua.NodeId(path, self._ns), data_value)

    async def read_value(self, path: str) -> Any:
        """The variable's current value as the server holds it."""
        return self.server.read_attribute_value(ua.NodeId(path, self._ns)).Value.Value

    async def add_analog_variable(
        self,
        path: str,
        value: float,
        vtype: ua.VariantType,
        *,
        units: str,
        eu_range: tuple[float, float],
        parent: str | None = None,
        writable: bool = False,
    ) -> str:
        """A variable with EngineeringUnits and EURange properties (as an AnalogItem has), under
        the folder ``parent`` (made with ``add_folder``) or Objects; returns its NodeId string."""
        folder = self.server.get_node(ua.NodeId(parent, self._ns)) if parent else self.server.nodes.objects
        node = await folder.add_variable(
            ua.NodeId(path, self._ns), ua.QualifiedName(path.rsplit(".", 1)[-1], self._ns), value, vtype
        )
        if writable:
            await node.set_writable()
        info = ua.EUInformation(
            NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
            UnitId=-1,
            DisplayName=ua.LocalizedText(units),
            Description=ua.LocalizedText(units),
        )
        await node.add_property(0, "EngineeringUnits", info)
        await node.add_property(0, "EURange", ua.Range(Low=eu_range[0], High=eu_range[1]))
        self._types[path] = vtype
        return self.node_id(path)

    async def add_folder(self, path: str) -> str:
        """A folder under Objects; returns its NodeId string."""
        await self.server.nodes.objects.add_folder(
            ua.NodeId(path, self._ns), ua.QualifiedName(path.rsplit(".", 1)[-1], self._ns)
        )
        return self.node_id(path)


@asynccontextmanager
async def opcua_test_server(
    port: int,
    identity: ServerIdentity | None = None,
    users: Mapping[str, str] | None = None,
    *,
    user_certificates: Sequence[bytes] = (),
) -> AsyncIterator[OpcUaTestServer]:
    """A started OpcUaTestServer, stopped on exit however the block ends."""
    server = OpcUaTestServer(port, identity, users, user_certificates=user_certificates)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class FreezableRelay:
    """A TCP relay from 127.0.0.1:``port`` to 127.0.0.1:``target_port`` that can stop relaying.

    Frozen, it keeps every connection open but passes no bytes either way: to the
    client it looks like a server that hangs, which only keep-alives and request
    timeouts can reveal (a stopped server, by contrast, closes the socket).
    """

    def __init__(self, target_port: int, port: int) -> None:
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/"
        self._target_port = target_port
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._listener: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    def freeze(self) -> None:
        """Hold every byte from now on, in both directions."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Relay again (held bytes go through first)."""
        self._flowing.set()

    def cut(self) -> None:
        """Close every relayed connection, as a pulled cable would (new connections are relayed again)."""
        for writer in self._writers:
            writer.close()
        self._writers = []

    async def start(self) -> None:
        """Listen on 127.0.0.1:``port``."""
        self._listener = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening, cut every relayed connection and wait for its pumps to end."""
        if self._listener is not None:
            self._listener.close()
        for writer in self._writers:
            writer.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._listener is not None:
            await self._listener.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            client_writer.close()
            return
        self._writers += [client_writer, server_writer]
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            pump = asyncio.create_task(self._pump(reader, writer), name="test-relay-pump")
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def freezable_relay(target_port: int, port: int) -> AsyncIterator[FreezableRelay]:
    """A started FreezableRelay, stopped on exit however the block ends."""
    relay = FreezableRelay(target_port, port)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()
