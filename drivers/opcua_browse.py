"""Walk an OPC UA server's address space one level at a time, for ``hmi browse`` and the browse dialog.

One level costs three round trips whatever its size: browse the children, read
their attributes (class, data type, access level) in one Read, then browse and
read the EngineeringUnits / EURange properties of the variables among them.
Asyncio only: the GUI runs it on a loop thread and receives the results as futures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, ua

from drivers.opcua_client import SessionClient
from drivers.opcua_credentials import apply_login, explaining_login_refusal
from drivers.opcua_security import secure_client
from drivers.settings import OpcUaSettings

OBJECTS_FOLDER = "i=85"

VARIANT_TO_TAG_TYPE = {
    ua.VariantType.Boolean: "bool",
    ua.VariantType.SByte: "int16",
    ua.VariantType.Byte: "uint16",
    ua.VariantType.Int16: "int16",
    ua.VariantType.UInt16: "uint16",
    ua.VariantType.Int32: "int32",
    ua.VariantType.UInt32: "uint32",
    ua.VariantType.Int64: "int64",
    ua.VariantType.UInt64: "uint64",
    ua.VariantType.Float: "float32",
    ua.VariantType.Double: "float64",
    ua.VariantType.String: "string",
}
"""Built-in OPC UA types a tag can carry, by our tag type name."""

_ATTRIBUTES = (ua.AttributeIds.DataType, ua.AttributeIds.UserAccessLevel)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")
_HAS_PROPERTY = ua.NodeId(ua.Int32(ua.ObjectIds.HasProperty))
NODES_PER_CALL = 500
"""Servers cap the nodes in one Browse or Read; stay well below common limits."""


@dataclass(frozen=True, slots=True)
class BrowseEntry:
    """One child node and what an engineer needs to make a tag of it."""

    node_id: str
    browse_name: str
    display_name: str
    node_class: str
    data_type: str = ""
    units: str = ""
    eu_range: tuple[float, float] | None = None
    access: str = ""  # "read", "read/write", "write" or "" (not a variable)
    has_children: bool = True

    @property
    def is_variable(self) -> bool:
        """True for a Variable node, the kind that becomes a tag."""
        return self.node_class == "Variable"

    @property
    def tag_type(self) -> str | None:
        """Our tag type for this variable's data type, or None when a tag cannot carry it."""
        for vtype, name in VARIANT_TO_TAG_TYPE.items():
            if vtype.name == self.data_type:
                return name
        return None


def tag_yaml_line(entry: BrowseEntry, connection: str) -> str:
    """A ``project.yaml`` line under ``tags:`` for a variable; a comment when its type does not fit a tag."""
    name = tag_name_for(entry)
    if entry.tag_type is None:
        return f"# {name}: data type {entry.data_type or 'unknown'} of {entry.node_id} cannot be a tag"
    fields = [f"connection: {connection}", f"address: {_quoted(entry.node_id)}", f"type: {entry.tag_type}"]
    if entry.units:
        fields.append(f"units: {_quoted(entry.units)}")
    if "write" in entry.access:
        fields.append("writable: true")
    return f"{name}: {{{', '.join(fields)}}}"


def tag_name_for(entry: BrowseEntry) -> str:
    """A tag name for a node: its string identifier (often a full path) or else its browse name."""
    _, _, identifier = entry.node_id.partition(";s=")
    name = identifier or entry.browse_name.partition(":")[2] or entry.browse_name
    return _UNSAFE_NAME.sub("_", name).strip("_") or "TAG"


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


async def open_browse_client(settings: OpcUaSettings, pki_dir: Path | None) -> Client:
    """A connected client with the connection's security and login; raises on any failure."""
    client = SessionClient(settings.endpoint, settings.timeout)
    await apply_login(client, settings)
    await secure_client(client, settings, pki_dir)
    with explaining_login_refusal(settings):
        await client.connect()
    return client


async def browse_children(client: Client, node: str = OBJECTS_FOLDER) -> list[BrowseEntry]:
    """The hierarchical children of ``node`` (a NodeId string) with their attributes, in server order."""
    parent = ua.NodeId.from_string(node)
    references = await _browse(client, [parent], ua.ObjectIds.HierarchicalReferences, strict=True)
    # A reference into another server (ExpandedNodeId with a server index) cannot be read through this one.
    # Properties (units, ranges) describe their parent and are shown with it, not as children.
    children = [
        ref
        for ref in references[0]
        if not getattr(ref.NodeId, "ServerIndex", 0) and ref.ReferenceTypeId != _HAS_PROPERTY
    ]
    ids = [_local(ref.NodeId) for ref in children]
    variables = [i for i, ref in enumerate(children) if ref.NodeClass == ua.NodeClass.Variable]
    attributes = await _read_variable_attributes(client, [ids[i] for i in variables])
    properties = await _read_properties(client, [ids[i] for i in variables])
    # One reference of each kind is enough to know whether a tree node can expand.
    organizes = await _browse(client, ids, ua.ObjectIds.Organizes, max_refs=1)
    components = await _browse(client, ids, ua.ObjectIds.HasComponent, max_refs=1)
    details = {index: {**attributes[n], **properties[n]} for n, index in enumerate(variables)}
    entries = []
    for index, ref in enumerate(children):
        extra: dict[str, Any] = details.get(index, {})
        entries.append(
            BrowseEntry(
                node_id=ids[index].to_string(),
                browse_name=ref.BrowseName.to_string(),
                display_name=ref.DisplayName.Text or ref.BrowseName.Name,
                node_class=ua.NodeClass(ref.NodeClass).name,
                has_children=bool(organizes[index] or components[index]),
                **extra,
            )
        )
    return entries


def _local(node_id: ua.NodeId) -> ua.NodeId:
    return ua.NodeId(node_id.Identifier, node_id.NamespaceIndex)


async def _browse(
    client: Client, nodes: list[ua.NodeId], reference_type: int, max_refs: int = 0, *, strict: bool = False
) -> list[list[ua.ReferenceDescription]]:
    """Forward references of each node (following subtypes).

    With ``max_refs`` 0 every continuation point is followed to the end; with a
    limit, the rest is released at once (servers hold only a few per session).
    A node the server cannot browse has no references, or raises its StatusCode when ``strict``.
    """
    found: list[list[ua.ReferenceDescription]] = []
    for start in range(0, len(nodes), NODES_PER_CALL):
        params = ua.BrowseParameters()
        params.RequestedMaxReferencesPerNode = max_refs
        params.NodesToBrowse = [
            _description(node, reference_type) for node in nodes[start : start + NODES_PER_CALL]
        ]
        unfinished: list[bytes] = []
        for result in await client.uaclient.browse(params):
            if strict:
                result.StatusCode.check()
            references = list(result.References or [])
            point = result.ContinuationPoint
            while point and not max_refs:
                more = (
                    await client.uaclient.browse_next(ua.BrowseNextParameters(ContinuationPoints=[point]))
                )[0]
                references += more.References or []
                point = more.ContinuationPoint
            if point:
                unfinished.append(point)
            found.append(references if result.StatusCode.is_good() else [])
        if unfinished:
            release = ua.BrowseNextParameters(ReleaseContinuationPoints=True, ContinuationPoints=unfinished)
            await client.uaclient.browse_next(release)
    return found


def _description(node: ua.NodeId, reference_type: int) -> ua.BrowseDescription:
    return ua.BrowseDescription(
        NodeId=node,
        BrowseDirection=ua.BrowseDirection.Forward,
        ReferenceTypeId=ua.NodeId(ua.Int32(reference_type)),
        IncludeSubtypes=True,
        NodeClassMask=0,
        ResultMask=ua.BrowseResultMask.All,
    )


async def _read(client: Client, requests: list[ua.ReadValueId]) -> list[ua.DataValue]:
    """Read in calls of at most NODES_PER_CALL values (servers cap the size of one Read)."""
    values: list[ua.DataValue] = []
    for start in range(0, len(requests), NODES_PER_CALL):
        params = ua.ReadParameters()
        params.NodesToRead = requests[start : start + NODES_PER_CALL]
        values += await client.uaclient.read(params)
    return values


async def _read_variable_attributes(client: Client, nodes: list[ua.NodeId]) -> list[dict[str, Any]]:
    if not nodes:
        return []
    values = await _read(
        client, [ua.ReadValueId(NodeId=n, AttributeId=a) for n in nodes for a in _ATTRIBUTES]
    )
    type_ids = [values[i * len(_ATTRIBUTES)].Value for i in range(len(nodes))]
    names = await _data_type_names(client, [v.Value if v is not None else None for v in type_ids])
    found = []
    for index in range(len(nodes)):
        access_value = values[index * len(_ATTRIBUTES) + 1].Value
        access = access_value.Value if access_value is not None else 0
        found.append({"data_type": names[index], "access": _access_text(access or 0)})
    return found


async def _data_type_names(client: Client, type_ids: list[ua.NodeId | None]) -> list[str]:
    """Standard types by their well-known name; vendor types by the BrowseName the server gives them."""
    names = [_standard_type_name(t) for t in type_ids]
    unknown = [i for i, t in enumerate(type_ids) if t is not None and not names[i]]
    if unknown:
        requests = [
            ua.ReadValueId(NodeId=type_ids[i], AttributeId=ua.AttributeIds.BrowseName) for i in unknown
        ]
        for i, value in zip(unknown, await _read(client, requests), strict=True):
            if value.Value is not None and isinstance(value.Value.Value, ua.QualifiedName):
                names[i] = value.Value.Value.Name
    return names


def _standard_type_name(type_id: ua.NodeId | None) -> str:
    if type_id is None or type_id.NamespaceIndex != 0 or not isinstance(type_id.Identifier, int):
        return ""
    return ua.ObjectIdNames.get(type_id.Identifier, "")


def _access_text(level: int) -> str:
    readable = level & (1 << ua.AccessLevel.CurrentRead.value)
    writable = level & (1 << ua.AccessLevel.CurrentWrite.value)
    return "/".join(word for word, flag in (("read", readable), ("write", writable)) if flag)


async def _read_properties(client: Client, nodes: list[ua.NodeId]) -> list[dict[str, Any]]:
    """EngineeringUnits (as its display text) and EURange of each variable, where the server has them."""
    found: list[dict[str, Any]] = [{} for _ in nodes]
    wanted: list[tuple[int, str, ua.NodeId]] = []
    for index, refs in enumerate(await _browse(client, nodes, ua.ObjectIds.HasProperty)):
        for ref in refs:
            if ref.BrowseName.Name in ("EngineeringUnits", "EURange"):
                node = _local(ref.NodeId)
                wanted.append((index, ref.BrowseName.Name, node))
    if not wanted:
        return found
    requests = [ua.ReadValueId(NodeId=n, AttributeId=ua.AttributeIds.Value) for _, _, n in wanted]
    for (index, name, _), value in zip(wanted, await _read(client, requests), strict=True):
        payload = value.Value.Value if value.Value is not None else None
        if name == "EngineeringUnits" and isinstance(payload, ua.EUInformation):
            found[index]["units"] = payload.DisplayName.Text or ""
        elif name == "EURange" and isinstance(payload, ua.Range):
            found[index]["eu_range"] = (payload.Low, payload.High)
    return found


async def browse_once(settings: OpcUaSettings, node: str, pki_dir: Path | None) -> list[BrowseEntry]:
    """Connect, list the children of ``node``, disconnect (the ``hmi browse`` command)."""
    client = await open_browse_client(settings, pki_dir)
    try:
        return await browse_children(client, node)
    finally:
        await close_quietly(client)


async def close_quietly(client: Client) -> None:
    """Close the session; a server already gone is not an error worth reporting here."""
    try:
        await client.disconnect()
    except Exception:  # the socket is dropped below whatever the server did
        client.disconnect_socket()
