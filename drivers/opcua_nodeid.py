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
MAX_NAMESPACE_URI_LENGTH = 4096

NODE_ID_FORMS = (
    "nsu=<namespace uri>;<i|s|g|b>=<identifier>, ns=<index>;<i|s|g|b>=<identifier> or i=<number> "
    "(for example nsu=urn:plant;s=Tank.Level)"
)

_DECIMAL = re.compile(r"[0-9]+")
_GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def parse_node_id(text: str) -> None:
    """Check that ``text`` is a NodeId in the OPC UA string form; raise ``ValueError`` saying why not.

    Accepted: ``i=85``, ``ns=2;i=1001``, ``ns=2;s=Any text``, ``ns=1;g=<8-4-4-4-12 hex>``,
    ``ns=3;b=<base64>``, and each of them with the namespace named by its URI instead of its
    index: ``nsu=urn:plant;s=Tank.Level`` (the URI ends at the first ``;``), which the driver
    resolves against the server's namespace array on every connect.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"bad OPC UA NodeId {text!r}: expected {NODE_ID_FORMS}")
    identifier = text
    if text.startswith("nsu="):
        uri, separator, identifier = text[4:].partition(";")
        if not separator:
            raise ValueError(
                f"bad OPC UA NodeId {text!r}: missing ';' after the namespace URI; expected {NODE_ID_FORMS}"
            )
        if not uri.strip() or len(uri) > MAX_NAMESPACE_URI_LENGTH:
            raise ValueError(f"bad OPC UA NodeId {text!r}: the namespace URI after nsu= is empty or too long")
    elif text.startswith("ns="):
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


def split_namespace(text: str) -> tuple[str | None, int, str]:
    """(namespace URI or None, namespace index, ``kind=identifier``) of a NodeId that ``parse_node_id``
    accepted; the index is 0 for the ``nsu=`` form (it is resolved at connect)."""
    if text.startswith("nsu="):
        uri, _, identifier = text[4:].partition(";")
        return uri, 0, identifier
    if text.startswith("ns="):
        namespace, _, identifier = text[3:].partition(";")
        return None, int(namespace), identifier
    return None, 0, text
