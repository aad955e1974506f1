"""Connections and tags in project.yaml: every mistake comes back as file:line: message."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_files import BASE, messages, write_project

from drivers.opcua_nodeid import parse_node_id
from hmi.project.loader import check_project, load_project

# --- connections ----------------------------------------------------------------------------------


def test_plaintext_password_is_refused_pointing_to_password_env_or_keyring(tmp_path: Path) -> None:
    text = BASE.replace(
        '"opc.tcp://127.0.0.1:4840/"}', '"opc.tcp://127.0.0.1:4840/",\n        password: hunter2}'
    )
    write_project(tmp_path, text)
    [error] = check_project(tmp_path)
    assert error.line == 5
    assert "password_env" in error.message and "keyring" in error.message
    assert "hunter2" not in error.message


@pytest.mark.parametrize("policy", ["Basic128Rsa15", "Basic256"])
def test_deprecated_security_policies_are_refused_saying_why(tmp_path: Path, policy: str) -> None:
    write_project(tmp_path, BASE.replace('4840/"}', f'4840/", security: {policy}}}'))
    [error] = check_project(tmp_path)
    assert error.line == 4
    assert f"policy {policy!r} is deprecated and refused" in error.message
    assert "SHA-1" in error.message and "Basic256Sha256" in error.message


def test_unknown_policy_gets_a_suggestion(tmp_path: Path) -> None:
    write_project(tmp_path, BASE.replace('4840/"}', '4840/", security: basic256sha256}'))
    [error] = check_project(tmp_path)
    assert error.message.endswith("(did you mean 'Basic256Sha256'?)")


def test_secure_connection_defaults_to_sign_and_encrypt_and_needs_a_matching_mode(tmp_path: Path) -> None:
    secure = BASE.replace('4840/"}', '4840/", security: Basic256Sha256, username: op, password_env: UA_PW}')
    write_project(tmp_path, secure)
    settings = load_project(tmp_path).connections["ua1"].settings
    assert (settings.security, settings.mode, settings.password_env) == (
        "Basic256Sha256",
        "SignAndEncrypt",
        "UA_PW",
    )
    write_project(tmp_path, secure.replace("username", "mode: None, username"))
    [error] = check_project(tmp_path)
    assert "mode: 'None' does not match security 'Basic256Sha256'" in error.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('"opc.tcp://127.0.0.1:4840/"', "'http://x' is not an opc.tcp://"),
        ("driver: opcua", "driver 'opcuaa' is not one of modbus, opcua (did you mean 'opcua'?)"),
        ('4840/"}', "password_env: needs a username"),
    ],
)
def test_opcua_connection_mistakes(tmp_path: Path, change: str, expected: str) -> None:
    replacement = {
        '"opc.tcp://127.0.0.1:4840/"': '"http://x"',
        "driver: opcua": "driver: opcuaa",
        '4840/"}': '4840/", password_env: PW}',
    }[change]
    write_project(tmp_path, BASE.replace(change, replacement, 1))
    [error] = check_project(tmp_path)
    assert error.line == 4 and expected in error.message


def test_modbus_connection_ranges_and_byte_order(tmp_path: Path) -> None:
    write_project(tmp_path, BASE.replace("port: 5020}", "port: 70000, timeout: soon, byte_order: DCAB}"))
    assert [error.message.split(":")[1].strip() for error in check_project(tmp_path)] == [
        "port",
        "timeout",
        "byte_order",
    ]


def test_connection_without_driver(tmp_path: Path) -> None:
    write_project(tmp_path, BASE.replace("driver: modbus, ", ""))
    [error] = check_project(tmp_path)
    assert (error.line, error.message) == (3, "connection 'plc1': missing required key 'driver'")


# --- tags -------------------------------------------------------------------------------------------


def test_unknown_connection_with_suggestion(tmp_path: Path) -> None:
    assert messages(tmp_path, "  SPEED: {connection: plc2, address: 'hr:9', type: uint16}\n") == [
        "8: tag 'SPEED': unknown connection 'plc2' (did you mean 'plc1'?)"
    ]


def test_tag_without_connection_is_refused(tmp_path: Path) -> None:
    [message] = messages(tmp_path, "  SPEED: {address: 'hr:9', type: uint16}\n")
    assert message.startswith("8: tag 'SPEED': missing required key 'connection'")


def test_scan_classes_default_when_absent_and_unknown_ones_are_errors(tmp_path: Path) -> None:
    write_project(tmp_path, BASE + "  SPEED: {connection: plc1, address: 'hr:9', type: uint16, scan: slow}\n")
    project = load_project(tmp_path)
    assert project.scan_classes == {"fast": 0.25, "normal": 1.0, "slow": 10.0}
    assert project.tags["SPEED"].scan_period == 10.0
    assert messages(tmp_path, "  SPEED: {connection: plc1, address: 'hr:9', type: uint16, scan: fsat}\n") == [
        "8: tag 'SPEED': unknown scan class 'fsat' (did you mean 'fast'?)"
    ]


def test_default_scan_class_must_exist_when_scan_classes_are_given(tmp_path: Path) -> None:
    errors = messages(tmp_path, "scan_classes: {quick: 100ms}\n")
    assert errors == [
        "6: tag 'LEVEL': no scan given, and scan_classes lacks the default 'normal'",
        "7: tag 'RUN': no scan given, and scan_classes lacks the default 'normal'",
    ]


def test_scan_class_periods_must_be_positive_durations(tmp_path: Path) -> None:
    assert messages(tmp_path, "scan_classes: {normal: 1s, never: 0}\n") == [
        "8: scan class 'never': should be greater than 0 (got 0)"
    ]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("address: 'hr:99999', type: uint16", "is beyond 65535"),
        ("address: 'hx:9', type: uint16", "bad Modbus address 'hx:9'"),
        ("address: 'co:9', type: float32", "type float32 does not fit co:9"),
        ("address: 'hr:9', type: bool", "type bool at hr:9 needs a bit index"),
        ("address: 'hr:65535', type: float32", "float32 at hr:65535 runs past address 65535"),
    ],
)
def test_modbus_address_errors(tmp_path: Path, tag: str, expected: str) -> None:
    [message] = messages(tmp_path, f"  SPEED: {{connection: plc1, {tag}}}\n")
    assert message.startswith("8: tag 'SPEED': ") and expected in message


@pytest.mark.parametrize("address", ["di:3", "ir:3"])
def test_writable_on_an_input_table_is_an_error_at_writable(tmp_path: Path, address: str) -> None:
    kind = "bool" if address.startswith("di") else "uint16"
    text = f"  IN:\n    connection: plc1\n    address: '{address}'\n    type: {kind}\n    writable: true\n"
    assert messages(tmp_path, text) == [
        f"12: tag 'IN': writable: {address} is in a read-only table (discrete inputs and input registers)"
    ]


def test_overlapping_registers_name_both_tags(tmp_path: Path) -> None:
    assert messages(tmp_path, "  SPEED: {connection: plc1, address: 'hr:1', type: uint16}\n") == [
        "8: tag 'SPEED': address hr:1 overlaps tag 'LEVEL' (hr:0) on connection 'plc1'"
    ]


def test_overlap_counts_string_length_in_registers(tmp_path: Path) -> None:
    text = "  NAME: {connection: plc1, address: 'hr:10', type: string, length: 7}\n"
    text += "  NEXT: {connection: plc1, address: 'hr:13', type: uint16}\n"
    text += "  AFTER: {connection: plc1, address: 'hr:14', type: uint16}\n"
    assert messages(tmp_path, text) == [
        "9: tag 'NEXT': address hr:13 overlaps tag 'NAME' (hr:10) on connection 'plc1'"
    ]


def test_bits_of_one_register_coexist_but_not_with_the_whole_register(tmp_path: Path) -> None:
    text = "".join(
        f"  {name}: {{connection: plc1, address: '{address}', type: {kind}}}\n"
        for name, address, kind in [
            ("B0", "hr:20.0", "bool"),
            ("B1", "hr:20.1", "bool"),
            ("B1AGAIN", "hr:20.1", "bool"),
            ("WORD", "hr:20", "uint16"),
        ]
    )
    assert messages(tmp_path, text) == [
        "10: tag 'B1AGAIN': address hr:20.1 overlaps tag 'B1' (hr:20.1) on connection 'plc1'",
        "11: tag 'WORD': address hr:20 overlaps tag 'B0' (hr:20.0) on connection 'plc1'",
        "11: tag 'WORD': address hr:20 overlaps tag 'B1' (hr:20.1) on connection 'plc1'",
        "11: tag 'WORD': address hr:20 overlaps tag 'B1AGAIN' (hr:20.1) on connection 'plc1'",
    ]


def test_same_index_on_other_tables_or_connections_does_not_overlap(tmp_path: Path) -> None:
    text = "  plc2: {driver: modbus, host: 127.0.0.2}\n"
    write_project(
        tmp_path,
        BASE.replace("  ua1:", text + "  ua1:")
        + "  IR0: {connection: plc1, address: 'ir:0', type: float32}\n"
        + "  OTHER: {connection: plc2, address: 'hr:0', type: float32}\n",
    )
    assert check_project(tmp_path) == []


def test_byte_order_is_checked_and_defaults_to_the_connections(tmp_path: Path) -> None:
    base = BASE.replace("port: 5020}", "port: 5020, byte_order: CDAB}")
    write_project(
        tmp_path, base + "  SWAPPED: {connection: plc1, address: 'hr:8', type: int32, byte_order: BADC}\n"
    )
    tags = load_project(tmp_path).tags
    assert (tags["LEVEL"].link.byte_order, tags["SWAPPED"].link.byte_order) == ("CDAB", "BADC")
    assert messages(
        tmp_path, "  X: {connection: plc1, address: 'hr:8', type: int32, byte_order: ABCE}\n"
    ) == [
        "8: tag 'X': byte_order: unknown byte order 'ABCE': expected one of ABCD, CDAB, BADC, DCBA "
        "(did you mean 'ABCD'?)"
    ]


def test_strings_need_a_length_on_modbus(tmp_path: Path) -> None:
    assert messages(tmp_path, "  NAME: {connection: plc1, address: 'hr:10', type: string}\n") == [
        "8: tag 'NAME': missing required key 'length' (a Modbus string needs its length in characters)"
    ]
    write_project(tmp_path, BASE + "  NAME: {connection: plc1, address: 'hr:10', type: string, length: 16}\n")
    assert load_project(tmp_path).tags["NAME"].string_length == 16


@pytest.mark.parametrize(
    ("extra", "key", "scope"),
    [
        ("limits: [0, 1]", "limits", "numeric tags only"),
        ("deadband: 1", "deadband", "numeric tags only"),
        ("decimals: 1", "decimals", "numeric tags only"),
        ("length: 4", "length", "string tags only"),
    ],
)
def test_keys_that_do_not_apply_to_the_type_are_errors(
    tmp_path: Path, extra: str, key: str, scope: str
) -> None:
    assert messages(tmp_path, f"  FLAG: {{connection: plc1, address: 'co:7', type: bool, {extra}}}\n") == [
        f"8: tag 'FLAG': {key}: not allowed on a bool tag ({scope})"
    ]


def test_limits_must_be_low_then_high(tmp_path: Path) -> None:
    assert messages(
        tmp_path, "  SP: {connection: plc1, address: 'hr:9', type: uint16, limits: [10, 10]}\n"
    ) == ["8: tag 'SP': limits: the low limit 10 must be below the high limit 10"]


def test_opcua_tags_need_a_well_formed_node_id(tmp_path: Path) -> None:
    [message] = messages(tmp_path, "  TEMP: {connection: ua1, address: 'ns=2;Boiler.Temp'}\n")
    assert message.startswith("8: tag 'TEMP': bad OPC UA NodeId 'ns=2;Boiler.Temp'")


def test_modbus_only_keys_on_opcua_tags_are_errors(tmp_path: Path) -> None:
    text = "  TEMP: {connection: ua1, address: 'ns=2;s=T', type: int32, byte_order: CDAB}\n"
    assert messages(tmp_path, text) == [
        "8: tag 'TEMP': byte_order: not allowed on an OPC UA tag (Modbus only)"
    ]


def test_address_is_checked_even_when_its_connection_has_errors(tmp_path: Path) -> None:
    write_project(
        tmp_path, BASE.replace("port: 5020", "port: 0") + "  X: {connection: plc1, address: 'hr:x'}\n"
    )
    assert [error.line for error in check_project(tmp_path)] == [3, 8]


@pytest.mark.parametrize(
    "node_id",
    [
        "i=85",
        "ns=0;i=2253",
        "ns=2;s=Plant.Tank1.Level",
        "s=x;y=z",
        "ns=65535;s= a b ",
        "ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63",
        "ns=3;b=M/RbKBsRVkePCePcx24oRA==",
    ],
)
def test_well_formed_node_ids(node_id: str) -> None:
    parse_node_id(node_id)


@pytest.mark.parametrize(
    "node_id",
    [
        "",
        "85",
        "i=",
        "i=-1",
        "i=4294967296",
        "i=1.5",
        "ns=;i=1",
        "ns=x;i=1",
        "ns=65536;i=1",
        "ns=2",
        "ns=2;",
        "ns=2;s=",
        "ns=2;x=1",
        "ns=2;g=not-a-guid",
        "ns=2;b=***",
        "ns=2;b=",
        "nsu=;s=a",  # (nsu=urn:x;s=a is valid: the namespace by its URI)
        " i=85",
        "ns=2;i=١",
    ],
)
def test_malformed_node_ids(node_id: str) -> None:
    with pytest.raises(ValueError, match="NodeId"):
        parse_node_id(node_id)
