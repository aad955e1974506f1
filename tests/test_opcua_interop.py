"""Interoperability with an OPC UA server not written in Python: node-opcua, started from npm's install.

``make test`` installs the peer (``npm install --prefix tests/peers``); without node or the
installed peer these tests skip locally and fail on CI.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ON_CI, get_free_port, require_program
from opcua_server import freezable_relay
from test_opcua_driver import Recorder, wait_for

from drivers.base import Backoff
from drivers.opcua import OpcUaDriver
from drivers.opcua_browse import browse_children, open_browse_client
from drivers.settings import OpcUaSettings, OpcUaTagLink
from hmi.core import certs
from hmi.model import ConnectionState, DataType, Reason, TagDef, WriteError

pytestmark = pytest.mark.interop

PEERS = Path(__file__).parent / "peers"
SCRIPT = PEERS / "opcua_server.js"
START_TIMEOUT = 60.0  # node-opcua makes its certificate on first start: seconds on a busy machine


@dataclass
class NodePeer:
    """A running node-opcua server: its endpoint, its PKI folder, its log."""

    endpoint: str
    log: Path

    def node_id(self, name: str) -> str:
        """NodeId of a plant variable (namespace 1 is the server's own)."""
        return f"ns=1;s=Plant.{name}"


def require_peer() -> None:
    """Skip locally (fail on CI) when the npm peer is not installed."""
    if not (PEERS / "node_modules" / "node-opcua").is_dir():
        message = "node-opcua is not installed (npm install --prefix tests/peers)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodePeer]:
    node = require_program("node")
    require_peer()
    folder = tmp_path_factory.mktemp("node-opcua")
    port = get_free_port()
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [node, str(SCRIPT), str(port), str(folder / "pki")],
            stdin=subprocess.PIPE,  # the server stops when its stdin closes, even if this process dies
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while b"READY" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"node-opcua did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield NodePeer(f"opc.tcp://127.0.0.1:{port}/", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdin is not None:
            process.stdin.close()


def make_driver(peer: NodePeer, tags: list[TagDef], recorder: Recorder, **settings: object) -> OpcUaDriver:
    return OpcUaDriver(
        "node1",
        OpcUaSettings(peer.endpoint, timeout=3.0, **settings),  # type: ignore[arg-type]
        tags,
        recorder.on_sample,
        recorder.on_status,
        Backoff(initial=0.2, maximum=1.0),
    )


def ua_tag(peer: NodePeer, name: str, **options: object) -> TagDef:
    link = OpcUaTagLink(float(options.pop("deadband_percent", 0.0)))  # type: ignore[arg-type]
    return TagDef(name, "node1", peer.node_id(name), scan_period=0.1, link=link, **options)  # type: ignore[arg-type]


async def test_subscribe_and_write_with_coercion_without_security(peer):
    tags = [
        ua_tag(peer, "Temperature"),
        ua_tag(peer, "Level", writable=True, deadband_percent=1.0),  # an AnalogItem: has an EURange
        ua_tag(peer, "SpeedSetpoint", writable=True),
        ua_tag(peer, "Running", writable=True, type=DataType.BOOL),  # a Boolean node: a bool tag
        ua_tag(peer, "Raw", writable=True, deadband_percent=1.0),  # no EURange: the server refuses
        ua_tag(peer, "Counter"),
    ]
    by_name = {t.name: t for t in tags}
    recorder = Recorder()
    driver = make_driver(peer, tags, recorder)
    await driver.start()
    try:
        await wait_for(lambda: all(recorder.is_good(t.name) for t in tags), within=10.0)
        assert recorder.last("Temperature").value == 21.5
        counted = {s.value for s in recorder.samples["Counter"] if s.is_good}
        await wait_for(
            lambda: len({s.value for s in recorder.samples["Counter"] if s.is_good}) >= len(counted) + 5
        )
        diagnostics = driver.diagnostics()
        assert diagnostics["items"] == len(tags)
        assert diagnostics["items_without_deadband"] == 1  # Raw, subscribed without its filter
        assert diagnostics["dropped"] == 0

        await driver.write(by_name["Level"], 42.5)  # a Python float into a Float node
        await driver.write(by_name["SpeedSetpoint"], 1450.0)  # a whole float into an Int16 node
        await driver.write(by_name["Running"], 1)
        await driver.write(by_name["Raw"], 7)
        await wait_for(
            lambda: (
                recorder.is_good("Level", 42.5)
                and recorder.is_good("SpeedSetpoint", 1450)
                and recorder.is_good("Running", True)
                and recorder.is_good("Raw", 7.0)
            )
        )
        # The server applies the 1 % deadband against Level's EURange (0..100): 0.1 is no change.
        await driver.write(by_name["Level"], 42.6)
        await driver.write(by_name["Raw"], 8.0)  # unfiltered: its arrival shows the server sampled again
        await wait_for(lambda: recorder.is_good("Raw", 8.0))
        await asyncio.sleep(0.3)  # a few more 100 ms sampling periods for Level
        await driver.write(by_name["Level"], 45.0)
        await wait_for(lambda: recorder.is_good("Level", 45.0))
        assert not any(42.55 < s.value < 42.65 for s in recorder.samples["Level"] if s.is_good)

        with pytest.raises(WriteError, match=r"SpeedSetpoint: .*outside the Int16 range"):
            await driver.write(by_name["SpeedSetpoint"], 70000)
        with pytest.raises(WriteError, match=r"Temperature: Bad(NotWritable|UserAccessDenied)"):
            await driver.write(
                TagDef("Temperature", "node1", peer.node_id("Temperature"), writable=True), 1.0
            )
    finally:
        await driver.stop()


async def test_basic256sha256_sign_and_encrypt_after_trusting_the_server(peer, tmp_path):
    pki = tmp_path / "pki"
    recorder = Recorder()
    tags = [ua_tag(peer, "Temperature"), ua_tag(peer, "SpeedSetpoint", writable=True)]
    driver = make_driver(
        peer, tags, recorder, security="Basic256Sha256", mode="SignAndEncrypt", pki_dir=str(pki)
    )
    await driver.start()
    try:
        await wait_for(lambda: "not trusted" in driver.status.last_error, within=15.0)
        [refused] = certs.list_certificates(pki, include_own=False)
        assert refused.status == certs.REJECTED
        assert refused.thumbprint in driver.status.last_error
        assert refused.application_uri == "urn:converge-hmi:node-opcua-peer"
        assert not recorder.is_good("Temperature")

        certs.trust(pki, refused.thumbprint)  # the engineer's decision, as `hmi certs trust` makes it
        await wait_for(lambda: recorder.is_good("Temperature", 21.5), within=15.0)
        assert driver.status.state is ConnectionState.CONNECTED
        assert driver.diagnostics()["security"] == "Basic256Sha256/SignAndEncrypt"
        await driver.write(tags[1], 321.0)
        await wait_for(lambda: recorder.is_good("SpeedSetpoint", 321))
    finally:
        await driver.stop()


async def test_browse_node_opcua_repeatedly_without_exhausting_continuation_points(peer):
    client = await open_browse_client(OpcUaSettings(peer.endpoint, timeout=3.0), None)
    try:
        # Each level asks "has children?" with one reference per node and releases the rest: browsing
        # again and again must keep answering the same.
        for _ in range(12):
            top = {e.browse_name: e for e in await browse_children(client)}
            assert top["0:Server"].has_children and top["1:Plant"].has_children
        plant = {e.display_name: e for e in await browse_children(client, top["1:Plant"].node_id)}
    finally:
        await client.disconnect()
    level = plant["Level"]
    assert (level.data_type, level.units, level.eu_range, level.access) == (
        "Float",
        "%",
        (0.0, 100.0),
        "read/write",
    )
    assert plant["Temperature"].units == "°C" and plant["Temperature"].access == "read"
    assert (plant["SpeedSetpoint"].data_type, plant["Running"].data_type) == ("Int16", "Boolean")


@pytest.mark.parametrize("reactivate", [True, False], ids=["reactivated", "transferred"])
async def test_a_cut_connection_resumes_node_opcua_subscriptions_without_a_gap(peer, reactivate, tmp_path):
    port = int(peer.endpoint.rsplit(":", 1)[1].strip("/"))
    async with freezable_relay(port, get_free_port()) as relay:
        recorder = Recorder()
        relayed = NodePeer(relay.endpoint, peer.log)
        tags = [ua_tag(peer, "Counter"), ua_tag(peer, "Temperature")]
        # An anonymous session's subscriptions move to another session only over a secure channel with
        # the same client certificate (Part 4 5.13.7): node-opcua refuses the transfer otherwise.
        security = {} if reactivate else {"security": "Basic256Sha256", "mode": "SignAndEncrypt"}
        driver = make_driver(relayed, tags, recorder, pki_dir=str(tmp_path / "pki"), **security)
        # False: a new session takes the subscriptions over, as after a client restart.
        driver.reactivate_sessions = reactivate
        await driver.start()
        try:
            if not reactivate:
                await wait_for(lambda: "not trusted" in driver.status.last_error, within=15.0)
                [server_certificate] = certs.list_certificates(tmp_path / "pki", include_own=False)
                certs.trust(tmp_path / "pki", server_certificate.thumbprint)
            await wait_for(lambda: all(recorder.is_good(t.name) for t in tags), within=15.0)
            relay.cut()
            await wait_for(lambda: recorder.has_reason("Counter", Reason.COMM_FAILURE), within=5.0)
            resumed = "reactivated" if reactivate else "transferred"
            await wait_for(lambda: driver.diagnostics()["resume_path"].startswith(resumed), within=10.0)
            cut_at = max(s.value for s in recorder.samples["Counter"] if s.is_good)
            later = cut_at + 10
            await wait_for(lambda: recorder.is_good("Counter") and recorder.last("Counter").value > later)
            # Unchanged while the link was down: vouched for by the server's silence, good again.
            await wait_for(lambda: recorder.is_good("Temperature", 21.5), within=5.0)
            counts = sorted({s.value for s in recorder.samples["Counter"] if s.is_good})
            steps = [b - a for a, b in itertools.pairwise(counts)]
            # The server kept queuing the counter (100 ms) for the subscription it kept: no outage-sized gap.
            assert max(steps) <= 3, steps
            diagnostics = driver.diagnostics()
            assert diagnostics["resumed"] == 1 and diagnostics["resubscribed"] == 0
            assert diagnostics["dropped"] == 0
        finally:
            await driver.stop()
