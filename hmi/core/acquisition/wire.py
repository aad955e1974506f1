"""What the runtime and an acquisition process say to each other over their pipe.

Every message is a tuple whose first item names it, pickled whole. Tags travel as their index
in the connection's tag list, never as names, and good samples as three parallel lists (indices,
values, timestamps), so that one batch of a block's changed tags is a handful of Python lists
rather than one object per tag.

Runtime to process::

    (OPEN, conn, config, tags, stale, wants_refresh)   start a driver for connection ``conn``
    (CLOSE, request, conn)                               stop it; answered by DONE
    (WRITE, request, conn, tag_index, value)             write; answered by DONE (error text or None)
    (EXIT,)                                              stop every driver and end

Process to runtime::

    (READY, pid)
    (BATCH, goods, others, refreshes)   goods: [(conn, indices, values, stamps)], stamps one float
                                        for all (a driver's read) or a list, one each;
                                        others: [(conn, index, value, quality, ts, reason)] (not good);
                                        refreshes: [(conn, block, indices or None)] (indices on first use)
    (STATUS, conn, ConnectionStatus)
    (DIAGNOSTICS, conn, DriverDiagnostics)
    (DONE, request, error text or None)
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import operator
import pickle
from collections.abc import Callable
from typing import Any

from hmi.model import TagDef

OPEN = "open"
CLOSE = "close"
WRITE = "write"
EXIT = "exit"

READY = "ready"
BATCH = "batch"
STATUS = "status"
DIAGNOSTICS = "diagnostics"
DONE = "done"

PROTOCOL = pickle.HIGHEST_PROTOCOL


def _fields_as_arguments(cls: type) -> Callable[[Any], tuple[type, tuple[Any, ...]]]:
    # A frozen slotted dataclass pickles through dataclasses' generic state hooks (a fields() call per
    # object): an OPEN of 100,000 tags took seconds. Its fields read by one C getter are constructor
    # arguments at a fraction of that.
    fields = operator.attrgetter(*(field.name for field in dataclasses.fields(cls)))

    def reduce(obj: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, fields(obj)

    return reduce


def _dispatch_table() -> dict[type, Any]:
    from drivers.settings import ModbusTagLink  # light: settings dataclasses, no protocol library

    return {**copyreg.dispatch_table, **{cls: _fields_as_arguments(cls) for cls in (TagDef, ModbusTagLink)}}


_DISPATCH = _dispatch_table()


def encode(message: tuple[Any, ...]) -> bytes:
    """One message as the bytes of one pipe write."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=PROTOCOL)
    pickler.dispatch_table = _DISPATCH  # this pickler only: nothing else's pickling changes
    pickler.dump(message)
    return buffer.getvalue()


def decode(data: bytes) -> tuple[Any, ...]:
    """The message of one pipe read (only ever from our own child or parent)."""
    message = pickle.loads(data)  # the peer is our own process, over a private pipe
    if not isinstance(message, tuple) or not message:
        raise ValueError(f"not a message: {type(message).__name__}")
    return message
