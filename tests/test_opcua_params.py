"""OPC UA driver settings beyond the basics: server-side deadbands, queue settings, keyring passwords, PKI."""

from __future__ import annotations

import pytest
from asyncua import ua
from opcua_server import ServerIdentity, make_server_identity, opcua_test_server
from test_opcua_driver import TEMP, Recorder, make_driver, tag, wait_for

from drivers.base import Backoff
from drivers.opcua import OpcUaDriver
from drivers.opcua_security import trust_certificate
from drivers.opcua_subscriptions import Deadband, ItemParameters, MonitoredItemPlan, _item_request
from drivers.settings import OpcUaSettings
from hmi.core.runtime import create_driver
from hmi.model import ConnectionState, TagDef
from hmi.project.config import ConnectionConfig


def driver_with(endpoint: str, tags: list[TagDef], recorder: Recorder, **settings: object) -> OpcUaDriver:
    """A driver whose PKI folder comes from its settings only, as the project gives it."""
    return OpcUaDriver(
        "ua1",
        OpcUaSettings(endpoint, timeout=2.0, **settings),  # type: ignore[arg-type]
        tags,
        recorder.on_sample,
        recorder.on_status,
        Backoff(initial=0.2, maximum=1.0),
    )


@pytest.fixture(scope="module")
def server_identity() -> ServerIdentity:
    return make_server_identity()


async def test_an_absolute_deadband_is_applied_by_the_server(free_port):
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 0.0, ua.VariantType.Double)
        recorder = Recorder()
        narrow = TagDef("TANK1.TEMP", "ua1", temp, scan_period=0.1, deadband=1.0)
        driver = make_driver(server.endpoint, [narrow, tag("TANK1.TEMP_ALL", temp)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 0.0) and recorder.is_good("TANK1.TEMP_ALL"))
            for value in (0.5, 2.0, 2.4, 5.0):
                await server.set_value(TEMP, value)
            await wait_for(
                lambda: recorder.is_good("TANK1.TEMP", 5.0) and recorder.is_good("TANK1.TEMP_ALL", 5.0)
            )
            assert [s.value for s in recorder.samples["TANK1.TEMP"] if s.is_good] == [0.0, 2.0, 5.0]
            assert [s.value for s in recorder.samples["TANK1.TEMP_ALL"] if s.is_good] == [
                0.0,
                0.5,
                2.0,
                2.4,
                5.0,
            ]
            diagnostics = driver.diagnostics()
            assert (diagnostics["items"], diagnostics["items_without_deadband"]) == (2, 0)
        finally:
            await driver.stop()


def test_monitored_item_requests_carry_deadband_queue_and_discard_policy():
    plan = MonitoredItemPlan(7, ua.NodeId("A", 2), 250.0, ("T",), Deadband.of(0.0, 2.5))
    request = _item_request(plan, ItemParameters(queue_size=20, discard_oldest=False), filtered=True)
    parameters = request.RequestedParameters
    assert (parameters.ClientHandle, parameters.SamplingInterval) == (7, 250.0)
    assert (parameters.QueueSize, parameters.DiscardOldest) == (20, False)
    assert parameters.Filter.DeadbandType == ua.DeadbandType.Percent
    assert parameters.Filter.DeadbandValue == 2.5
    assert parameters.Filter.Trigger == ua.DataChangeTrigger.StatusValue
    unfiltered = _item_request(plan, ItemParameters(), filtered=False).RequestedParameters
    assert unfiltered.Filter.Body is None and unfiltered.QueueSize == 10_000 and unfiltered.DiscardOldest
    assert Deadband.of(0.5, 0.0) == Deadband(ua.DeadbandType.Absolute, 0.5)
    assert Deadband.of(0.0, 0.0).kind is ua.DeadbandType.None_


async def test_password_from_the_os_keyring_and_pki_from_the_settings(
    free_port, tmp_path, memory_keyring, server_identity
):
    pki = tmp_path / "pki"
    trust_certificate(pki, server_identity.certificate)
    memory_keyring.set_password("plant/ua", "operator", "correct horse")
    async with opcua_test_server(free_port(), server_identity, users={"operator": "correct horse"}) as server:
        temp = await server.add_variable(TEMP, 19.5, ua.VariantType.Double)
        secure = {
            "security": "Basic256Sha256",
            "mode": "SignAndEncrypt",
            "username": "operator",
            "password_keyring": "plant/ua/operator",
            "pki_dir": str(pki),
        }
        recorder = Recorder()
        driver = driver_with(server.endpoint, [tag("TANK1.TEMP", temp)], recorder, **secure)
        assert driver.pki_dir == pki
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 19.5), within=8.0)
        finally:
            await driver.stop()
        assert (pki / "own" / "client_cert.der").is_file()

        missing = driver_with(
            server.endpoint,
            [tag("TANK1.TEMP", temp)],
            Recorder(),
            **{**secure, "password_keyring": "plant/ua/nobody"},
        )
        await missing.start()
        try:
            await wait_for(lambda: missing.status.state is ConnectionState.BACKING_OFF, within=8.0)
            assert (
                "no password in the OS keyring for service 'plant/ua', user 'nobody'"
                in missing.status.last_error
            )
        finally:
            await missing.stop()


def test_the_runtime_gives_opcua_drivers_the_resolved_pki_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVERGE_HMI_PKI", str(tmp_path / "env-pki"))
    settings = OpcUaSettings("opc.tcp://127.0.0.1:4840/")
    driver = create_driver(ConnectionConfig("ua1", "opcua", settings), [], lambda *_: None, lambda _: None)
    assert isinstance(driver, OpcUaDriver) and driver.pki_dir == tmp_path / "env-pki"
    configured = OpcUaSettings("opc.tcp://127.0.0.1:4840/", pki_dir=str(tmp_path / "project-pki"))
    driver = create_driver(ConnectionConfig("ua1", "opcua", configured), [], lambda *_: None, lambda _: None)
    assert isinstance(driver, OpcUaDriver) and driver.pki_dir == tmp_path / "project-pki"
    assert not (tmp_path / "env-pki").exists()
