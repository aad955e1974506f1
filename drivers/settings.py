"""Per-connection settings of each driver, built by the project loader from validated YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.modbus_scaling import LinearScale
from hmi.model import DataType

BYTE_ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
"""Register byte/word orders: ABCD big-endian words and bytes, CDAB swapped words, BADC swapped bytes."""

SECURITY_POLICIES = ("None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss")
"""OPC UA policies we accept. Basic128Rsa15 and Basic256 are deprecated and refused."""

SECURITY_MODES = ("None", "Sign", "SignAndEncrypt")


@dataclass(frozen=True, slots=True)
class ModbusSettings:
    """A Modbus TCP connection."""

    host: str
    port: int = 502
    unit: int = 1
    timeout: float = 1.0
    byte_order: str = "ABCD"
    max_gap: int = 8
    sockets: int = 1
    """TCP connections opened to the device; scan work is spread over them (each serializes its own)."""
    verify: bool = False
    """Read every write back and fail it when the device holds another value."""


@dataclass(frozen=True, slots=True)
class ModbusTagLink:
    """What a Modbus tag needs beyond its address: held by ``TagDef.link``."""

    byte_order: str = "ABCD"
    """Register byte/word order of the value; the loader fills in the connection's when the tag has none."""
    unit: int | None = None
    """Unit id overriding the connection's (a gateway serves many devices)."""
    verify: bool | None = None
    """Read back after a write and compare; None leaves it to the connection."""
    scale: LinearScale | None = None
    """Engineering-unit scaling of an integer register; the tag's value is then a float64."""
    raw_type: DataType | None = None
    """The register's own type when ``scale`` is set (the tag's type is then float64)."""

    @classmethod
    def of(cls, link: Any) -> ModbusTagLink:
        """The tag's Modbus link, or the defaults for a tag built without one."""
        return link if isinstance(link, ModbusTagLink) else _MODBUS_DEFAULTS

    def write_problem(self, value: Any) -> str | None:
        """Why an engineering value cannot be written exactly to a scaled register (None when it can).

        The one write check asks every tag's link this, so an operator's entry, a screen button
        and ``hmi write`` refuse a value between two raw steps before anything is sent.
        """
        if self.scale is None or self.raw_type is None:
            return None
        try:
            self.scale.raw_for_write(value, self.raw_type)
        except ValueError as exc:
            return str(exc)
        return None

    def register_type(self, tag_type: DataType) -> DataType:
        """The type held in the registers: the raw type of a scaled tag, else the tag's own."""
        return self.raw_type if self.raw_type is not None else tag_type


_MODBUS_DEFAULTS = ModbusTagLink()


@dataclass(frozen=True, slots=True)
class OpcUaTagLink:
    """What an OPC UA tag needs beyond its NodeId: held by ``TagDef.link``."""

    deadband_percent: float = 0.0
    """Percent-of-EURange deadband the server applies (0: none)."""

    @classmethod
    def of(cls, link: Any) -> OpcUaTagLink:
        """The tag's OPC UA link, or the defaults for a tag built without one."""
        return link if isinstance(link, OpcUaTagLink) else _OPCUA_DEFAULTS


_OPCUA_DEFAULTS = OpcUaTagLink()


@dataclass(frozen=True, slots=True)
class OpcUaSettings:
    """An OPC UA client connection."""

    endpoint: str
    security: str = "None"
    mode: str = "None"
    timeout: float = 4.0
    username: str | None = None
    password_env: str | None = None
    password_keyring: str | None = None
    """``SERVICE/USER`` of an entry in the OS keyring holding the password."""
    queue_size: int = 10_000
    """Server-side queue per monitored item: a burst between two publishes is delivered whole."""
    discard_oldest: bool = True
    """When a monitored item's queue overflows the server drops the oldest value (else the newest)."""
    pki_dir: str | None = None
    """Folder of the client certificate and trust list; default: CONVERGE_HMI_PKI or the user data dir."""
    user_certificate: str | None = None
    """X.509 user identity (instead of a username): the user's certificate file, PEM or DER."""
    user_private_key: str | None = None
    """The private key file (PEM or DER) of ``user_certificate``."""
    user_key_password_env: str | None = None
    """Environment variable holding the passphrase of an encrypted ``user_private_key``."""
    max_clock_skew: float = 300.0
    """A source timestamp further ahead of the receive time (s) is a wrong clock: UNCERTAIN, restamped."""
    max_source_age: float = 86_400.0
    """A source timestamp older than this (s) is replaced with the receive time."""
    allow_insecure_password: bool = False
    """Send a user's password over a channel without security (``security: None``): in clear text."""
