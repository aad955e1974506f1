"""The OPC UA driver against a real asyncua server on 127.0.0.1: values, quality, writes, reconnects."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from asyncua import ua
from opcua_server import ServerIdentity, freezable_relay, make_server_identity, opcua_test_server

from drivers.base import Backoff
from drivers.opcua import OpcUaDriver
from drivers.opcua_coerce import CoercionError, coerce_to, to_variant
from drivers.opcua_quality import epoch_of, has_overflowed, quality_of
from drivers.opcua_security import SecuritySetupError, require_trusted_server, thumbprint, trust_certificate
from drivers.opcua_subscriptions import plan_monitored_items
from drivers.settings import OpcUaSettings
from hmi.model import ConnectionState, ConnectionStatus, Quality, Reason, Sample, TagDef, WriteError

TEMP = "Plant.Tank1.Temperature"
LEVEL = "Plant.Tank1.Level"


class Recorder:
    """Collects what a driver publishes, per tag, and its status changes."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Sample]] = defaultdict(list)
        self.statuses: list[ConnectionStatus] = []

    def on_sample(self, tag: str, sample: Sample) -> None:
        self.samples[tag].append(sample)

    def on_status(self, status: ConnectionStatus) -> None:
        self.statuses.append(status)

    def last(self, tag: str) -> Sample | None:
        samples = self.samples.get(tag)
        return samples[-1] if samples else None

    def is_good(self, tag: str, value: object = None) -> bool:
        sample = self.last(tag)
        return sample is not None and sample.is_good and (value is None or sample.value == value)

    def has_reason(self, tag: str, reason: Reason) -> bool:
        sample = self.last(tag)
        return sample is not None and sample.quality is Quality.BAD and sample.reason is reason


async def wait_for(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Poll until ``predicate()`` holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


def make_driver(
    endpoint: str,
    tags: Sequence[TagDef],
    recorder: Recorder,
    pki_dir: Path | None = None,
    **settings: object,
) -> OpcUaDriver:
    return OpcUaDriver(
        "ua1",
        OpcUaSettings(endpoint, timeout=2.0, **settings),  # type: ignore[arg-type]
        tags,
        recorder.on_sample,
        recorder.on_status,
        Backoff(initial=0.2, maximum=1.0),
        pki_dir=pki_dir,
    )


def tag(name: str, address: str, *, scan: float = 0.1, writable: bool = False) -> TagDef:
    return TagDef(name, "ua1", address, scan_period=scan, writable=writable)


@pytest.fixture(scope="session")
def server_identity() -> ServerIdentity:
    return make_server_identity()


# --- against a live server ------------------------------------------------------------------


async def test_values_arrive_by_subscription_and_bad_nodes_are_config_errors(free_port, caplog):
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 21.5, ua.VariantType.Double)
        level = await server.add_variable(LEVEL, 50.0, ua.VariantType.Float)
        tags = [
            tag("TANK1.TEMP", temp),
            tag("TANK1.TEMP_ALIAS", temp),
            tag("TANK1.LEVEL", level, scan=0.25),
            tag("TANK1.MISSING", server.node_id("Plant.Tank1.Nothing")),
            tag("TANK1.BROKEN", "ns=2;q=not-a-node-id"),
        ]
        recorder = Recorder()
        driver = make_driver(server.endpoint, tags, recorder)
        with caplog.at_level(logging.ERROR, logger="drivers.opcua"):
            await driver.start()
            try:
                await wait_for(
                    lambda: recorder.is_good("TANK1.TEMP", 21.5) and recorder.is_good("TANK1.LEVEL")
                )
                assert recorder.is_good("TANK1.TEMP_ALIAS", 21.5)
                assert recorder.has_reason("TANK1.MISSING", Reason.CONFIG_ERROR)
                assert recorder.has_reason("TANK1.BROKEN", Reason.CONFIG_ERROR)

                # An hour ago, to the half second: inside the plausible window of the time-stamp policy.
                stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).replace(microsecond=500000)
                await server.set_value(TEMP, 23.25, source_ts=stamp)
                await wait_for(lambda: recorder.is_good("TANK1.TEMP", 23.25))
                assert recorder.last("TANK1.TEMP").ts == pytest.approx(stamp.timestamp())

                diagnostics = driver.diagnostics()
                assert diagnostics["state"] == "connected"
                assert diagnostics["session_id"]
                assert (diagnostics["subscriptions"], diagnostics["items"]) == (2, 2)
                assert diagnostics["refused_items"] == 2
                assert isinstance(diagnostics["keepalive_age_s"], float)  # a publish was answered
                assert diagnostics["dropped"] == 0
            finally:
                await driver.stop()
    assert "TANK1.MISSING" in caplog.text and "BadNodeIdUnknown" in caplog.text
    assert "TANK1.BROKEN" in caplog.text


STATUS_CASES = [
    (ua.StatusCodes.UncertainLastUsableValue, Quality.UNCERTAIN, Reason.LAST_USABLE),
    (ua.StatusCodes.UncertainSensorNotAccurate, Quality.UNCERTAIN, Reason.SENSOR_FAILURE),
    (ua.StatusCodes.BadSensorFailure, Quality.BAD, Reason.SENSOR_FAILURE),
    (ua.StatusCodes.BadOutOfService, Quality.BAD, Reason.OUT_OF_SERVICE),
    (ua.StatusCodes.BadCommunicationError, Quality.BAD, Reason.COMM_FAILURE),
    (ua.StatusCodes.BadNotConnected, Quality.BAD, Reason.NOT_CONNECTED),
    (ua.StatusCodes.BadConfigurationError, Quality.BAD, Reason.CONFIG_ERROR),
    (ua.StatusCodes.BadInternalError, Quality.BAD, Reason.DEVICE_FAILURE),
    (ua.StatusCodes.Good, Quality.GOOD, Reason.NONE),
]


async def test_server_status_codes_arrive_as_mapped_quality(free_port):
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 0.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(server.endpoint, [tag("TANK1.TEMP", temp)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 0.0))
            for value, (code, quality, reason) in enumerate(STATUS_CASES, start=1):
                seen = len(recorder.samples["TANK1.TEMP"])
                await server.set_value(TEMP, float(value), status=code)
                await wait_for(lambda n=seen: len(recorder.samples["TANK1.TEMP"]) > n)
                sample = recorder.last("TANK1.TEMP")
                assert (sample.quality, sample.reason) == (quality, reason), ua.StatusCode(code).name
            # A server sends no value with a Bad status; the good value after it is whole again.
            assert recorder.last("TANK1.TEMP").value == len(STATUS_CASES)
        finally:
            await driver.stop()


async def test_write_converts_to_the_node_type_and_reports_refusals(free_port):
    async with opcua_test_server(free_port()) as server:
        tags = [
            tag(
                "HEATER1.POWER_SP",
                await server.add_variable("Plant.Heater1.Power", 0.0, ua.VariantType.Float, writable=True),
                writable=True,
            ),
            tag(
                "PUMP1.SPEED_SP",
                await server.add_variable("Plant.Pump1.Speed", 0, ua.VariantType.Int16, writable=True),
                writable=True,
            ),
            tag(
                "PUMP1.AUTO",
                await server.add_variable("Plant.Pump1.Auto", False, ua.VariantType.Boolean, writable=True),
                writable=True,
            ),
            tag("TANK1.TEMP", await server.add_variable(TEMP, 20.0, ua.VariantType.Double), writable=True),
            tag("TANK1.MISSING", server.node_id("Plant.Tank1.Nothing"), writable=True),
        ]
        by_name = {t.name: t for t in tags}
        recorder = Recorder()
        driver = make_driver(server.endpoint, tags, recorder)
        await driver.start()
        try:
            await wait_for(lambda: driver.status.state is ConnectionState.CONNECTED)

            await driver.write(by_name["HEATER1.POWER_SP"], 42.5)
            assert await server.read_value("Plant.Heater1.Power") == 42.5
            await driver.write(by_name["HEATER1.POWER_SP"], 1200)
            assert await server.read_value("Plant.Heater1.Power") == 1200.0
            await driver.write(by_name["PUMP1.SPEED_SP"], 1450.0)
            assert await server.read_value("Plant.Pump1.Speed") == 1450
            await driver.write(by_name["PUMP1.AUTO"], 1)
            assert await server.read_value("Plant.Pump1.Auto") is True
            await wait_for(lambda: recorder.is_good("PUMP1.SPEED_SP", 1450))

            with pytest.raises(WriteError, match=r"PUMP1\.SPEED_SP: .*outside the Int16 range"):
                await driver.write(by_name["PUMP1.SPEED_SP"], 70000)
            with pytest.raises(WriteError, match=r"PUMP1\.SPEED_SP: .*not a whole number"):
                await driver.write(by_name["PUMP1.SPEED_SP"], 12.5)
            with pytest.raises(WriteError, match=r"TANK1\.TEMP: Bad(NotWritable|UserAccessDenied)"):
                await driver.write(by_name["TANK1.TEMP"], 25.0)
            with pytest.raises(WriteError, match=r"TANK1\.MISSING: BadNodeIdUnknown"):
                await driver.write(by_name["TANK1.MISSING"], 1.0)
        finally:
            await driver.stop()
        with pytest.raises(WriteError, match="not connected"):
            await driver.write(by_name["HEATER1.POWER_SP"], 1.0)


async def test_server_restart_marks_tags_bad_then_recovers(free_port):
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 21.0, ua.VariantType.Double)
        tags = [tag("TANK1.TEMP", temp), tag("TANK1.TEMP_SLOW", temp, scan=0.5)]
        recorder = Recorder()
        driver = make_driver(server.endpoint, tags, recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP") and recorder.is_good("TANK1.TEMP_SLOW"))

            await server.stop()
            await wait_for(
                lambda: (
                    driver.status.state is ConnectionState.BACKING_OFF
                    and all(recorder.has_reason(t.name, Reason.COMM_FAILURE) for t in tags)
                ),
                within=4.0,
            )
            assert driver.status.last_error

            await server.start()
            await wait_for(lambda: driver.status.state is ConnectionState.CONNECTED, within=5.0)
            await server.set_value(TEMP, 22.5)
            await wait_for(
                lambda: recorder.is_good("TANK1.TEMP", 22.5) and recorder.is_good("TANK1.TEMP_SLOW", 22.5)
            )
            assert driver.diagnostics()["subscriptions"] == 2
        finally:
            await driver.stop()


async def test_a_server_that_hangs_is_noticed_within_seconds(free_port):
    async with (
        opcua_test_server(free_port()) as server,
        freezable_relay(server.port, free_port()) as relay,
    ):
        temp = await server.add_variable(TEMP, 21.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(relay.endpoint, [tag("TANK1.TEMP", temp)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 21.0))

            relay.freeze()
            frozen_at = time.monotonic()
            await wait_for(
                lambda: (
                    driver.status.state is ConnectionState.BACKING_OFF
                    and recorder.has_reason("TANK1.TEMP", Reason.COMM_FAILURE)
                ),
                within=5.0,
            )
            noticed_after = time.monotonic() - frozen_at
            assert noticed_after < 4.0

            relay.thaw()
            await server.set_value(TEMP, 22.0)
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 22.0), within=8.0)
        finally:
            await driver.stop()


async def test_a_burst_of_changes_arrives_without_loss(free_port):
    burst = 2000
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 0.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(server.endpoint, [tag("TANK1.TEMP", temp, scan=0.2)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 0.0))
            for value in range(1, burst + 1):
                await server.set_value(TEMP, float(value))
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", float(burst)), within=10.0)

            received = [s.value for s in recorder.samples["TANK1.TEMP"] if s.is_good and s.value >= 1]
            assert received == [float(v) for v in range(1, burst + 1)]
            diagnostics = driver.diagnostics()
            assert diagnostics["dropped"] == 0
            assert diagnostics["server_queue_overflows"] == 0
            assert diagnostics["notifications"] == burst + 1
        finally:
            await driver.stop()


async def test_signed_and_encrypted_session_with_user_password(
    free_port, tmp_path, monkeypatch, server_identity
):
    monkeypatch.setenv("CONVERGE_TEST_UA_PASSWORD", "correct horse")
    monkeypatch.setenv("CONVERGE_TEST_UA_WRONG", "wrong horse")
    pki = tmp_path / "pki"
    async with opcua_test_server(free_port(), server_identity, users={"operator": "correct horse"}) as server:
        temp = await server.add_variable(TEMP, 19.5, ua.VariantType.Double)
        secure = {"security": "Basic256Sha256", "mode": "SignAndEncrypt", "username": "operator"}
        recorder = Recorder()
        driver = make_driver(
            server.endpoint,
            [tag("TANK1.TEMP", temp)],
            recorder,
            pki,
            password_env="CONVERGE_TEST_UA_PASSWORD",
            **secure,
        )
        await driver.start()
        try:
            # Never trusted silently: the first attempt is refused and names the thumbprint...
            await wait_for(lambda: "not trusted" in driver.status.last_error, within=8.0)
            assert thumbprint(server_identity.certificate) in driver.status.last_error
            assert not recorder.is_good("TANK1.TEMP", 19.5)
            # ...until an engineer approves the certificate the driver saved in rejected/.
            rejected = pki / "rejected" / f"{thumbprint(server_identity.certificate)}.der"
            trust_certificate(pki, rejected.read_bytes())
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 19.5), within=8.0)
            assert driver.diagnostics()["security"] == "Basic256Sha256/SignAndEncrypt"
        finally:
            await driver.stop()
        assert (pki / "own" / "client_cert.der").is_file()
        assert (pki / "private" / "client_key.pem").is_file()
        assert [p.read_bytes() for p in (pki / "trusted").iterdir()] == [server_identity.certificate]
        assert list((pki / "rejected").iterdir()) == []

        for policy, mode in (("Aes128_Sha256_RsaOaep", "SignAndEncrypt"), ("Aes256_Sha256_RsaPss", "Sign")):
            other = Recorder()
            driver = make_driver(
                server.endpoint,
                [tag("TANK1.TEMP", temp)],
                other,
                pki,
                password_env="CONVERGE_TEST_UA_PASSWORD",
                **{**secure, "security": policy, "mode": mode},
            )
            await driver.start()
            try:
                await wait_for(lambda r=other: r.is_good("TANK1.TEMP", 19.5), within=8.0)
                assert driver.diagnostics()["security"] == f"{policy}/{mode}"
            finally:
                await driver.stop()

        refused = Recorder()
        intruder = make_driver(
            server.endpoint,
            [tag("TANK1.TEMP", temp)],
            refused,
            pki,
            password_env="CONVERGE_TEST_UA_WRONG",
            **secure,
        )
        await intruder.start()
        try:
            await wait_for(lambda: intruder.status.state is ConnectionState.BACKING_OFF, within=8.0)
            assert "BadUserAccessDenied" in intruder.status.last_error
            assert not refused.is_good("TANK1.TEMP")
        finally:
            await intruder.stop()


@pytest.mark.parametrize(
    ("settings", "use_pki", "message"),
    [
        ({"security": "Basic256Sha256", "mode": "SignAndEncrypt"}, False, "needs a PKI directory"),
        (
            {"security": "Basic128Rsa15", "mode": "Sign"},
            True,
            "security policy Basic128Rsa15 is not supported",
        ),
        ({"security": "Aes128_Sha256_RsaOaep", "mode": "None"}, True, "needs mode Sign or SignAndEncrypt"),
        (
            {"username": "operator", "password_env": "CONVERGE_TEST_UA_UNSET"},
            False,
            "CONVERGE_TEST_UA_UNSET is not set",
        ),
    ],
)
async def test_unusable_security_settings_fail_with_a_clear_error(
    free_port, tmp_path, monkeypatch, settings, use_pki, message
):
    monkeypatch.delenv("CONVERGE_TEST_UA_UNSET", raising=False)
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/"
    recorder = Recorder()
    driver = make_driver(
        endpoint, [tag("TANK1.TEMP", "ns=2;s=T")], recorder, tmp_path if use_pki else None, **settings
    )
    await driver.start()
    try:
        await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=3.0)
        assert message in driver.status.last_error
        assert recorder.has_reason("TANK1.TEMP", Reason.COMM_FAILURE)
    finally:
        await driver.stop()


# --- pure parts -------------------------------------------------------------------------------


def test_an_unknown_server_certificate_is_refused_until_trusted(tmp_path):
    endpoint = "opc.tcp://plc7:4840/"
    with pytest.raises(SecuritySetupError, match=f"not trusted \\(thumbprint {thumbprint(b'server A')}\\)"):
        require_trusted_server(tmp_path, endpoint, b"server A")
    assert (tmp_path / "rejected" / f"{thumbprint(b'server A')}.der").read_bytes() == b"server A"
    trust_certificate(tmp_path, b"server A")
    require_trusted_server(tmp_path, endpoint, b"server A")
    assert not (tmp_path / "rejected" / f"{thumbprint(b'server A')}.der").exists()
    with pytest.raises(SecuritySetupError, match="not trusted"):
        require_trusted_server(tmp_path, endpoint, b"server B, an impostor")


@pytest.mark.parametrize(
    ("value", "vtype", "expected"),
    [
        (42.5, ua.VariantType.Float, 42.5),
        (7, ua.VariantType.Double, 7.0),
        (1450.0, ua.VariantType.Int16, 1450),
        (-32768, ua.VariantType.Int16, -32768),
        (65535, ua.VariantType.UInt16, 65535),
        (True, ua.VariantType.Boolean, True),
        (0, ua.VariantType.Boolean, False),
        (12.5, ua.VariantType.String, "12.5"),
        (float("nan"), ua.VariantType.Float, pytest.approx(float("nan"), nan_ok=True)),
    ],
)
def test_values_are_coerced_to_the_node_type(value, vtype, expected):
    assert coerce_to(value, vtype) == expected


@pytest.mark.parametrize(
    ("value", "vtype"),
    [
        (32768, ua.VariantType.Int16),
        (-1, ua.VariantType.UInt32),
        (1.5, ua.VariantType.Int32),
        (float("inf"), ua.VariantType.Int64),
        (True, ua.VariantType.Int16),
        (2, ua.VariantType.Boolean),
        ("12", ua.VariantType.Double),
        (1e39, ua.VariantType.Float),
        (b"raw", ua.VariantType.ByteString),
    ],
)
def test_values_that_do_not_fit_are_refused(value, vtype):
    with pytest.raises(CoercionError):
        coerce_to(value, vtype)


@pytest.mark.parametrize(
    ("value", "vtype"),
    [
        (True, ua.VariantType.Boolean),
        (7, ua.VariantType.Int32),
        (2**40, ua.VariantType.Int64),
        (2.5, ua.VariantType.Double),
        ("on", ua.VariantType.String),
    ],
)
def test_nodes_typed_only_as_base_data_type_take_the_natural_type(value, vtype):
    assert to_variant(value, ua.VariantType.Variant) == ua.Variant(value, vtype)


def test_status_info_bits_do_not_change_the_quality_but_overflow_is_seen():
    overflowed_good = ua.StatusCodes.Good | 0x0480
    assert quality_of(overflowed_good) == (Quality.GOOD, Reason.NONE)
    assert has_overflowed(overflowed_good)
    assert not has_overflowed(ua.StatusCodes.Good | 0x0400)
    assert quality_of(ua.StatusCodes.BadSensorFailure | 0x0100) == (Quality.BAD, Reason.SENSOR_FAILURE)


def test_timestamps_without_zone_are_utc_and_null_dates_are_absent():
    assert epoch_of(dt.datetime(1970, 1, 1, 0, 1)) == 60.0
    assert epoch_of(dt.datetime(1601, 1, 1, tzinfo=dt.UTC)) is None
    assert epoch_of(None) is None


def test_tags_sharing_node_and_period_share_one_monitored_item():
    a, b = ua.NodeId("A", 2), ua.NodeId("B", 2)
    plans = plan_monitored_items({"T1": (a, 0.1), "T2": (a, 0.1), "T3": (a, 1.0), "T4": (b, 0.1)})
    assert sorted((p.interval_ms, p.node_id.Identifier, p.tags) for p in plans) == [
        (100.0, "A", ("T1", "T2")),
        (100.0, "B", ("T4",)),
        (1000.0, "A", ("T3",)),
    ]
    assert len({p.handle for p in plans}) == 3
