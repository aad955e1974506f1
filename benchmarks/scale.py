"""``hmi bench scale [--tags 10000,50000,100000] [--seconds N]``: the whole runtime at plant scale.

For each N: N Modbus tags at a 1 s scan, every value changing every second, on PLCs of 5,000 tags
(blocks of 120 registers) served by pymodbus servers in other processes; the runtime is
``hmi run PROJECT --headless --for N`` in a child process, exactly as a plant runs it. Reported:

- ``cpu_steady_percent``: the runtime process's user+sys CPU over the steady window / wall time
  (one core = 100 %), from ``/proc``; ``workers_cpu_steady_percent`` the same for its children (the
  acquisition workers of ``--processes N|auto``, found by ppid) and ``total_cpu_steady_percent`` the
  two summed; ``cpu_overall_percent`` over its whole life (start-up and stop included, workers
  counted once reaped); ``peak_rss_mb`` its peak resident memory (``wait4``);
- ``lateness_p50_ms`` / ``lateness_p99_ms``: how late each scan cycle's first read reached the PLC
  against the deadlines start + k s (measured in the server processes: nothing is added to the
  runtime), beside the driver's own ``driver_lateness_p99_ms_max`` and overruns from its log;
- samples offered (values the PLCs served) against stored (good rows in the history file), in total
  and over the steady window, and the share of (tag, second) cells of the window present in history;
- ``first_value_s`` / ``all_first_values_s``: from the process start to the first stored value, and to
  the moment every tag had one; the load average before and after (the machine may be shared).

Every run is time-boxed (``--for`` plus a start-up allowance that grows with N); the only processes
it stops or kills are its own children, by pid.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.scale_analysis import (
    history_figures,
    lateness_figures,
    log_figures,
    parse_served,
    steady_window,
)
from benchmarks.scale_cpu import TreeCpu
from benchmarks.scale_plant import ServerProcesses, child_env, kill, layout, write_project

DEFAULT_TAGS = (10_000,)
DEFAULT_SECONDS = 30.0
TAGS_PER_CONNECTION = 5_000
CONNECTIONS_PER_SERVER = 2
START_ALLOWANCE_S = 60.0
START_ALLOWANCE_PER_TAG_S = 0.003  # today's main loads a 100k-tag project in two minutes or more when loaded
STOP_ALLOWANCE_S = 60.0
TERM_GRACE_S = 20.0
POLL_S = 0.25


@dataclass(frozen=True)
class ScaleRun:
    """One measurement: how many tags, for how long, in what shape."""

    tags: int
    seconds: float = DEFAULT_SECONDS
    tags_per_connection: int = TAGS_PER_CONNECTION
    connections_per_server: int = CONNECTIONS_PER_SERVER
    processes: int | str = 0
    """The project's ``acquisition: {processes: ...}``: 0 drivers in the runtime, N or "auto" workers."""

    @property
    def time_box_s(self) -> float:
        """The longest the runtime process may live before it is stopped."""
        return self.seconds + START_ALLOWANCE_S + START_ALLOWANCE_PER_TAG_S * self.tags + STOP_ALLOWANCE_S


def parse_args(argv: Sequence[str]) -> dict[str, Any]:
    """The benchmark's own options (after ``hmi bench scale``)."""
    parser = argparse.ArgumentParser(
        prog="hmi bench scale",
        description="Run the whole runtime at N Modbus tags against servers in other processes; print JSON.",
        epilog="example: hmi bench scale --tags 10000,50000,100000 --seconds 60",
    )
    parser.add_argument(
        "--tags", default=",".join(str(n) for n in DEFAULT_TAGS), help="comma-separated counts"
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="the runtime's --for")
    parser.add_argument("--tags-per-connection", type=int, default=TAGS_PER_CONNECTION)
    parser.add_argument("--connections-per-server", type=int, default=CONNECTIONS_PER_SERVER)
    parser.add_argument(
        "--processes",
        default="0",
        help="the project's acquisition processes: 0 (drivers in the runtime's process), N or auto",
    )
    parser.add_argument(
        "--keep", type=Path, help="keep each run's project, log and history under this folder"
    )
    args = parser.parse_args(list(argv))
    try:
        counts = [int(n) for n in args.tags.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--tags: comma-separated whole numbers, not {args.tags!r}")
    if not counts or min(counts) < 1 or args.seconds <= 0:
        parser.error("--tags needs counts of at least 1 and --seconds a positive duration")
    processes = _processes(args.processes)
    if processes is None:
        parser.error(f"--processes: 0, a whole number of worker processes or auto, not {args.processes!r}")
    return {
        "runs": [
            ScaleRun(n, args.seconds, args.tags_per_connection, args.connections_per_server, processes)
            for n in counts
        ],
        "keep": args.keep,
    }


def _processes(text: str) -> int | str | None:
    if text.strip() == "auto":
        return "auto"
    try:
        count = int(text)
    except ValueError:
        return None
    return count if count >= 0 else None


def run(runs: Sequence[ScaleRun] | None = None, keep: Path | None = None) -> dict[str, Any]:
    """Measure each run in turn; one JSON object with a list of results."""
    results = []
    for spec in runs or [ScaleRun(n) for n in DEFAULT_TAGS]:
        folder = Path(tempfile.mkdtemp(prefix=f"hmi-scale-{spec.tags}-"))
        try:
            results.append(measure(spec, folder))
        finally:
            if keep is not None:
                shutil.copytree(folder, keep / folder.name, dirs_exist_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
    return {"runs": results}


def measure(spec: ScaleRun, folder: Path) -> dict[str, Any]:
    """One run of the runtime against its PLCs in ``folder``; the figures as a dict."""
    connections = layout(spec.tags, spec.tags_per_connection)
    load_before = os.getloadavg()
    servers = ServerProcesses(connections, spec.connections_per_server, folder)
    try:
        servers.wait_listening()
        write_project(folder / "project", connections, spec.processes)
        server_cpu = -servers.cpu_seconds()
        life = _run_runtime(folder, spec)
        server_cpu += servers.cpu_seconds()
        served = parse_served(servers.finish(), connections)
    finally:
        servers.kill_all()
    window = steady_window(served)
    history = history_figures(folder / "project" / "history.db", connections, served, window)
    first, last_first = history.pop("first_row_ts", None), history.pop("last_first_row_ts", None)
    log_text = (folder / "runtime.log").read_text(encoding="utf-8", errors="replace")
    result: dict[str, Any] = {
        "tags": spec.tags,
        "seconds": spec.seconds,
        "connections": len(connections),
        "server_processes": len(servers.processes),
        "registers_per_block": 120,
        "processes": spec.processes,
        "child_processes_seen": life.cpu.children_seen,
        "exit_code": life.exit_code,
        "timed_out": life.timed_out,
        # the runtime alone, its worker children alone, and the two summed (one core = 100 %)
        **life.cpu.percents(window),
        "cpu_overall_percent": life.overall_cpu_percent,
        "workers_cpu_s": life.workers_cpu_s,
        "peak_rss_mb": life.peak_rss_mb,
        # the PLC side's own share of the machine: if it nears the cores left, the servers are the limit
        "server_cpu_percent": round(100.0 * server_cpu / max(life.ended - life.started, 1e-6), 1),
        **lateness_figures(served),
        **log_figures(log_text),
        **history,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    result["first_value_s"] = round(first - life.started, 2) if first is not None else None
    result["all_first_values_s"] = round(last_first - life.started, 2) if last_first is not None else None
    return result


@dataclass
class RuntimeLife:
    """What the supervisor saw of the runtime process."""

    started: float
    ended: float
    exit_code: int | None
    timed_out: bool
    cpu: TreeCpu
    user_sys_s: float
    peak_rss_mb: float

    @property
    def overall_cpu_percent(self) -> float:
        """User+sys over the whole life / its wall time (one core = 100 %).

        ``wait4`` counts the children the runtime waited for (its workers, once stopped) in its own
        figure: this is the runtime and its workers together over the whole life.
        """
        return round(100.0 * self.user_sys_s / max(self.ended - self.started, 1e-6), 1)

    @property
    def workers_cpu_s(self) -> float:
        """The worker children's user+sys seconds at their last reading."""
        return round(self.cpu.samples[-1][2], 2) if self.cpu.samples else 0.0


def _run_runtime(folder: Path, spec: ScaleRun) -> RuntimeLife:
    command = [sys.executable, "-m", "hmi.app.cli", "run", str(folder / "project"), "--headless"]
    command += ["--for", str(spec.seconds)]
    with open(folder / "runtime.log", "wb") as log:
        started = time.time()
        process = subprocess.Popen(
            command, cwd=folder, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=child_env()
        )
    cpu = TreeCpu(process.pid)
    deadline = started + spec.time_box_s
    timed_out = False
    terminated_at: float | None = None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            break
        cpu.sample(time.time())
        now = time.time()
        if now > deadline and terminated_at is None:
            timed_out, terminated_at = True, now
            os.kill(process.pid, signal.SIGTERM)  # our own child: ask it to stop and commit first
        elif terminated_at is not None and now > terminated_at + TERM_GRACE_S:
            kill(process.pid)
        time.sleep(POLL_S)  # the supervisor runs no event loop: a plain sleep between two looks
    process.returncode = os.waitstatus_to_exitcode(status)
    return RuntimeLife(
        started=started,
        ended=time.time(),
        exit_code=process.returncode,
        timed_out=timed_out,
        cpu=cpu,
        user_sys_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    )
