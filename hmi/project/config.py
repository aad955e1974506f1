"""The validated project, as plain frozen dataclasses the runtime and the UI consume.

``hmi.project.loader`` builds these from YAML after strict validation; nothing
downstream ever sees raw YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hmi.model import TagDef
from hmi.model.symbol_catalog import SYMBOLS
from hmi.model.symbols import SymbolProps
from hmi.project.alarm_settings import AlarmSettings
from hmi.project.rules_defs import RulesConfig
from hmi.project.sync_settings import SyncEndpoint


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """One PLC or server link. ``settings`` is the driver's own settings dataclass."""

    name: str
    driver: str
    settings: Any


@dataclass(frozen=True, slots=True)
class AlarmDef:
    """A limit alarm on one tag (ISA-18.2 style: deadband and on/off delays)."""

    name: str
    tag: str
    type: str  # hihi | hi | lo | lolo | deviation | roc | discrete | bad_quality | expr
    limit: float = 0.0
    deadband: float = 0.0
    on_delay: float = 0.0
    off_delay: float = 0.0
    priority: str = "medium"  # low | medium | high | urgent | journal (logged, never announced)
    message: str = ""
    screen: str | None = None
    area: str = ""
    """The plant area or group the alarm belongs to (summary and history filters)."""
    setpoint: str | None = None
    """A ``deviation`` alarm's setpoint tag: raised while |value - setpoint| > limit."""
    normal: float = 0.0
    """A ``discrete`` alarm's normal value (a bool counts as 0 or 1): raised while the value differs."""
    window: float = 1.0
    """A ``roc`` alarm's window in seconds: the rate is the change across it, per second."""
    expr: str = ""
    """An ``expr`` alarm's condition text (see :mod:`hmi.alarms.conditions` for the seam)."""
    cause: str = ""
    consequence: str = ""
    action: str = ""
    """ISA-18.2 rationalisation: the operator's guidance (cause, consequence, corrective action)."""
    faceplate: str | None = None
    latched: bool = False
    """A latched alarm stays announced after its return until an operator resets it."""
    suppress_when: str | None = None
    """A tag whose truthy value suppresses the alarm by design (evaluated and journalled, not announced)."""
    suppress_by: str | None = None
    """A parent alarm whose active condition suppresses this one by design."""
    suppress_release: float = 0.0
    """Seconds the suppression by ``suppress_by`` outlasts the parent's return, so that a consequence
    still clearing (its input's first good read after a link comes back) is not announced."""


@dataclass(frozen=True, slots=True)
class HistorySettings:
    """Where and how long samples are kept."""

    path: Path
    retention: float = 400 * 86400.0
    max_size: int = 20 * 1024**3
    commit_interval: float = 1.0


@dataclass(frozen=True, slots=True)
class AcquisitionSettings:
    """Where the drivers run: ``processes`` 0 in the runtime's process, N worker processes, or "auto"."""

    processes: int | str = 0


@dataclass(frozen=True, slots=True)
class ScreenItem:
    """One element of a mimic screen: a symbol, a value, an entry, a trend...

    ``props`` is the typed props model of the item's type (see ``hmi.model.symbol_catalog``);
    a mapping given by code that builds items is validated into it.
    """

    type: str
    id: str
    x: float
    y: float
    w: float
    h: float
    tag: str | None = None
    props: SymbolProps | Mapping[str, Any] = field(default_factory=dict)
    line: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.props, Mapping):
            symbol = SYMBOLS.get(self.type)
            if symbol is None:
                raise ValueError(f"unknown screen item type {self.type!r}")
            object.__setattr__(self, "props", symbol.props.model_validate(dict(self.props)))


@dataclass(frozen=True, slots=True)
class ScreenDef:
    """A mimic screen loaded from ``screens/NAME.yaml``."""

    name: str
    title: str
    path: Path
    width: int
    height: int
    items: tuple[ScreenItem, ...]


@dataclass(frozen=True, slots=True)
class TrendDef:
    """A saved trend: its pens (tag names) and the default time span in seconds."""

    name: str
    title: str
    pens: tuple[str, ...]
    span: float = 600.0


@dataclass(frozen=True, slots=True)
class Project:
    """Everything a runtime and a UI need to run one plant."""

    name: str
    root: Path
    connections: dict[str, ConnectionConfig]
    scan_classes: dict[str, float]
    tags: dict[str, TagDef]
    alarms: dict[str, AlarmDef]
    history: HistorySettings
    screens: dict[str, ScreenDef]
    trends: dict[str, TrendDef] = field(default_factory=dict)
    start_screen: str | None = None
    system_tags: dict[str, TagDef] = field(default_factory=dict)
    """The tags the station produces about itself (``SYSTEM.``...), apart from the engineer's ``tags``."""
    acquisition: AcquisitionSettings = field(default_factory=AcquisitionSettings)
    """Whether the drivers run in the runtime's process or in worker processes (``acquisition:``)."""
    sync: dict[str, SyncEndpoint] = field(default_factory=dict)
    """Enterprise endpoints by name (``sync:``), see :mod:`hmi.sync`."""
    rules: RulesConfig = field(default_factory=RulesConfig)
    """Derived tags and rules (their tags are among ``tags``, with ``source`` ``"rules"``)."""
    alarm_settings: AlarmSettings = field(default_factory=AlarmSettings)
    """Built-in link alarms and the maximum shelve time per priority (``alarm_settings:``)."""

    def tag(self, name: str) -> TagDef | None:
        """An engineer's tag or a system tag by name; ``None`` when there is no such tag."""
        return self.tags.get(name) or self.system_tags.get(name)

    def every_tag(self) -> dict[str, TagDef]:
        """The engineer's tags and the system tags in one new dict (what screens, trends and lists offer)."""
        return {**self.system_tags, **self.tags}
