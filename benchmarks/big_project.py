"""Write a project of N Modbus tags shaped like a plant: a few connections, scan classes, alarms and screens.

For profiling and timing the loader and ``hmi check`` at plant scale (10k, 100k tags).

    python -m benchmarks.big_project OUT_FOLDER --tags 100000
"""

from __future__ import annotations

import argparse
from pathlib import Path

TAGS_PER_CONNECTION = 10_000
"""Tags per Modbus connection: float32 tags take two registers, so 10k fit the 65,536-register space."""


def tag_name(index: int) -> str:
    """The name of tag ``index`` (``AREA03.T004711``): dotted, as plants name them."""
    return f"AREA{index // TAGS_PER_CONNECTION:02d}.T{index:06d}"


def project_text(tags: int, alarms: int = 20, port: int = 5020) -> str:
    """The text of ``project.yaml`` for ``tags`` tags over ``ceil(tags / 10k)`` connections on ``port``."""
    connections = max(1, -(-tags // TAGS_PER_CONNECTION))
    lines = ["name: Big Plant", "start_screen: overview", "", "connections:"]
    connection = "  plc{0:02d}: {{driver: modbus, host: 127.0.0.1, port: {1}, unit: {2}}}"
    lines += [connection.format(c, port, c + 1) for c in range(connections)]
    lines += ["", "scan_classes: {fast: 250ms, normal: 1s, slow: 10s}", "", "tags:"]
    for index in range(tags):
        connection, offset = divmod(index, TAGS_PER_CONNECTION)
        name = tag_name(index)
        if index % 10 == 9:  # every tenth tag a writable setpoint with limits
            lines.append(
                f'  {name}: {{connection: plc{connection:02d}, address: "hr:{offset * 2}", type: uint16, '
                "writable: true, limits: [0, 1500], units: rpm}"
            )
        else:
            lines.append(
                f'  {name}: {{connection: plc{connection:02d}, address: "hr:{offset * 2}", type: float32, '
                'units: "%"}'
            )
    lines += ["", "alarms:"]
    for index in range(min(alarms, tags)):
        name = tag_name(index * max(1, tags // max(1, alarms)) // 10 * 10)
        lines.append(
            f'  {name}.HI: {{tag: {name}, type: hi, limit: 90, deadband: 1, on_delay: 2s, priority: high, '
            f'message: "{name} high ({{value:.1f}} %)", screen: overview}}'
        )
    lines += ["", "history: {path: history.db, retention: 30d, commit_interval: 1s}", ""]
    return "\n".join(lines)


def screen_text(tags: int, items: int = 40) -> str:
    """An overview screen showing the first ``items`` tags as values."""
    lines = ["title: Overview", "size: [1000, 700]", "items:"]
    for index in range(min(items, tags)):
        x, y = 20 + (index % 4) * 240, 20 + (index // 4) * 50
        lines.append(
            f"  - {{type: value, id: v{index}, x: {x}, y: {y}, w: 230, h: 44, tag: {tag_name(index)}, "
            f'props: {{label: "{tag_name(index)}"}}}}'
        )
    return "\n".join(lines) + "\n"


def write_big_project(folder: Path, tags: int, alarms: int = 20, port: int = 5020) -> Path:
    """Write the project of ``tags`` tags into ``folder`` (created); return the folder."""
    (folder / "screens").mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text(project_text(tags, alarms, port), encoding="utf-8")
    (folder / "screens" / "overview.yaml").write_text(screen_text(tags), encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    """Command line: write the project and print its folder."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--alarms", type=int, default=20)
    parser.add_argument("--port", type=int, default=5020)
    args = parser.parse_args(argv)
    print(write_big_project(args.folder, args.tags, args.alarms, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
