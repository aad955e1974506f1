"""The ``alarm_settings:`` section of ``project.yaml``: alarm-system settings that are not one alarm.

```yaml
alarm_settings:
  link_alarms: true            # a built-in alarm per connection when its link is lost (default on)
  link_alarm_priority: high
  max_shelve: {urgent: 1h, high: 4h, medium: 8h, low: 12h}   # ISA-18.2: shelving is time-limited
  horn_priority: high          # the horn sounds for alarms of this priority and above
  horn_sound: sounds/horn.wav  # relative to the project folder; without it, a system beep
```
A priority left out of ``max_shelve`` keeps its default; an unknown priority, a zero or
negative time, or a time past 30 days is an error at its line; so is a ``horn_sound`` file
that is missing or unreadable (:func:`horn_sound_issues`, at load time: the schema judges text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from hmi.project.errors import Issue
from hmi.project.schema_base import PathText, PositiveDuration, StrictModel, project_file, within

PRIORITIES = ("urgent", "high", "medium", "low")

Priority = Literal["urgent", "high", "medium", "low"]

DEFAULT_MAX_SHELVE: Mapping[str, float] = MappingProxyType(
    {"urgent": 3600.0, "high": 4 * 3600.0, "medium": 8 * 3600.0, "low": 12 * 3600.0}
)
"""The longest an alarm of each priority may stay shelved, in seconds, unless the project says."""

ShelveLimit = Annotated[PositiveDuration, within("1m", "30d")]


@dataclass(frozen=True, slots=True)
class AlarmSettings:
    """The validated section as the station takes it."""

    link_alarms: bool = True
    link_alarm_priority: str = "high"
    max_shelve: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MAX_SHELVE))
    horn_priority: str = "high"
    """The lowest priority that sounds the horn."""
    horn_sound: Path | None = None
    """The horn's sound file (absolute), or None for the system beep."""


class AlarmSettingsSpec(StrictModel):
    """``alarm_settings:``: built-in link alarms and the maximum shelve time per priority."""

    link_alarms: StrictBool = True
    link_alarm_priority: Priority = "high"
    max_shelve: dict[Priority, ShelveLimit] = Field(default_factory=dict)
    horn_priority: Priority = "high"
    horn_sound: PathText | None = None

    def to_settings(self, root: Path | None = None) -> AlarmSettings:
        """The validated settings, the priorities left out of ``max_shelve`` at their defaults.

        ``horn_sound`` is taken relative to the project folder ``root``.
        """
        limits: dict[str, float] = {**DEFAULT_MAX_SHELVE}
        limits.update((str(priority), seconds) for priority, seconds in self.max_shelve.items())
        sound = None if self.horn_sound is None else project_file(root or Path.cwd(), self.horn_sound)
        return AlarmSettings(self.link_alarms, self.link_alarm_priority, limits, self.horn_priority, sound)


def horn_sound_issues(spec: AlarmSettingsSpec, root: Path) -> list[Issue]:
    """The horn's sound file missing or unreadable, at the line of ``horn_sound``."""
    if spec.horn_sound is None:
        return []
    path = project_file(root, spec.horn_sound)
    problem = _file_problem(path)
    return [] if problem is None else [Issue(("alarm_settings", "horn_sound"), f"horn_sound: {problem}")]


def horn_files(spec: AlarmSettingsSpec, root: Path) -> list[Path]:
    """The files the settings name (a cached check looks at them again: they may have gone since)."""
    return [] if spec.horn_sound is None else [project_file(root, spec.horn_sound)]


def _file_problem(path: Path) -> str | None:
    if not path.is_file():
        return f"no such file {path}" if not path.exists() else f"{path} is not a file"
    try:
        with path.open("rb"):
            return None
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
