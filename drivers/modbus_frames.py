"""Every Modbus TCP answer must match its request: checked on the bytes, beside pymodbus.

pymodbus 3.x takes an answer with transaction id 0 for any request, and does not
compare the function code or the byte count with the request: a device (or a
gateway) that answers another request, another unit or with more or fewer values
than asked would have its data decoded as ours. ``FrameCheck`` sees the bytes
pymodbus sends and receives (its ``trace_packet`` hook), remembers the one request
in flight, and judges each complete answer frame against it:

- MBAP: protocol id 0, the request's transaction id and unit id, a length that holds a PDU;
- the function code of the request, or the request's exception code (``fc | 0x80``);
- reads (1-4): the byte count for exactly the quantity asked, and a PDU of exactly that size;
- single writes (5, 6): the request's address, 4 bytes (the value a device echoes may be what it
  stored, clamped: that is the readback's and verify's to judge); multiple writes (15, 16): the
  request's address and quantity;
- an exception answer: exactly two bytes;
- one answer per request.

The first mismatch is kept as ``violation``; the link turns it into a protocol error.
"""

from __future__ import annotations

from dataclasses import dataclass

_MBAP = 7  # transaction id (2), protocol id (2), length (2), unit id (1)
_READS = frozenset({1, 2, 3, 4})
_ECHOES = frozenset({5, 6})
_MULTIPLE_WRITES = frozenset({15, 16})


@dataclass(frozen=True, slots=True)
class SentRequest:
    """What one request asked, read off the frame pymodbus sent."""

    tid: int
    unit: int
    pdu: bytes

    @property
    def function(self) -> int:
        """The request's function code."""
        return self.pdu[0]

    @property
    def quantity(self) -> int:
        """Bits or registers asked for (reads and multiple writes), else 0."""
        if self.function in _READS | _MULTIPLE_WRITES and len(self.pdu) >= 5:
            return int.from_bytes(self.pdu[3:5], "big")
        return 0

    def expected_byte_count(self) -> int:
        """The byte count a read's answer must carry for the quantity asked."""
        if self.function in (1, 2):
            return (self.quantity + 7) // 8
        return 2 * self.quantity


def parse_request(frame: bytes) -> SentRequest | None:
    """The request in one sent MBAP frame, or None for bytes that are not one."""
    if len(frame) < _MBAP + 1:
        return None
    return SentRequest(int.from_bytes(frame[0:2], "big"), frame[6], bytes(frame[_MBAP:]))


def mismatch(request: SentRequest, frame: bytes) -> str | None:
    """Why ``frame`` (one whole MBAP frame) is not the answer to ``request``; None when it is."""
    tid = int.from_bytes(frame[0:2], "big")
    if tid != request.tid:
        return f"transaction id {tid} in the answer, {request.tid} in the request"
    if (protocol := int.from_bytes(frame[2:4], "big")) != 0:
        return f"protocol id {protocol} in the answer (Modbus is 0)"
    if frame[6] != request.unit:
        return f"unit id {frame[6]} in the answer, {request.unit} in the request"
    pdu = frame[_MBAP:]
    if not pdu:
        return "an answer without a function code"
    function = pdu[0]
    if function == request.function | 0x80:
        if len(pdu) != 2:
            return f"an exception answer of {len(pdu)} bytes (2 expected)"
        return None
    if function != request.function:
        return f"function code {function} in the answer to a function code {request.function} request"
    if request.function in _READS:
        return _read_mismatch(request, pdu)
    if request.function in _ECHOES:
        if len(pdu) != 5 or pdu[1:3] != request.pdu[1:3]:
            return "a write answer that does not echo the request's address"
        return None
    if request.function in _MULTIPLE_WRITES:
        return None if pdu == request.pdu[:5] else "a write answer that does not echo address and quantity"
    return None


def _read_mismatch(request: SentRequest, pdu: bytes) -> str | None:
    if len(pdu) < 2:
        return "a read answer without a byte count"
    expected = request.expected_byte_count()
    if (count := pdu[1]) != expected:
        return f"byte count {count} for {request.quantity} values asked ({expected} expected)"
    if len(pdu) != 2 + count:
        return f"{len(pdu) - 2} data bytes after a byte count of {count}"
    return None


class FrameCheck:
    """The request in flight on one connection and the first answer that did not match it."""

    def __init__(self) -> None:
        self.request: SentRequest | None = None
        self.violation: str | None = None

    def arm(self) -> None:
        """Forget the last request: a new one is about to be sent."""
        self.request, self.violation = None, None

    def trace(self, sending: bool, data: bytes) -> bytes:
        """pymodbus's ``trace_packet`` hook: note what is sent, judge what arrives; returns ``data``."""
        if sending:
            self.request = parse_request(data)
        elif self.request is not None and self.violation is None:
            self._judge(data)
        return data

    def _judge(self, buffer: bytes) -> None:
        # pymodbus hands over its whole receive buffer: judge the complete frames at its start
        # (a partial one is judged when the rest arrives and the buffer is handed over again).
        assert self.request is not None
        offset, answers = 0, 0
        while len(buffer) - offset >= 6:
            length = int.from_bytes(buffer[offset + 4 : offset + 6], "big")
            if length < 2:
                self._fail(f"an MBAP length of {length} (at least 2)")
                return
            end = offset + 6 + length
            if end > len(buffer):
                return
            answers += 1
            if answers > 1:
                self._fail("more than one answer to one request")
                return
            if (reason := mismatch(self.request, buffer[offset:end])) is not None:
                self._fail(reason)
                return
            offset = end

    def _fail(self, reason: str) -> None:
        self.violation = reason
