"""Stale flags: a quality change the runtime makes itself is stored when it was detected, not as a rewrite.

The runtime's watchdog turns a value that stopped refreshing into uncertain/stale
and keeps the value's *source* timestamp (``Sample.with_quality``). Stored as it
comes, that sample would replace the good row it flags (history would then say
the value was never good) and, being "late", send its tag down the per-tag
rollup rebuild. Instead the historian stores the flag as a sample of its own at
the time the writer took it (within one commit interval of its detection), kept
strictly after the sample it flags and before the tag's next sample in the same
batch. The flagged good row stays as it was; a trend shows the value good until
the flag and uncertain from it; the rollups count the flag as one more sample,
appended like any fresh one.

Only the runtime's own flag is moved (uncertain with reason ``stale``, not newer
than what the tag already holds): a driver's late or replaced sample keeps its
timestamp and takes the late-sample path.
"""

from __future__ import annotations

import numpy as np

from hmi.model import Quality, Reason

_STALE = Reason.STALE.value
_UNCERTAIN = int(Quality.UNCERTAIN)
_NO_TS_LOW = np.iinfo(np.int64).min
_NO_TS_HIGH = np.iinfo(np.int64).max


def stale_flags(quality: np.ndarray, reasons: list[str]) -> np.ndarray | None:
    """Mask of the rows that may be stale flags; None (the common case) when there are none."""
    if _STALE not in reasons:  # one C-level scan
        return None
    flags = (quality == _UNCERTAIN) & (np.array(reasons, dtype=object) == _STALE)
    return flags if flags.any() else None


def restamp(tag_id: np.ndarray, ts: np.ndarray, flags: np.ndarray, newest: np.ndarray, detected: int) -> int:
    """Move each flag that is not newer than its tag's latest sample to ``detected`` (µs), in place.

    ``newest``: per row, the tag's latest stored ts (NO_TS_LOW for none). A flag
    lands at ``detected`` clamped to lie after the latest sample at or before it
    and before the tag's next sample in the batch; where no such instant exists
    it keeps its timestamp. Returns how many were moved.
    """
    order = np.lexsort((flags, ts, tag_id))  # at one ts, the sample before its flag
    ids, stamps, flagged = tag_id[order], ts[order], flags[order]
    same_as_previous = np.zeros(ids.size, bool)
    same_as_previous[1:] = ids[1:] == ids[:-1]
    previous = np.where(same_as_previous, np.roll(stamps, 1), _NO_TS_LOW)
    previous = np.maximum(previous, newest[order])
    same_as_next = np.append(same_as_previous[1:], False)
    following = np.where(same_as_next, np.roll(stamps, -1), _NO_TS_HIGH)
    # previous + 1 and following - 1 stay in range: a stored ts is at most 2**63 - 1024 (ingest's bound).
    low = np.where(previous == _NO_TS_LOW, _NO_TS_LOW, previous + 1)
    high = np.where(following == _NO_TS_HIGH, _NO_TS_HIGH, following - 1)
    move = flagged & (stamps <= previous) & (low <= high)
    if not move.any():
        return 0
    moved = np.clip(np.int64(detected), low[move], high[move])
    ts[order[move]] = moved
    return int(move.sum())
