"""The ``connections:`` entries of ``project.yaml``: one strict model per driver kind, from the registry.

Each driver kind declares the model of its entries (:attr:`drivers.registry.DriverKind.connection_model`);
here they become one union picked by the ``driver`` key, rebuilt when a kind is registered.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Field

from drivers import registry
from drivers.connection_fields import ConnectionModel
from hmi.project.config import ConnectionConfig


def connection_spec_type() -> Any:
    """The type of one ``connections:`` entry: the model of the kind its ``driver`` key names."""
    return _connection_spec_type(registry.generation())


@functools.lru_cache(maxsize=2)
def _connection_spec_type(_generation: int) -> Any:
    models = tuple(kind.connection_model for kind in registry.kinds())
    if len(models) == 1:
        # A discriminated union needs two members; one kind still checks its driver key by its Literal.
        return models[0]
    return Annotated[Union[models], Field(discriminator="driver")]  # noqa: UP007 (a runtime tuple)


def connection_config(name: str, spec: ConnectionModel, root: Path) -> ConnectionConfig:
    """The validated connection as the runtime takes it; relative file names are from the folder ``root``."""
    return ConnectionConfig(name, str(getattr(spec, "driver", "")), spec.to_settings(root))
