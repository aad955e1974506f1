"""The objects a large project builds at start-up, taken out of the cyclic garbage collector's view."""

from __future__ import annotations

import gc

__all__ = ["FREEZE_MIN_TAGS", "freeze_start_up_heap"]

FREEZE_MIN_TAGS = 5000
"""From this many tags the objects of start-up (project, tag definitions, poll plans) leave the garbage
collector's view once the runtime has started (see :func:`freeze_start_up_heap`)."""


def freeze_start_up_heap(tags: int) -> bool:
    """Collect once, then move every object alive to the collector's permanent generation (``gc.freeze``).

    The hot path allocates a sample per changed tag, so the cyclic collector runs often, and each of its
    full passes walked every object of a large project: at 100,000 tags more than half of a watchdog
    pass that flagged every tag, and a share of every decode and commit. What start-up built lives as
    long as the process, so nothing is lost by not scanning it again; a small project keeps the default.
    """
    if tags < FREEZE_MIN_TAGS:
        return False
    gc.collect()  # the garbage of loading goes now: frozen, a cycle would stay for good
    gc.freeze()
    return True
