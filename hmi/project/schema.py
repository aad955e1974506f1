"""The shape of ``project.yaml`` as strict pydantic models: unknown keys and wrong types are errors.

These models judge each entry on its own; checks across entries (a tag's
connection exists, addresses do not overlap...) live in :mod:`hmi.project.loader`.
Connections are validated by the model their driver kind declares, gathered in
:mod:`hmi.project.connection_schema`; shared field types live in :mod:`hmi.project.schema_base`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from drivers import registry
from hmi.model import ConfirmMode, DataType, TagDef
from hmi.project.acquisition_spec import AcquisitionSpec
from hmi.project.alarm_settings import AlarmSettingsSpec
from hmi.project.alarm_types import type_problem
from hmi.project.config import AlarmDef, HistorySettings, TrendDef
from hmi.project.connection_schema import connection_config, connection_spec_type
from hmi.project.schema_base import (
    ByteOrder,
    Duration,
    PathText,
    PositiveDuration,
    StrictModel,
    Text,
    _none_as_empty,
    project_file,
    size_within,
    within,
)
from hmi.project.sync_config import SyncSection
from hmi.project.units import parse_size

__all__ = [
    "StrictModel",
    "connection_config",
    "connection_spec_type",
    "project_file",
    "project_spec_model",
]

DEFAULT_SCAN_CLASSES = {"fast": 0.25, "normal": 1.0, "slow": 10.0}
# The sane range of every duration and size a project holds, checked by `hmi check`: past these a timer,
# a timestamp or SQLite cannot hold the value, and no plant needs them.
ScanPeriod = Annotated[PositiveDuration, within("10ms", "24h")]
AlarmDelay = Annotated[Duration, within("0s", "24h")]
TrendSpan = Annotated[PositiveDuration, within("1s", "3650d")]
Retention = Annotated[PositiveDuration, within("1h", "36500d")]
CommitInterval = Annotated[PositiveDuration, within("10ms", "10m")]
HistorySize = Annotated[int, BeforeValidator(parse_size), size_within("1MB", "100TB")]

MAX_STRING_LENGTH = 250  # one Modbus read returns at most 125 registers; a string must arrive whole

_TAG_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TagDef)}
_DEFAULT_DECIMALS: int = TagDef("", None, "").decimals


class ScaleSpec(StrictModel):
    """Linear engineering-unit scaling of an integer register: two ranges, or gain and offset."""

    raw: tuple[StrictInt, StrictInt] | None = None
    eng: tuple[StrictFloat, StrictFloat] | None = None
    gain: StrictFloat | None = None
    offset: StrictFloat | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ScaleSpec:
        ranges = self.raw is not None or self.eng is not None
        if ranges and (self.gain is not None or self.offset is not None):
            raise ValueError("give raw and eng, or gain (and offset), not both")
        if ranges:
            if self.raw is None or self.eng is None:
                raise ValueError("raw: [low, high] and eng: [low, high] go together")
            if self.raw[0] == self.raw[1]:
                raise ValueError(f"the raw range {list(self.raw)} spans nothing (zero span)")
            if self.eng[0] == self.eng[1]:
                raise ValueError(f"the engineering range {list(self.eng)} spans nothing (zero span)")
        elif self.gain is None:
            raise ValueError("needs raw and eng ranges, or a gain")
        elif self.gain == 0 or not math.isfinite(self.gain):
            raise ValueError("gain must be a finite number other than 0 (zero span)")
        elif self.offset is not None and not math.isfinite(self.offset):
            raise ValueError("offset must be a finite number")
        return self

    def step_decimals(self) -> int:
        """Decimals that show one raw step exactly (0.1 per count: 1), at most 6."""

        def exact(number: float) -> Fraction:
            return Fraction(repr(number))  # the decimal as written: 0.1 is 1/10

        if self.gain is not None:
            step = abs(exact(self.gain))
        else:
            assert self.raw is not None and self.eng is not None
            step = abs(exact(self.eng[1]) - exact(self.eng[0])) / abs(self.raw[1] - self.raw[0])
        for digits in range(7):
            if (step * 10**digits).denominator == 1:
                return digits
        return 6


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
    rule_writable: StrictBool = False  # a rule may write it (through the same write check as an operator)
    limits: tuple[StrictFloat, StrictFloat] | None = None
    decimals: StrictInt | None = Field(None, ge=0, le=12)
    length: StrictInt | None = Field(None, ge=1, le=MAX_STRING_LENGTH)
    unit: StrictInt | None = Field(None, ge=0, le=255)
    verify: StrictBool | None = None
    history_deadband: StrictFloat | None = Field(None, ge=0)
    history_deadband_percent: StrictFloat | None = Field(None, gt=0, le=100)
    history_swinging_door: StrictBool = False
    scale: ScaleSpec | None = None
    confirm: StrictBool | Literal["signature", "double"] | None = None  # None: the default (see to_def)
    area: str = ""

    @model_validator(mode="after")
    def _confirm_fits(self) -> TagSpec:
        if self.confirm is not None and not self.writable:
            raise ValueError("confirm: needs writable: true (nobody writes this tag)")
        if self.rule_writable and self.confirm in ("signature", "double"):
            raise ValueError(
                f"rule_writable is not allowed with confirm: {self.confirm} (a rule cannot sign a write)"
            )
        return self

    def confirm_mode(self) -> ConfirmMode:
        """``confirm:`` as written, else the default: a writable bool is a command (start/stop) and asks."""
        if self.confirm is None:
            command = self.writable and self.type is DataType.BOOL
            return ConfirmMode.CONFIRM if command else ConfirmMode.NONE
        if isinstance(self.confirm, bool):
            return ConfirmMode.CONFIRM if self.confirm else ConfirmMode.NONE
        return ConfirmMode(self.confirm)

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

    @field_validator("scale")
    @classmethod
    def _only_integer(cls, value: ScaleSpec, info: ValidationInfo) -> ScaleSpec:
        data_type = info.data.get("type")
        if data_type is not None and not data_type.is_integer:
            reason = "integer registers only: a float register already holds engineering units"
            raise ValueError(f"not allowed on a {data_type} tag ({reason})")
        return value

    @field_validator("length")
    @classmethod
    def _only_string(cls, value: int, info: ValidationInfo) -> int:
        data_type = info.data.get("type")
        if data_type is not None and data_type is not DataType.STRING:
            raise ValueError(f"not allowed on a {data_type} tag (string tags only)")
        return value

    def _decimals(self) -> int:
        if self.decimals is not None:
            return self.decimals
        return _DEFAULT_DECIMALS if self.scale is None else self.scale.step_decimals()

    def to_def(self, name: str, scan_period: float, link: Any = None) -> TagDef:
        """The runtime's view of this tag; ``link`` holds what its driver kind made of its own keys."""
        return TagDef(
            name=name,
            connection=self.connection,
            address=self.address,
            # A scaled tag carries engineering values: its register type travels in the link.
            type=DataType.FLOAT64 if self.scale is not None else self.type,
            units=self.units,
            description=self.description,
            scan=self.scan,
            scan_period=scan_period,
            deadband=self.deadband or 0.0,
            writable=self.writable,
            limits=self.limits,
            decimals=self._decimals(),
            string_length=self.length or 0,
            history_deadband=self.history_deadband or 0.0,
            history_deadband_percent=self.history_deadband_percent or 0.0,
            history_swinging_door=self.history_swinging_door,
            confirm=self.confirm_mode(),
            area=self.area,
            link=link,
        )


class AlarmSpec(StrictModel):
    """One alarm on a tag: a limit, a deviation, a rate, a discrete state or its quality (see alarm_types)."""

    tag: str
    type: Literal["hihi", "hi", "lo", "lolo", "deviation", "roc", "discrete", "bad_quality", "expr"]
    limit: StrictFloat = 0.0
    deadband: StrictFloat = Field(0.0, ge=0)
    on_delay: AlarmDelay = 0.0
    off_delay: AlarmDelay = 0.0
    priority: Literal["low", "medium", "high", "urgent", "journal"] = "medium"
    message: str = ""
    screen: str | None = None
    area: str = ""
    setpoint: str | None = None
    normal: StrictFloat | StrictBool = 0.0
    window: Annotated[PositiveDuration, within("100ms", "1h")] = 1.0
    expr: str = Field("", alias="when")  # an expr alarm's condition, in the rules language
    cause: str = ""
    consequence: str = ""
    action: str = ""
    faceplate: str | None = None
    latched: StrictBool = False
    suppress_when: str | None = None
    suppress_by: str | None = None
    suppress_release: AlarmDelay = 0.0

    @model_validator(mode="after")
    def _fits_its_type(self) -> AlarmSpec:
        problem = type_problem(self.type, set(self.model_fields_set))
        if problem:
            raise ValueError(problem)
        return self

    def to_def(self, name: str) -> AlarmDef:
        """The validated alarm as the alarm engine takes it."""
        fields = self.model_dump()
        fields["normal"] = float(fields["normal"])  # a bool normal state counts as 0 or 1
        return AlarmDef(name, **fields)


class TrendSpec(StrictModel):
    """A saved trend; its title defaults to its name."""

    title: str | None = None
    span: TrendSpan = 600.0
    pens: list[str] = Field(min_length=1)

    def to_def(self, name: str) -> TrendDef:
        """The validated trend; an untitled trend is titled by its name."""
        return TrendDef(name, self.title or name, tuple(self.pens), self.span)


class HistorySpec(StrictModel):
    """Where history is kept (relative paths are relative to the project folder) and for how long."""

    path: PathText = "history.db"
    retention: Retention = 400 * 86400.0
    max_size: HistorySize = 20 * 1024**3
    commit_interval: CommitInterval = 1.0

    def to_settings(self, root: Path) -> HistorySettings:
        """The history settings, with a relative path taken from the project folder ``root``."""
        return HistorySettings(root / self.path, self.retention, self.max_size, self.commit_interval)


class ProjectSpec(StrictModel):
    """The whole of ``project.yaml``; validate with :func:`project_spec_model`, which knows the drivers."""

    name: Text
    start_screen: str | None = None
    connections: Annotated[dict[str, Any], BeforeValidator(_none_as_empty)] = Field(default_factory=dict)
    scan_classes: Annotated[dict[str, ScanPeriod], BeforeValidator(_none_as_empty)] = Field(
        default_factory=lambda: dict(DEFAULT_SCAN_CLASSES)
    )
    tags: Annotated[dict[str, TagSpec], BeforeValidator(_none_as_empty)] = Field(default_factory=dict)
    alarms: Annotated[dict[str, AlarmSpec], BeforeValidator(_none_as_empty)] = Field(default_factory=dict)
    trends: Annotated[dict[str, TrendSpec], BeforeValidator(_none_as_empty)] = Field(default_factory=dict)
    history: Annotated[HistorySpec, BeforeValidator(_none_as_empty)] = HistorySpec()
    acquisition: Annotated[AcquisitionSpec, BeforeValidator(_none_as_empty)] = AcquisitionSpec()
    sync: SyncSection = Field(default_factory=dict)
    alarm_settings: Annotated[AlarmSettingsSpec, BeforeValidator(_none_as_empty)] = AlarmSettingsSpec()


def project_spec_model() -> type[ProjectSpec]:
    """:class:`ProjectSpec` with ``connections`` typed by every registered driver kind's model."""
    return _project_spec_model(registry.generation())


@functools.lru_cache(maxsize=2)
def _project_spec_model(_generation: int) -> type[ProjectSpec]:
    # The union of the registered kinds' models exists only at run time: a type no checker can see.
    connections = Annotated[dict[str, connection_spec_type()], BeforeValidator(_none_as_empty)]  # type: ignore[misc,valid-type]
    return create_model(
        "ProjectSpec",
        __base__=ProjectSpec,
        connections=(connections, Field(default_factory=dict)),  # type: ignore[arg-type]
    )


SECTION_NOUNS = {
    "connections": "connection",
    "scan_classes": "scan class",
    "tags": "tag",
    "alarms": "alarm",
    "trends": "trend",
}
"""What one entry of each named section is called in messages."""
