"""NodeIds bound to namespace URIs, resolved against the server's namespace array on every connect.

A server may renumber its namespaces when it restarts (a namespace registered first
takes index 2, and ours moves to 3): an address ``ns=2;s=Level`` would then name
another namespace's node, and its value would look perfectly good. So an address
names its namespace by URI (``nsu=urn:plant;s=Level``), or its index is bound to the
URI it had at the first connect, and each connect looks the URI up again. A URI the
server no longer has makes the tag a configuration error, never another node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from asyncua import ua

from drivers.opcua_nodeid import parse_node_id, split_namespace


@dataclass(frozen=True, slots=True)
class TagAddress:
    """A tag's NodeId as written: its namespace (URI, or index) and the identifier part."""

    text: str
    uri: str | None
    index: int
    identifier: str

    @classmethod
    def parse(cls, text: str) -> TagAddress:
        """Parse a NodeId string; ``ValueError`` says why it is not one."""
        parse_node_id(text)
        uri, index, identifier = split_namespace(text)
        address = cls(text, uri, index, identifier)
        address.node_id(0 if uri is not None else index)  # asyncua must read the identifier too
        return address

    def node_id(self, index: int) -> ua.NodeId:
        """The NodeId with namespace index ``index``."""
        try:
            return ua.NodeId.from_string(f"ns={index};{self.identifier}")
        except (ua.UaError, ValueError) as exc:
            raise ValueError(f"bad OPC UA NodeId {self.text!r}: {exc}") from None


class NamespaceBinding:
    """The URI each configured namespace index had at the first connect, for one connection."""

    def __init__(self) -> None:
        self.uris: dict[int, str] = {}
        """Configured index -> the URI it named when first seen."""

    def resolve(
        self, addresses: Mapping[str, TagAddress], namespaces: Sequence[str]
    ) -> tuple[dict[str, ua.NodeId], dict[str, str]]:
        """NodeIds in the server's current numbering, and the tags that have none (tag -> why)."""
        current = {uri: index for index, uri in enumerate(namespaces)}
        node_ids: dict[str, ua.NodeId] = {}
        unresolved: dict[str, str] = {}
        for name, address in addresses.items():
            uri = address.uri
            if uri is None:
                uri = self.uris.get(address.index)
                if uri is None:
                    if address.index >= len(namespaces):
                        unresolved[name] = (
                            f"namespace index {address.index} of {address.text} is not in the server's "
                            f"namespace array ({len(namespaces)} namespaces)"
                        )
                        continue
                    uri = self.uris[address.index] = namespaces[address.index]
            index = current.get(uri)
            if index is None:
                bound = "" if address.uri is not None else f" (ns={address.index} at the first connect)"
                unresolved[name] = (
                    f"namespace URI gone: {uri}{bound} is no longer in the server's namespace array"
                )
                continue
            node_ids[name] = address.node_id(index)
        return node_ids, unresolved
