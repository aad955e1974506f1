"""The shape of ``project.yaml`` as strict pydantic models: unknown keys and wrong types are errors.

These models judge each entry on its own; checks across entries (a tag's
connection exists, addresses do not overlap...) live in :mod:`hmi.project.loader`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
)

from drivers.settings import BYTE_ORDERS, SECURITY_MODES, SECURITY_POLICIES, ModbusSettings, OpcUaSettings
from hmi.model import DataType, TagDef
from hmi.project.config import AlarmDef, ConnectionConfig, HistorySettings, TrendDef
from hmi.project.errors import did_you_mean
from hmi.project.units import parse_duration, parse_size

DEPRECATED_POLICIES = {
    "Basic128Rsa15": "it relies on SHA-1 and RSA PKCS#1 v1.5, both broken",
    "Basic256": "it relies on SHA-1, which is broken",
}
DEFAULT_SCAN_CLASSES = {"fast": 0.25, "normal": 1.0, "slow": 10.0}
MAX_STRING_LENGTH = 250  # one Modbus read returns at most 125 registers; a string must arrive whole

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TagDef)}


class StrictModel(BaseModel):
    """A project-file mapping: unknown keys are errors; a number is accepted where text is expected."""

    # Numbers become text so that an unquoted Modicon address (400101) or label (101) reads as written.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _none_as_empty(value: Any) -> Any:
    """A section written with no entries (``alarms:``) is empty, not an error."""
    return {} if value is None else value


def _check_byte_order(value: str) -> str:
    if value not in BYTE_ORDERS:
        raise ValueError(
            f"unknown byte order {value!r}: expected one of {', '.join(BYTE_ORDERS)}"
            + did_you_mean(value, BYTE_ORDERS)
        )
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[Duration, Field(gt=0)]
Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
ByteOrder = Annotated[str, AfterValidator(_check_byte_order)]
Text = Annotated[str, AfterValidator(_check_not_blank)]


class ModbusConnectionSpec(StrictModel):
    """``driver: modbus`` — a Modbus TCP server."""

    driver: Literal["modbus"]
    host: Text
    port: StrictInt = Field(502, ge=1, le=65535)
    unit: StrictInt = Field(1, ge=0, le=255)
    timeout: PositiveDuration = 1.0
    byte_order: ByteOrder = "ABCD"
    max_gap: StrictInt = Field(8, ge=0, le=125)
    sockets: StrictInt = Field(1, ge=1, le=16)
    verify: StrictBool = False

    def to_config(self, name: str) -> ConnectionConfig:
        """The validated connection as the runtime takes it."""
        settings = ModbusSettings(
            self.host,
            self.port,
            self.unit,
            self.timeout,
            self.byte_order,
            self.max_gap,
            sockets=self.sockets,
            verify=self.verify,
        )
        return ConnectionConfig(name, self.driver, settings)


class OpcUaConnectionSpec(StrictModel):
    """``driver: opcua`` — an OPC UA server. Passwords come from the environment, never from the file."""

    driver: Literal["opcua"]
    endpoint: str
    security: str = "None"
    mode: str | None = None
    timeout: PositiveDuration = 4.0
    username: Text | None = None
    password_env: str | None = None
    password_keyring: str | None = None
    queue_size: StrictInt = Field(10_000, ge=1, le=1_000_000)
    discard_oldest: StrictBool = True
    pki_dir: Text | None = None
    # Declared only to refuse it with a useful message; never stored.
    password: Any = Field(None, exclude=True)

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        if not value.startswith("opc.tcp://") or not urlsplit(value).hostname:
            raise ValueError(f"{value!r} is not an opc.tcp://HOST[:PORT][/PATH] URL")
        return value

    @field_validator("security")
    @classmethod
    def _check_security(cls, value: str) -> str:
        if value in DEPRECATED_POLICIES:
            raise ValueError(
                f"policy {value!r} is deprecated and refused: {DEPRECATED_POLICIES[value]}; "
                f"use one of {', '.join(SECURITY_POLICIES)}"
            )
        if value not in SECURITY_POLICIES:
            raise ValueError(
                f"unknown policy {value!r}: expected one of {', '.join(SECURITY_POLICIES)}"
                + did_you_mean(value, SECURITY_POLICIES)
            )
        return value

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: str, info: ValidationInfo) -> str:
        if value not in SECURITY_MODES:
            raise ValueError(
                f"unknown mode {value!r}: expected one of {', '.join(SECURITY_MODES)}"
                + did_you_mean(value, SECURITY_MODES)
            )
        security = info.data.get("security")
        if security is not None and (security == "None") != (value == "None"):
            raise ValueError(
                f"{value!r} does not match security {security!r}: "
                "mode is None exactly when security is None (otherwise Sign or SignAndEncrypt)"
            )
        return value

    @field_validator("password_env")
    @classmethod
    def _check_password_env(cls, value: str, info: ValidationInfo) -> str:
        if not _ENV_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        # A username that failed its own check is absent from info.data: do not report it twice.
        if "username" in info.data and info.data["username"] is None:
            raise ValueError("needs a username to go with it")
        return value

    @field_validator("password_keyring")
    @classmethod
    def _check_password_keyring(cls, value: str, info: ValidationInfo) -> str:
        service, _, user = value.rpartition("/")
        if not service.strip() or not user.strip():
            raise ValueError(f"{value!r} is not SERVICE/USER (the keyring entry holding the password)")
        if info.data.get("password_env") is not None:
            raise ValueError("give either password_env or password_keyring, not both")
        if "username" in info.data and info.data["username"] is None:
            raise ValueError("needs a username to go with it")
        return value

    @field_validator("pki_dir")
    @classmethod
    def _check_pki_dir(cls, value: str) -> str:
        if not Path(value).expanduser().is_absolute():
            raise ValueError(f"{value!r} must be an absolute path (it holds the client's private key)")
        return value

    @field_validator("password")
    @classmethod
    def _refuse_password(cls, value: Any) -> Any:
        raise ValueError(
            "plaintext passwords are not allowed in project files: name an environment variable "
            "with password_env, or store the password in the OS keyring"
        )

    @property
    def effective_mode(self) -> str:
        """The mode to use: as written, else SignAndEncrypt with a policy and None without."""
        if self.mode is not None:
            return self.mode
        return "None" if self.security == "None" else "SignAndEncrypt"

    def to_config(self, name: str) -> ConnectionConfig:
        """The validated connection as the runtime takes it."""
        settings = OpcUaSettings(
            self.endpoint,
            self.security,
            self.effective_mode,
            self.timeout,
            self.username,
            self.password_env,
            password_keyring=self.password_keyring,
            queue_size=self.queue_size,
            discard_oldest=self.discard_oldest,
            pki_dir=str(Path(self.pki_dir).expanduser()) if self.pki_dir else None,
        )
        return ConnectionConfig(name, self.driver, settings)


ConnectionSpec = Annotated[ModbusConnectionSpec | OpcUaConnectionSpec, Field(discriminator="driver")]


class TagSpec(StrictModel):
    """One tag. Optional keys left out are ``None`` so checks can tell 'not written' from a default."""

    connection: str | None = None
    address: Text
    type: DataType = DataType.FLOAT64
    byte_order: ByteOrder | None = None
    units: str = ""
    description: str = ""
    scan: str = "normal"
    deadband: StrictFloat | None = Field(None, ge=0)
    deadband_percent: StrictFloat | None = Field(None, gt=0, le=100)
    writable: StrictBool = False
    limits: tuple[StrictFloat, StrictFloat] | None = None
    decimals: StrictInt | None = Field(None, ge=0, le=12)
    length: StrictInt | None = Field(None, ge=1, le=MAX_STRING_LENGTH)
    unit: StrictInt | None = Field(None, ge=0, le=255)
    verify: StrictBool | None = None
    history_deadband: StrictFloat | None = Field(None, ge=0)
    history_deadband_percent: StrictFloat | None = Field(None, gt=0, le=100)
    history_swinging_door: StrictBool = False

    @field_validator("limits")
    @classmethod
    def _check_limits(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not low < high:
            raise ValueError(f"the low limit {low:g} must be below the high limit {high:g}")
        return value

    # `type` is declared above these keys, so it is already in info.data when they are checked.
    @field_validator(
        "limits", "deadband", "deadband_percent", "decimals", "history_deadband", "history_deadband_percent"
    )
    @classmethod
    def _only_numeric(cls, value: Any, info: ValidationInfo) -> Any:
        data_type = info.data.get("type")
        if data_type is not None and not data_type.is_numeric:
            raise ValueError(f"not allowed on a {data_type} tag (numeric tags only)")
        return value

    @field_validator("history_deadband_percent")
    @classmethod
    def _percent_of_limits(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("limits") is None:
            raise ValueError("needs limits: [low, high], the range the percentage is taken of")
        return value

    @field_validator("history_swinging_door")
    @classmethod
    def _door_needs_a_band(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not (info.data.get("history_deadband") or info.data.get("history_deadband_percent")):
            raise ValueError("needs history_deadband or history_deadband_percent: the deviation it allows")
        return value

    @field_validator("length")
    @classmethod
    def _only_string(cls, value: int, info: ValidationInfo) -> int:
        data_type = info.data.get("type")
        if data_type is not None and data_type is not DataType.STRING:
            raise ValueError(f"not allowed on a {data_type} tag (string tags only)")
        return value

    def to_def(self, name: str, connection_byte_order: str | None, scan_period: float) -> TagDef:
        """The runtime's view of this tag; its byte order defaults to its connection's."""
        return TagDef(
            name=name,
            connection=self.connection,
            address=self.address,
            type=self.type,
            byte_order=self.byte_order or connection_byte_order or _TAG_DEFAULTS["byte_order"],
            units=self.units,
            description=self.description,
            scan=self.scan,
            scan_period=scan_period,
            deadband=self.deadband or 0.0,
            deadband_percent=self.deadband_percent or 0.0,
            writable=self.writable,
            limits=self.limits,
            decimals=_TAG_DEFAULTS["decimals"] if self.decimals is None else self.decimals,
            string_length=self.length or 0,
            unit=self.unit,
            verify=self.verify,
            history_deadband=self.history_deadband or 0.0,
            history_deadband_percent=self.history_deadband_percent or 0.0,
            history_swinging_door=self.history_swinging_door,
        )


class AlarmSpec(StrictModel):
    """A limit alarm on one numeric tag."""

    tag: str
    type: Literal["hihi", "hi", "lo", "lolo"]
    limit: StrictFloat
    deadband: StrictFloat = Field(0.0, ge=0)
    on_delay: Duration = 0.0
    off_delay: Duration = 0.0
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    message: str = ""
    screen: str | None = None

    def to_def(self, name: str) -> AlarmDef:
        """The validated alarm as the alarm engine takes it."""
        return AlarmDef(name, **self.model_dump())


class TrendSpec(StrictModel):
    """A saved trend; its title defaults to its name."""

    title: str | None = None
    span: PositiveDuration = 600.0
    pens: list[str] = Field(min_length=1)

    def to_def(self, name: str) -> TrendDef:
        """The validated trend; an untitled trend is titled by its name."""
        return TrendDef(name, self.title or name, tuple(self.pens), self.span)


class HistorySpec(StrictModel):
    """Where history is kept (relative paths are relative to the project folder) and for how long."""

    path: Text = "history.db"
    retention: PositiveDuration = 400 * 86400.0
    max_size: Size = 20 * 1024**3
    commit_interval: PositiveDuration = 1.0

    def to_settings(self, root: Path) -> HistorySettings:
        """The history settings, with a relative path taken from the project folder ``root``."""
        return HistorySettings(root / self.path, self.retention, self.max_size, self.commit_interval)


class ProjectSpec(StrictModel):
    """The whole of ``project.yaml``."""

    name: Text
    start_screen: str | None = None
    connections: Annotated[dict[str, ConnectionSpec], BeforeValidator(_none_as_empty)] = {}
    scan_classes: Annotated[dict[str, PositiveDuration], BeforeValidator(_none_as_empty)] = Field(
        default_factory=lambda: dict(DEFAULT_SCAN_CLASSES)
    )
    tags: Annotated[dict[str, TagSpec], BeforeValidator(_none_as_empty)] = {}
    alarms: Annotated[dict[str, AlarmSpec], BeforeValidator(_none_as_empty)] = {}
    trends: Annotated[dict[str, TrendSpec], BeforeValidator(_none_as_empty)] = {}
    history: Annotated[HistorySpec, BeforeValidator(_none_as_empty)] = HistorySpec()


SECTION_NOUNS = {
    "connections": "connection",
    "scan_classes": "scan class",
    "tags": "tag",
    "alarms": "alarm",
    "trends": "trend",
}
"""What one entry of each named section is called in messages."""
