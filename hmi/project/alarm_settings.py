"""The ``alarm_settings:`` section of ``project.yaml``: alarm-system settings that are not one alarm.

```yaml
alarm_settings:
  link_alarms: true            # a built-in alarm per connection when its link is lost (default on)
  link_alarm_priority: high
  max_shelve: {urgent: 1h, high: 4h, medium: 8h, low: 12h}   # ISA-18.2: shelving is time-limited
```
A priority left out of ``max_shelve`` keeps its default; an unknown priority, a zero or
negative time, or a time past 30 days is an error at its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from hmi.project.schema_base import PositiveDuration, StrictModel, within

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


class AlarmSettingsSpec(StrictModel):
    """``alarm_settings:``: built-in link alarms and the maximum shelve time per priority."""

    link_alarms: StrictBool = True
    link_alarm_priority: Priority = "high"
    max_shelve: dict[Priority, ShelveLimit] = Field(default_factory=dict)

    def to_settings(self) -> AlarmSettings:
        """The validated settings, the priorities left out of ``max_shelve`` at their defaults."""
        limits: dict[str, float] = {**DEFAULT_MAX_SHELVE}
        limits.update((str(priority), seconds) for priority, seconds in self.max_shelve.items())
        return AlarmSettings(self.link_alarms, self.link_alarm_priority, limits)
