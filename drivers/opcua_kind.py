"""The OPC UA client driver kind: its connection schema, tag checks, factory and diagnostics.

Nothing here imports asyncua: the factory loads the driver when a plant has an OPC UA connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.opcua_diagnostics import OpcUaDiagnostics
from drivers.opcua_nodeid import parse_node_id
from drivers.opcua_schema import OpcUaConnectionSpec
from drivers.registry import BROWSE, CERTIFICATES, DriverContext, DriverKind, TagIssue, TagToCheck, register
from drivers.settings import OpcUaSettings, OpcUaTagLink
from hmi.model import TagDef

if TYPE_CHECKING:
    from drivers.base import Driver, SampleSink, StatusSink


def check_opcua_tag(entry: TagToCheck) -> list[TagIssue]:
    """The address must be a NodeId (``ns=2;s=Boiler.Temp``, ``nsu=URI;i=42``...)."""
    try:
        parse_node_id(entry.tag.address)
    except ValueError as exc:
        return [TagIssue(entry.name, "address", str(exc))]
    return []


def opcua_tag_link(entry: TagToCheck) -> OpcUaTagLink:
    """The percent deadband the server is asked to apply."""
    return OpcUaTagLink(entry.tag.deadband_percent or 0.0)


def create_opcua_driver(
    name: str,
    settings: OpcUaSettings,
    tags: Sequence[TagDef],
    on_sample: SampleSink,
    on_status: StatusSink,
    context: DriverContext,
) -> Driver:
    """An OPC UA driver with its PKI folder resolved by the application; loads asyncua now."""
    from drivers.opcua import OpcUaDriver

    resolve = context.resolve_pki_dir
    pki_dir = resolve(settings.pki_dir) if resolve is not None else _configured(settings.pki_dir)
    return OpcUaDriver(name, settings, tags, on_sample, on_status, pki_dir=pki_dir, stale=context.stale)


def _configured(pki_dir: str | None) -> Path | None:
    return Path(pki_dir) if pki_dir else None


OPCUA = DriverKind(
    name="opcua",
    title="OPC UA",
    connection_model=OpcUaConnectionSpec,
    factory=create_opcua_driver,
    check_tag=check_opcua_tag,
    tag_link=opcua_tag_link,
    diagnostics=OpcUaDiagnostics,
    tag_keys=frozenset({"deadband_percent"}),
    file_keys=("user_certificate", "user_private_key"),
    features=frozenset({BROWSE, CERTIFICATES}),
    reports_every_scan=False,
)
register(OPCUA)
