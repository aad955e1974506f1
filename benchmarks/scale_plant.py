"""The plant of ``hmi bench scale``: its tag layout, its project folder and its server processes.

Tags sit in groups of 120 holding registers (40 float32 and 40 uint16 tags, 80 tags), one group
after another with a gap wider than the driver's ``max_gap``, so the driver reads each group as
one block of 120 registers, as a plant's PLC map is usually read. Each connection is a PLC of
``tags_per_connection`` tags; ``connections_per_server`` PLCs share one server process.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FLOATS_PER_GROUP = 40
WORDS_PER_GROUP = 40
GROUP_REGISTERS = 2 * FLOATS_PER_GROUP + WORDS_PER_GROUP  # 120
GROUP_STRIDE = GROUP_REGISTERS + 16  # a gap the planner never bridges (its max_gap is 8 by default)
SCAN = "1s"
SERVER_START_S = 30.0
MAX_REGISTERS = 65536
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Connection:
    """One PLC: its name, its port (once its server listens) and its tags (name → first register)."""

    name: str
    port: int = 0
    tags: list[tuple[str, int]] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)

    def add(self, tag: str, address: int) -> None:
        """Place ``tag`` at holding register ``address`` (tags are added in address order)."""
        self.tags.append((tag, address))
        self._starts.append(address)

    @property
    def registers(self) -> int:
        """Registers the server must hold for this layout."""
        return self._starts[-1] + 2 if self._starts else 0

    def tags_in(self, first: int, count: int) -> int:
        """How many tags start inside a read of ``count`` registers from ``first``."""
        return bisect.bisect_left(self._starts, first + count) - bisect.bisect_left(self._starts, first)


def layout(tags: int, tags_per_connection: int) -> list[Connection]:
    """``tags`` tags over PLCs of at most ``tags_per_connection`` tags each."""
    connections: list[Connection] = []
    left = tags
    while left > 0:
        count = min(left, tags_per_connection)
        plc = Connection(f"C{len(connections):03d}")
        for i in range(count):
            group, slot = divmod(i, FLOATS_PER_GROUP + WORDS_PER_GROUP)
            base = group * GROUP_STRIDE
            if slot < FLOATS_PER_GROUP:
                plc.add(f"{plc.name}_F{i:05d}", base + 2 * slot)
            else:
                plc.add(f"{plc.name}_W{i:05d}", base + 2 * FLOATS_PER_GROUP + slot - FLOATS_PER_GROUP)
        if plc.registers > MAX_REGISTERS:
            raise ValueError(f"{tags_per_connection} tags do not fit one Modbus register table")
        connections.append(plc)
        left -= count
    return connections


def write_project(folder: Path, connections: list[Connection], processes: int | str = 0) -> Path:
    """The project folder ``hmi run`` takes: every tag at 1 s, history kept in ``history.db``.

    ``processes`` is the project's ``acquisition: {processes: ...}`` (0: drivers in the runtime).
    """
    lines = ["name: Scale benchmark", f"acquisition: {{processes: {processes}}}", "connections:"]
    for plc in connections:
        lines.append(
            f"  {plc.name}: {{driver: modbus, host: 127.0.0.1, port: {plc.port}, unit: 1, timeout: 3s}}"
        )
    lines += [
        f"scan_classes: {{normal: {SCAN}}}",
        "history: {path: history.db, commit_interval: 1s}",
        "tags:",
    ]
    for plc in connections:
        for tag, address in plc.tags:
            kind = "float32" if "_F" in tag else "uint16"
            lines.append(f'  {tag}: {{connection: {plc.name}, address: "hr:{address}", type: {kind}}}')
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


class ServerProcesses:
    """The PLC server processes of one run; only these are ever stopped or killed, by pid."""

    def __init__(self, connections: list[Connection], connections_per_server: int, logs: Path) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self._groups: dict[int, list[Connection]] = {}
        self._logs: dict[int, Path] = {}
        for first in range(0, len(connections), connections_per_server):
            group = connections[first : first + connections_per_server]
            size = max(plc.registers for plc in group) + 8
            command = [sys.executable, "-m", "benchmarks.scale_server", str(size), str(len(group))]
            log = logs / f"server-{first // connections_per_server}.log"
            with open(log, "wb") as errors:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,  # closed when we are done, however we end: the server ends too
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env=child_env(),
                )
            self.processes.append(process)
            self._groups[process.pid] = group
            self._logs[process.pid] = log

    def _failed(self, process: subprocess.Popen[bytes], what: str) -> RuntimeError:
        errors = self._logs[process.pid].read_text(errors="replace").strip().splitlines()[-3:]
        return RuntimeError(f"server process {process.pid} {what}: {' | '.join(errors) or 'no message'}")

    def wait_listening(self, within: float = SERVER_START_S) -> None:
        """Until every server listens, each PLC then knowing its port; else RuntimeError naming the pid."""
        deadline = time.monotonic() + within
        with selectors.DefaultSelector() as selector:
            for process in self.processes:
                assert process.stdout is not None
                selector.register(process.stdout, selectors.EVENT_READ, process)
            waiting = set(self.processes)
            while waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._failed(next(iter(waiting)), f"did not listen within {within:g} s")
                for key, _ in selector.select(left):
                    process = key.data
                    words = process.stdout.readline().split()
                    group = self._groups[process.pid]
                    if words[:1] != [b"listening"] or len(words) != len(group) + 1:
                        raise self._failed(process, "did not start")
                    for plc, port in zip(group, words[1:], strict=True):
                        plc.port = int(port)
                    selector.unregister(key.fileobj)
                    waiting.discard(process)

    def cpu_seconds(self) -> float:
        """User+sys seconds all the servers used so far (Linux ``/proc``; 0 for one already gone)."""
        return sum(proc_cpu_s(process.pid) or 0.0 for process in self.processes)

    def finish(self, within: float = 60.0) -> list[bytes]:
        """Close their stdin and take what each served; a server that does not answer is killed."""
        outputs: list[bytes] = []
        for process in self.processes:
            try:
                out, _ = process.communicate(input=b"", timeout=within)
            except subprocess.TimeoutExpired:
                kill(process.pid)
                out, _ = process.communicate()
            outputs.append(out)
        return outputs

    def kill_all(self) -> None:
        """Kill those still running (after an error); the pids are our own children."""
        for process in self.processes:
            if process.poll() is None:
                kill(process.pid)
                process.wait()


def kill(pid: int) -> None:
    """SIGKILL one process we started."""
    with contextlib.suppress(ProcessLookupError):  # it ended by itself meanwhile
        os.kill(pid, signal.SIGKILL)


def proc_cpu_s(pid: int) -> float | None:
    """User+sys seconds of ``pid`` so far (Linux ``/proc``); None when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime: fields 14 and 15, stat(5)


def child_env() -> dict[str, str]:
    """Our environment with this source tree first on the path, so children run the code measured."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env
