"""The ``acquisition:`` section of ``project.yaml``: where the drivers run.

``processes: 0`` (the default) runs every driver in the runtime's process, as small projects
want; ``processes: N`` spreads the connections over N worker processes; ``processes: auto``
picks one per connection up to the machine's cores, and stays in process for small projects
(see :func:`hmi.core.acquisition.process_count`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainValidator

from hmi.project.config import AcquisitionSettings
from hmi.project.schema_base import StrictModel

MAX_PROCESSES = 64
AUTO = "auto"


def _processes(value: Any) -> int | str:
    """0, a whole number of processes up to :data:`MAX_PROCESSES`, or ``auto``; one message for the rest."""
    if value == AUTO:
        return AUTO
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PROCESSES:
        return value
    raise ValueError(
        f"expected 0 (drivers in the runtime's process), a number of processes up to {MAX_PROCESSES}"
        f" or {AUTO}, not {value!r}"
    )


class AcquisitionSpec(StrictModel):
    """Where the drivers run; anything but 0, a count up to 64 or ``auto`` is an error."""

    processes: Annotated[int | str, PlainValidator(_processes)] = 0

    def to_settings(self) -> AcquisitionSettings:
        """The validated section as the runtime takes it."""
        return AcquisitionSettings(self.processes)
