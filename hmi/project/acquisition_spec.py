"""The ``acquisition:`` section of ``project.yaml``: where the drivers run.

``processes: 0`` (the default) runs every driver in the runtime's process, as small projects
want; ``processes: N`` spreads the connections over N worker processes; ``processes: auto``
picks one per connection up to the machine's cores, and stays in process for small projects
(see :func:`hmi.core.acquisition.process_count`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt

from hmi.project.config import AcquisitionSettings
from hmi.project.schema_base import StrictModel

MAX_PROCESSES = 64


class AcquisitionSpec(StrictModel):
    """Where the drivers run; anything but 0, a count up to 64 or ``auto`` is an error."""

    processes: Literal["auto"] | Annotated[StrictInt, Field(ge=0, le=MAX_PROCESSES)] = 0

    def to_settings(self) -> AcquisitionSettings:
        """The validated section as the runtime takes it."""
        return AcquisitionSettings(self.processes)
