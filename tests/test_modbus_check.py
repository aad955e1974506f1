"""`hmi check` on Modbus mistakes: every one reported as file:line: message, exit 2, nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hmi.project.loader import check_project, load_project

PROJECT = """\
name: Checks
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 502, unit: 1}
  gw: {driver: modbus, host: 127.0.0.1, port: 503, sockets: 0, verify: yes}
  ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
tags:
  LEVEL: {connection: plc1, address: "hr:0", type: float32}
  SPEED: {connection: plc1, address: "hr:1", type: uint16}
  OTHER_UNIT: {connection: plc1, address: "hr:0", type: float32, unit: 2}
  SAME_UNIT: {connection: plc1, address: "400002", type: uint16, unit: 1}
  U2B: {connection: plc1, address: "hr:1.4", type: bool, unit: 2}
  FLOAT_COIL: {connection: plc1, address: "co:5", type: float32}
  BAD_ADDR: {connection: plc1, address: "hr:70000", type: uint16}
  BAD_TABLE: {connection: plc1, address: "hx:3"}
  MODICON0: {connection: plc1, address: "400000"}
  ORDER: {connection: plc1, address: "hr:20", type: float32, byte_order: ABDC}
  BIG_UNIT: {connection: plc1, address: "hr:30", unit: 256}
  UA_UNIT: {connection: ua1, address: "ns=2;s=X", unit: 3, verify: true}
  LAST: {connection: plc1, address: "hr:65535", type: uint32}
  BOOL_WORD: {connection: plc1, address: "hr:40", type: bool}
  STR: {connection: plc1, address: "hr:50", type: string}
"""

EXPECTED = [
    ("gw:", "connection 'gw': sockets: should be greater than or equal to 1 (got 0)"),
    ("gw:", "connection 'gw': verify: should be a valid boolean (got 'yes')"),
    ("SPEED:", "tag 'SPEED': address hr:1 overlaps tag 'LEVEL' (hr:0) on connection 'plc1'"),
    ("SAME_UNIT:", "tag 'SAME_UNIT': address hr:1 overlaps tag 'LEVEL' (hr:0) on connection 'plc1' unit 1"),
    ("SAME_UNIT:", "tag 'SAME_UNIT': address hr:1 overlaps tag 'SPEED' (hr:1) on connection 'plc1' unit 1"),
    ("U2B:", "tag 'U2B': address hr:1.4 overlaps tag 'OTHER_UNIT' (hr:0) on connection 'plc1' unit 2"),
    ("FLOAT_COIL:", "tag 'FLOAT_COIL': type float32 does not fit co:5: coils and discrete inputs hold bool"),
    ("BAD_ADDR:", "tag 'BAD_ADDR': Modbus address 'hr:70000' is beyond 65535"),
    ("BAD_TABLE:", "tag 'BAD_TABLE': bad Modbus address 'hx:3': expected co:N, di:N, ir:N, hr:N"),
    ("MODICON0:", "tag 'MODICON0': Modicon address '400000': numbering starts at 1"),
    ("ORDER:", "tag 'ORDER': byte_order: unknown byte order 'ABDC': expected one of ABCD, CDAB, BADC, DCBA"),
    ("BIG_UNIT:", "tag 'BIG_UNIT': unit: should be less than or equal to 255 (got 256)"),
    ("UA_UNIT:", "tag 'UA_UNIT': unit: not allowed on an OPC UA tag (Modbus only)"),
    ("UA_UNIT:", "tag 'UA_UNIT': verify: not allowed on an OPC UA tag (Modbus only)"),
    ("LAST:", "tag 'LAST': uint32 at hr:65535 runs past address 65535"),
    ("BOOL_WORD:", "tag 'BOOL_WORD': type bool at hr:40 needs a bit index (for example hr:40.0)"),
    ("STR:", "tag 'STR': missing required key 'length' (a Modbus string needs its length in characters)"),
]


def line_of(text: str, needle: str) -> int:
    (line,) = [n for n, content in enumerate(text.splitlines(), 1) if needle in content]
    return line


def test_hmi_check_reports_each_modbus_mistake_at_its_line(tmp_path: Path) -> None:
    project = tmp_path / "project.yaml"
    project.write_text(PROJECT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stdout.splitlines()
    for needle, message in EXPECTED:
        prefix = f"{project}:{line_of(PROJECT, needle)}: {message}"
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    assert len(lines) == len(EXPECTED), lines


def test_units_sockets_and_verify_reach_the_runtime(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(
        """\
name: Gateway
connections:
  gw: {driver: modbus, host: 127.0.0.1, unit: 7, sockets: 3, verify: true}
tags:
  A: {connection: gw, address: "hr:0", type: float32}
  B: {connection: gw, address: "hr:0", type: float32, unit: 8, verify: false}
  C: {connection: gw, address: "hr:1", type: uint16, unit: 9}
""",
        encoding="utf-8",
    )
    assert check_project(tmp_path) == []
    project = load_project(tmp_path)
    settings = project.connections["gw"].settings
    assert (settings.unit, settings.sockets, settings.verify) == (7, 3, True)
    tags = project.tags
    assert [(tags[n].link.unit, tags[n].link.verify) for n in "ABC"] == [(None, None), (8, False), (9, None)]
