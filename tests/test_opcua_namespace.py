"""OPC UA NodeIds bound to namespace URIs: a server that renumbers its namespaces never feeds a tag
another namespace's node.

A real asyncua server restarts on the same port with another namespace registered before ours
(ours moves from index 2 to 3, and the intruder's node of the same name takes index 2), then
without ours at all. Tags written ``ns=2;...`` (bound to their URI at the first connect) and
``nsu=<uri>;...`` follow the URI, or go bad with "namespace URI gone": never the intruder's value.
"""

from __future__ import annotations

import contextlib
import logging
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua
from hypothesis import given
from hypothesis import strategies as st
from waiting import SampleLog, wait_for

from drivers.base import Backoff
from drivers.opcua import OpcUaDriver
from drivers.opcua_namespaces import NamespaceBinding, TagAddress
from drivers.settings import OpcUaSettings
from hmi.model import Quality, Reason, TagDef
from hmi.project.loader import check_project

RESTART_WAIT = 15.0
"""Seconds a renumbered server may take before every tag shows its value again (a reconnect with backoff)."""

PLANT, INTRUDER = "urn:converge-hmi:test-plant", "urn:converge-hmi:intruder"
INTRUDER_VALUE = 666.0


@contextlib.asynccontextmanager
async def server_with(port: int, namespaces: dict[str, float]) -> AsyncIterator[dict[str, int]]:
    """A server whose namespaces (registered in this order) each hold a variable ``Level``; yields
    the index each URI got."""
    server = Server()
    await server.init()
    server.disable_clock(True)
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    indexes = {}
    for uri, value in namespaces.items():
        index = indexes[uri] = await server.register_namespace(uri)
        node = await server.nodes.objects.add_variable(
            ua.NodeId("Level", index), ua.QualifiedName("Level", index), value, ua.VariantType.Double
        )
        await node.set_writable()
    await server.start()
    try:
        yield indexes
    finally:
        await server.stop()
        # As a stopped process would: no session survives to be resumed by the next server.
        for session in list(server.iserver._external_sessions.values()):
            await session.close_session(True)


class Recorder(SampleLog):
    """Every sample per tag, with the questions this test asks of the newest."""

    def shows(self, name: str, value: float) -> bool:
        sample = self.last(name)
        return sample is not None and sample.is_good and sample.value == value

    def config_error(self, name: str) -> bool:
        sample = self.last(name)
        return sample is not None and sample.quality is Quality.BAD and sample.reason is Reason.CONFIG_ERROR


async def test_a_renumbered_namespace_array_never_feeds_a_tag_another_namespace(
    free_port: Callable[[], int], caplog: Any
) -> None:
    port = free_port()
    tags = [
        TagDef("BY_INDEX", "ua1", "ns=2;s=Level", scan_period=0.1, writable=True),
        TagDef("BY_URI", "ua1", f"nsu={PLANT};s=Level", scan_period=0.1),
    ]
    names = [t.name for t in tags]
    recorder = Recorder()
    driver = OpcUaDriver(
        "ua1",
        OpcUaSettings(f"opc.tcp://127.0.0.1:{port}/", timeout=2.0),
        tags,
        recorder.on_sample,
        lambda status: None,
        Backoff(initial=0.1, maximum=0.3, jitter=0.0),
    )
    await driver.start()
    try:
        async with server_with(port, {PLANT: 1.0}) as indexes:
            assert indexes[PLANT] == 2
            await wait_for(lambda: all(recorder.shows(name, 1.0) for name in names), RESTART_WAIT)

        async with server_with(port, {INTRUDER: INTRUDER_VALUE, PLANT: 2.0}) as indexes:
            assert indexes == {INTRUDER: 2, PLANT: 3}, "the restart renumbered our namespace"
            await wait_for(lambda: all(recorder.shows(name, 2.0) for name in names), RESTART_WAIT)
            await driver.write(tags[0], 2.5)  # and a write goes to our node, not the intruder's
            await wait_for(lambda: all(recorder.shows(name, 2.5) for name in names), RESTART_WAIT)

        with caplog.at_level(logging.ERROR, logger="drivers.opcua"):
            async with server_with(port, {INTRUDER: INTRUDER_VALUE}):
                await wait_for(lambda: all(recorder.config_error(name) for name in names), RESTART_WAIT)
                with pytest.raises(Exception, match="namespace URI gone"):
                    await driver.write(tags[0], 3.0)
    finally:
        await driver.stop()

    for name in names:
        values = [s.value for s in recorder.samples[name] if s.quality is not Quality.BAD]
        assert INTRUDER_VALUE not in values, (name, values)
    assert f"namespace URI gone: {PLANT} (ns=2 at the first connect)" in caplog.text
    assert f"namespace URI gone: {PLANT} is no longer" in caplog.text


namespace_uris = st.lists(
    st.sampled_from([f"urn:ns:{n}" for n in range(8)]), min_size=1, max_size=8, unique=True
)


@given(namespace_uris, st.data())
def test_a_bound_address_resolves_to_its_own_uri_or_not_at_all(first: list[str], data: st.DataObject) -> None:
    """Over every renumbering: the NodeId a tag gets lies in the namespace it was bound to."""
    namespaces = ["http://opcfoundation.org/UA/", *first]
    index = data.draw(st.integers(0, len(namespaces) + 1))
    uri = data.draw(st.sampled_from(first))
    addresses = {
        "BY_INDEX": TagAddress.parse(f"ns={index};s=X"),
        "BY_URI": TagAddress.parse(f"nsu={uri};s=X"),
    }
    binding = NamespaceBinding()
    node_ids, unresolved = binding.resolve(addresses, namespaces)
    bound = {"BY_INDEX": namespaces[index] if index < len(namespaces) else None, "BY_URI": uri}
    later = ["http://opcfoundation.org/UA/", *data.draw(st.permutations([*first, "urn:other"]))]
    later = later[: data.draw(st.integers(1, len(later)))]
    if bound["BY_INDEX"] is None and index < len(later):
        bound["BY_INDEX"] = later[index]  # not there at the first connect: bound when first seen
    node_ids, unresolved = binding.resolve(addresses, later)
    for name, expected in bound.items():
        if name in node_ids:
            assert later[node_ids[name].NamespaceIndex] == expected
        else:
            assert expected not in later or expected is None, unresolved


def test_hmi_check_accepts_the_nsu_form_and_reports_a_broken_one(tmp_path: Path) -> None:
    (tmp_path / "project.yaml").write_text(
        textwrap.dedent("""\
            name: Namespaces
            connections:
              ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
            tags:
              GOOD_S: {connection: ua1, address: "nsu=urn:plant;s=Tank.Level"}
              GOOD_I: {connection: ua1, address: "nsu=http://example.com/UA/;i=1001"}
              NO_SEMI: {connection: ua1, address: "nsu=urn:plant"}
              EMPTY: {connection: ua1, address: "nsu=;s=X"}
              BAD_ID: {connection: ua1, address: "nsu=urn:plant;q=X"}
            """),
        encoding="utf-8",
    )
    errors = {error.line: error.message for error in check_project(tmp_path)}
    assert set(errors) == {7, 8, 9}, errors
    assert "missing ';' after the namespace URI" in errors[7]
    assert "the namespace URI after nsu= is empty" in errors[8]
    assert "the identifier must start with i=, s=, g= or b=" in errors[9]
