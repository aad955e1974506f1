"""What a Modbus exception response means for the tags it concerns."""

from __future__ import annotations

from hmi.model import Reason

_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge (busy with a long command)",
    6: "device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
_REQUEST_ERRORS = frozenset({1, 2, 3})
_GATEWAY_ERRORS = frozenset({10, 11})


class LinkError(ConnectionError):
    """The connection itself failed (lost, refused, no response): the supervisor reconnects."""

    reason = Reason.COMM_FAILURE
    """What the tags of the connection show while it is down."""


class ProtocolError(LinkError):
    """An answer that does not match its request: its data is never used, the connection is reopened.

    After an answer to another request (or unit) the pairing of answers and requests on the
    connection can no longer be trusted, so the whole connection goes, not just the one read.
    """

    reason = Reason.PROTOCOL_ERROR


def describe_exception(code: int) -> str:
    """A readable name for a Modbus exception code, with the code."""
    return f"{_NAMES.get(code, 'exception')} (code {code})"


def reason_for_exception(code: int) -> Reason:
    """The quality reason of tags whose read got exception ``code``.

    Codes 1-3 say the request does not match the device (a configuration error);
    10-11 come from a gateway that cannot reach the device behind it; the rest
    are the device's own trouble.
    """
    if code in _REQUEST_ERRORS:
        return Reason.CONFIG_ERROR
    if code in _GATEWAY_ERRORS:
        return Reason.COMM_FAILURE
    return Reason.DEVICE_FAILURE


def splitting_may_help(code: int) -> bool:
    """True when a smaller read could succeed: the device refused some address or the size of the block."""
    return code in _REQUEST_ERRORS
