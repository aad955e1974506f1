"""``driver: opcua`` connection entries: the strict schema of an OPC UA client connection.

Passwords come from the environment or the OS keyring, never from the project file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, StrictBool, StrictInt, ValidationInfo, field_validator, model_validator

from drivers.connection_fields import (
    ENV_NAME,
    ConnectionModel,
    PathText,
    PositiveDuration,
    Text,
    did_you_mean,
    project_file_text,
    within,
)
from drivers.settings import SECURITY_MODES, SECURITY_POLICIES, OpcUaSettings

MAX_ENDPOINT_LENGTH = 4096
DEPRECATED_POLICIES = {
    "Basic128Rsa15": "it relies on SHA-1 and RSA PKCS#1 v1.5, both broken",
    "Basic256": "it relies on SHA-1, which is broken",
}


class OpcUaConnectionSpec(ConnectionModel):
    """``driver: opcua`` — an OPC UA server. Passwords come from the environment, never from the file."""

    driver: Literal["opcua"]
    endpoint: str
    security: str = "None"
    mode: str | None = None
    timeout: Annotated[PositiveDuration, within("100ms", "10m")] = 4.0
    username: Text | None = None
    password_env: str | None = None
    password_keyring: str | None = None
    user_certificate: PathText | None = None
    user_private_key: PathText | None = None
    user_key_password_env: str | None = None
    queue_size: StrictInt = Field(10_000, ge=1, le=1_000_000)
    max_clock_skew: Annotated[PositiveDuration, within("1s", "365d")] = 300.0
    max_source_age: Annotated[PositiveDuration, within("1s", "36500d")] = 86_400.0
    discard_oldest: StrictBool = True
    pki_dir: PathText | None = None
    allow_insecure_password: StrictBool = False
    # Declared only to refuse it with a useful message; never stored.
    password: Any = Field(None, exclude=True)

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str) -> str:
        if len(value) > MAX_ENDPOINT_LENGTH or "\0" in value:
            raise ValueError(f"not an opc.tcp:// URL of at most {MAX_ENDPOINT_LENGTH} characters")
        if not value.startswith("opc.tcp://") or not urlsplit(value).hostname:
            raise ValueError(f"{value!r} is not an opc.tcp://HOST[:PORT][/PATH] URL")
        try:
            port = urlsplit(value).port
        except ValueError:  # urllib: "Port out of range" or not a number
            port = -1
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
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
        if not ENV_NAME.fullmatch(value):
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

    @field_validator("user_certificate")
    @classmethod
    def _check_user_certificate(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("username") is not None:
            raise ValueError("give either username or user_certificate, not both")
        if info.data.get("security") == "None":
            # The token's signature covers the server certificate: only a secure channel has one.
            raise ValueError("an X.509 user certificate needs a secure channel: set security (and mode)")
        return value

    @field_validator("user_key_password_env")
    @classmethod
    def _check_user_key_password_env(cls, value: str, info: ValidationInfo) -> str:
        if not ENV_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        if "user_private_key" in info.data and info.data["user_private_key"] is None:
            raise ValueError("needs a user_private_key to go with it")
        return value

    @model_validator(mode="after")
    def _user_certificate_with_its_key(self) -> OpcUaConnectionSpec:
        if (self.user_certificate is None) != (self.user_private_key is None):
            raise ValueError("user_certificate and user_private_key go together: give both")
        return self

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> OpcUaConnectionSpec:
        if self.sends_password_in_clear and not self.allow_insecure_password:
            raise ValueError(
                f"username {self.username!r} with security None: its password would cross the network in "
                "clear text; set security (and mode), or allow_insecure_password: true to accept that"
            )
        return self

    @property
    def sends_password_in_clear(self) -> bool:
        """A user name with a password, over a channel without security."""
        has_password = self.password_env is not None or self.password_keyring is not None
        return self.security == "None" and self.username is not None and has_password

    def warnings(self) -> list[tuple[str, str]]:
        """The password in clear text that ``allow_insecure_password`` accepted."""
        if self.sends_password_in_clear and self.allow_insecure_password:
            reason = "security None, allowed by allow_insecure_password"
            return [
                (
                    "allow_insecure_password",
                    f"the password of {self.username!r} crosses the network in clear text ({reason})",
                )
            ]
        return []

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

    def to_settings(self, root: Path) -> OpcUaSettings:
        """The validated connection; relative user key files are taken from the project folder ``root``."""
        return OpcUaSettings(
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
            user_certificate=project_file_text(root, self.user_certificate),
            user_private_key=project_file_text(root, self.user_private_key),
            user_key_password_env=self.user_key_password_env,
            max_clock_skew=self.max_clock_skew,
            max_source_age=self.max_source_age,
            allow_insecure_password=self.allow_insecure_password,
        )
