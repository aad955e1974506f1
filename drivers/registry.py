"""The driver registry: the one place that knows which driver kinds exist and what each declares.

A driver kind brings its connection schema, the checks of its tags' addresses, the
factory of its driver, the type of its diagnostics and what else it offers
(browsing, certificates). The project loader, the runtime and the ui ask the
registry; none of them names a protocol. Adding a protocol is one declaration
module in this package, listed in ``BUILTIN_KINDS``.

Declarations are light: they must not import a protocol library, so that a
Modbus-only plant never loads asyncua. Factories import their driver when called.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hmi.model import DataType, DriverDiagnostics, StalePolicy, TagDef

if TYPE_CHECKING:
    from pydantic import BaseModel

    from drivers.base import Driver, SampleSink, StatusSink

BUILTIN_KINDS = ("drivers.modbus_kind", "drivers.opcua_kind")
"""Modules that declare (and register) the kinds shipped with the application, imported on first use."""

BROWSE = "browse"
"""Feature: the server's address space can be browsed for tags."""
CERTIFICATES = "certificates"
"""Feature: the connection trusts server certificates from a PKI folder."""


class TagEntry(Protocol):
    """The fields of a validated tag entry that a kind's checks read."""

    address: str
    type: DataType
    writable: bool


@dataclass(frozen=True, slots=True)
class TagToCheck:
    """A tag to be checked by its connection's kind; ``settings`` is None when the connection is invalid."""

    name: str
    tag: Any
    """The tag's validated entry (a :class:`TagEntry` with the project's optional keys, None when absent)."""
    connection: str
    settings: Any | None
    """The connection's validated entry (an instance of the kind's ``connection_model``)."""


@dataclass(frozen=True, slots=True)
class TagIssue:
    """A problem with one tag: the key it is at and the message (without the 'tag NAME:' subject)."""

    tag: str
    key: str
    message: str


@dataclass(frozen=True, slots=True)
class DriverContext:
    """What the application hands a factory beside the connection: services a driver may need."""

    resolve_pki_dir: Callable[[str | None], Path] | None = None
    """The PKI folder for a configured one (or None): the project's, the environment's or the user's."""

    stale: StalePolicy = field(default_factory=StalePolicy)
    """The runtime's stale rule, which a polling driver must not outwit by re-sending old samples."""


DriverFactory = Callable[[str, Any, Sequence[TagDef], "SampleSink", "StatusSink", DriverContext], "Driver"]
"""(connection name, settings, tags, on_sample, on_status, context) -> a driver not yet started."""

TagCheck = Callable[[TagToCheck], list[TagIssue]]
TagsCheck = Callable[[Sequence[TagToCheck]], list[TagIssue]]
TagLink = Callable[[TagToCheck], Any]
"""Builds the object ``TagDef.link`` holds from a valid tag entry (and its connection's entry)."""


def _no_issues(_tags: Sequence[TagToCheck]) -> list[TagIssue]:
    return []


def _no_link(_tag: TagToCheck) -> None:
    return None


@dataclass(frozen=True, slots=True)
class DriverKind:
    """Everything the application needs to know about one protocol, declared by its driver package."""

    name: str
    """The ``driver:`` value of a connection entry."""
    title: str
    """How messages name the protocol (``OPC UA``)."""
    connection_model: type[BaseModel]
    """A strict model with ``driver: Literal[name]`` first and ``to_settings(root)``."""
    factory: DriverFactory
    check_tag: TagCheck
    """Checks one tag's address and options against the protocol."""
    check_tags: TagsCheck = _no_issues
    """Checks across the kind's tags (overlapping addresses); runs after every tag's own check."""
    tag_link: TagLink = _no_link
    """Builds the tag's driver-specific options (``TagDef.link``); by default the tag has none."""
    diagnostics: type[DriverDiagnostics] = DriverDiagnostics
    """The type of the driver's ``diagnostics()`` snapshot."""
    tag_keys: frozenset[str] = frozenset()
    """Optional tag keys that mean something only to this kind; other kinds' tags refuse them."""
    file_keys: tuple[str, ...] = ()
    """Connection keys naming files of the project folder, which must exist when the project is checked."""
    features: frozenset[str] = field(default_factory=frozenset)
    """What else the kind offers (:data:`BROWSE`, :data:`CERTIFICATES`)."""
    reports_every_scan: bool = True
    """Whether its drivers publish every read (polling), as ``Driver.reports_every_scan`` says of each:
    known before a driver exists, for a driver that runs in another process."""

    def create(
        self,
        name: str,
        settings: Any,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        context: DriverContext | None = None,
    ) -> Driver:
        """A driver for connection ``name`` with its validated ``settings``."""
        return self.factory(name, settings, tags, on_sample, on_status, context or DriverContext())


class UnknownDriverKind(ValueError):
    """A connection names a driver no kind declares; the message lists the known ones."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown driver {name!r}: expected one of {', '.join(known)}")
        self.name = name
        self.known = tuple(known)


_lock = threading.RLock()
_kinds: dict[str, DriverKind] = {}
_builtins_loaded = False
_generation = 0


def register(kind: DriverKind) -> None:
    """Make ``kind`` known; registering the same declaration twice is harmless, another of its name is not."""
    global _generation
    with _lock:
        present = _kinds.get(kind.name)
        if present is kind:
            return
        if present is not None:
            raise ValueError(f"driver kind {kind.name!r} is already registered")
        _kinds[kind.name] = kind
        _generation += 1


def unregister(name: str) -> None:
    """Forget the kind ``name`` (a test's own kind); unknown names are ignored."""
    global _generation
    with _lock:
        if _kinds.pop(name, None) is not None:
            _generation += 1


def get(name: str) -> DriverKind:
    """The kind whose ``driver:`` value is ``name``; raises :class:`UnknownDriverKind` listing the known."""
    _load_builtins()
    with _lock:
        kind = _kinds.get(name)
        if kind is None:
            raise UnknownDriverKind(name, list(_kinds))
        return kind


def kinds() -> tuple[DriverKind, ...]:
    """Every known kind, built-in ones first, in the order they were registered."""
    _load_builtins()
    with _lock:
        return tuple(_kinds.values())


def generation() -> int:
    """A number that changes whenever a kind is registered or forgotten (for caches built from kinds)."""
    _load_builtins()
    return _generation


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _lock:
        if not _builtins_loaded:
            for module in BUILTIN_KINDS:
                importlib.import_module(module)
            _builtins_loaded = True
