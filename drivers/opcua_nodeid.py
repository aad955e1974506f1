"""OPC UA NodeId syntax (``i=85``, ``ns=2;s=Plant.Tank1.Level``), checked without importing asyncua.

The project loader validates addresses before any driver exists, and must stay
fast and free of the OPC UA stack; the driver parses the same text with asyncua.
"""

from __future__ import annotations

import base64
import binascii
import re

MAX_NAMESPACE_INDEX = 65535
MAX_NUMERIC_ID = 2**32 - 1
MAX_STRING_ID_LENGTH = 4096  # OPC UA Part 3 caps string identifiers at 4096 characters

NODE_ID_FORMS = "ns=<index>;<i|s|g|b>=<identifier> or i=<number> (for example ns=2;s=Tank.Level)"

_DECIMAL = re.compile(r"[0-9]+")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def parse_node_id(text: str) -> None:
    """Check that ``text`` is a NodeId in the OPC UA string form; raise ``ValueError`` saying why not.

    Accepted: ``i=85``, ``ns=2;i=1001``, ``ns=2;s=Any text``, ``ns=1;g=<8-4-4-4-12 hex>``,
    ``ns=3;b=<base64>``. The namespace-URI form ``nsu=`` is refused: the
    runtime addresses namespaces by index.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"bad OPC UA NodeId {text!r}: expected {NODE_ID_FORMS}")
    identifier = text
    if text.startswith("nsu="):
        raise ValueError(f"OPC UA NodeId {text!r}: the nsu=<uri> form is not supported; use ns=<index>")
    if text.startswith("ns="):
        namespace, separator, identifier = text[3:].partition(";")
        if not separator:
            raise ValueError(
                f"bad OPC UA NodeId {text!r}: missing ';' after the namespace; expected {NODE_ID_FORMS}"
            )
        _check_namespace(text, namespace)
    kind, equals, value = identifier.partition("=")
    if not equals or kind not in _IDENTIFIER_CHECKS:
        raise ValueError(
            f"bad OPC UA NodeId {text!r}: the identifier must start with i=, s=, g= or b=; "
            f"expected {NODE_ID_FORMS}"
        )
    _IDENTIFIER_CHECKS[kind](text, value)


def _check_namespace(text: str, namespace: str) -> None:
    if not _DECIMAL.fullmatch(namespace) or int(namespace) > MAX_NAMESPACE_INDEX:
        raise ValueError(
            f"bad OPC UA NodeId {text!r}: namespace index {namespace!r} "
            f"is not a whole number 0..{MAX_NAMESPACE_INDEX}"
        )


def _check_numeric(text: str, value: str) -> None:
    if not _DECIMAL.fullmatch(value) or int(value) > MAX_NUMERIC_ID:
        raise ValueError(
            f"bad OPC UA NodeId {text!r}: numeric identifier {value!r} is not a whole number 0..2^32-1"
        )


def _check_string(text: str, value: str) -> None:
    if not value:
        raise ValueError(f"bad OPC UA NodeId {text!r}: the string identifier after s= is empty")
    if len(value) > MAX_STRING_ID_LENGTH:
        raise ValueError(f"bad OPC UA NodeId {text!r}: string identifier longer than {MAX_STRING_ID_LENGTH}")


def _check_guid(text: str, value: str) -> None:
    if not _GUID.fullmatch(value):
        raise ValueError(
            f"bad OPC UA NodeId {text!r}: GUID {value!r} is not of the form "
            "72962B91-FA75-4AE6-8D28-B404DC7DAF63"
        )


def _check_opaque(text: str, value: str) -> None:
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error:
        decoded = b""
    if not decoded:
        raise ValueError(f"bad OPC UA NodeId {text!r}: opaque identifier {value!r} is not non-empty base64")


_IDENTIFIER_CHECKS = {"i": _check_numeric, "s": _check_string, "g": _check_guid, "b": _check_opaque}
