"""CPU of the runtime process and of its worker children, sampled from Linux ``/proc``.

With ``acquisition: {processes: N}`` the drivers run in children of the runtime process, whose
CPU the runtime's own ``/proc/PID/stat`` does not include until they are waited for (and then only
in its ``cutime``, after the run). The tree is found by parent pid on every look, and each child's
last reading is kept, so a worker that ends inside the window still counts what it used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.scale_plant import proc_cpu_s


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])  # ppid: field 4 of stat(5)


def descendants(root: int) -> list[int]:
    """Every living process below ``root`` (children, their children, ...), found by ppid."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (parent := _parent(int(entry))) is not None:
            parents[int(entry)] = parent
    below: list[int] = []
    frontier = {root}
    while frontier:
        found = [pid for pid, parent in parents.items() if parent in frontier]
        below += found
        frontier = set(found)
    return below


@dataclass
class TreeCpu:
    """Samples of (wall time, runtime CPU s, children CPU s) for one runtime process."""

    root: int
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    _children: dict[int, float] = field(default_factory=dict)

    @property
    def children_seen(self) -> int:
        """How many distinct child processes were ever seen (the workers, a resource tracker...)."""
        return len(self._children)

    def sample(self, now: float) -> None:
        """One look at the tree; a child already gone keeps its last reading."""
        own = proc_cpu_s(self.root)
        if own is None:
            return
        for pid in descendants(self.root):
            cpu = proc_cpu_s(pid)
            if cpu is not None:
                self._children[pid] = cpu
        self.samples.append((now, own, sum(self._children.values())))

    def percents(self, window: tuple[float, float] | None) -> dict[str, float | None]:
        """Runtime, children and their sum over ``window``, one core = 100 %."""
        inside = [s for s in self.samples if window and window[0] <= s[0] <= window[1]]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
            return {
                "cpu_steady_percent": None,
                "workers_cpu_steady_percent": None,
                "total_cpu_steady_percent": None,
            }
        (t0, own0, kids0), (t1, own1, kids1) = inside[0], inside[-1]
        span = t1 - t0
        own, kids = 100.0 * (own1 - own0) / span, 100.0 * (kids1 - kids0) / span
        return {
            "cpu_steady_percent": round(own, 1),
            "workers_cpu_steady_percent": round(kids, 1),
            "total_cpu_steady_percent": round(own + kids, 1),
        }
