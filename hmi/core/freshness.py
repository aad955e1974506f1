"""When polled values stop being fresh, tracked per read block instead of per tag.

A polling driver vouches for every tag of a block after each successful read, passing the
same tuple of names each time (``drivers.base.RefreshSink``). The tracker keeps one refresh
time per such group, so the watchdog's tick looks at a few hundred blocks rather than every
tag, and a block that stops answering turns all its tags stale in one step. Tags refreshed
one sample at a time (a driver without blocks) are tracked singly beside the groups.

A tag may belong to several groups (a block split after a refusal, a write's read-back
span): it is stale only when every group it belongs to, and its own single refresh, are
older than its limit. That per-tag look happens only for the tags of an expired group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

Group = tuple[str, ...]


class FreshnessTracker:
    """Refresh times of groups of tags (read blocks) and of single tags; finds the ones gone stale."""

    def __init__(self, limit_of: Callable[[str], float], watched: Callable[[str], bool]) -> None:
        self._limit_of = limit_of
        self._watched = watched
        self._group_at: dict[Group, float] = {}  # groups refreshed and not yet expired
        self._group_limit: dict[Group, float] = {}
        self._groups_of: dict[str, list[Group]] = {}
        self._single_at: dict[str, float] = {}  # tags refreshed one by one, not yet expired
        self._exclusive: set[str] = set()  # watched tags that belong to exactly one group

    def vouch(self, names: Sequence[str], now: float) -> Group:
        """Every tag of ``names`` is fresh as of ``now`` (monotonic s); returns the group's key."""
        group = names if type(names) is tuple else tuple(names)
        if group not in self._group_limit:
            self._register(group)
        self._group_at[group] = now
        return group

    def touch(self, name: str, now: float) -> None:
        """One tag is fresh as of ``now``: for tags refreshed one sample at a time."""
        self._single_at[name] = now

    def forget(self, names: Iterable[str]) -> None:
        """Drop single refreshes (the tags went bad: nothing to watch until a good sample)."""
        for name in names:
            self._single_at.pop(name, None)

    def expired(self, now: float) -> list[str]:
        """The watched tags whose every refresh is older than their limit; each is reported once.

        A tag reported is not reported again until it is refreshed (vouched or touched) anew.
        """
        from_groups: set[str] = set()
        for group, at in list(self._group_at.items()):
            if now - at > self._group_limit[group]:
                del self._group_at[group]
                from_groups.update(group)
        singles: set[str] = set()
        for name, at in list(self._single_at.items()):
            if now - at > self._limit_of(name):
                del self._single_at[name]
                singles.add(name)
        if not from_groups and not singles:
            return []
        # A tag watched in exactly one group, that group expired, with no single refresh of its own, is
        # stale without a per-tag look: the group's limit is the longest of its members'. Only the rest
        # (in several groups, refreshed singly, or not watched) is looked at one by one. Set operations
        # in C: a stalled loop expires every block at once, and this pass then runs over every tag.
        plain = from_groups & self._exclusive
        plain.difference_update(self._single_at)
        plain.difference_update(singles)
        rest = (from_groups - plain) | singles
        return [*plain, *(name for name in rest if self._is_stale(name, now))]

    def _is_stale(self, name: str, now: float) -> bool:
        limit = self._limit_of(name)
        single = self._single_at.get(name, -math.inf)
        if now - single <= limit:
            return False
        return all(
            now - self._group_at.get(group, -math.inf) > limit for group in self._groups_of.get(name, ())
        )

    def _register(self, group: Group) -> None:
        members = [name for name in group if self._watched(name)]
        # The tags of one block share their scan period; the longest limit never calls a tag stale early.
        self._group_limit[group] = max((self._limit_of(name) for name in members), default=math.inf)
        for name in members:
            groups = self._groups_of.setdefault(name, [])
            groups.append(group)
            if len(groups) == 1:
                self._exclusive.add(name)
            else:
                self._exclusive.discard(name)
