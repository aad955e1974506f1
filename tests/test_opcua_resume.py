"""A lost connection resumes the subscriptions where the server kept them (asyncua server on 127.0.0.1).

A relay between driver and server is cut as a pulled cable would: the server keeps
the session and its subscriptions, the driver activates that session again on a new
connection, asks for what it missed and carries on without creating any monitored item.
A restarted server has forgotten both: the driver subscribes again, and says so.
"""

from __future__ import annotations

from asyncua import ua
from opcua_server import freezable_relay, opcua_test_server
from test_opcua_driver import Recorder, make_driver, tag, wait_for

from drivers.opcua_resume import REACTIVATED, RESUBSCRIBED, RESUMING
from hmi.model import ConnectionState, Reason

TEMP = "Plant.Tank1.Temperature"
LEVEL = "Plant.Tank1.Level"


async def test_a_cut_connection_reactivates_the_session_and_keeps_every_change(free_port):
    async with (
        opcua_test_server(free_port()) as server,
        freezable_relay(server.port, free_port()) as relay,
    ):
        temp = await server.add_variable(TEMP, 0.0, ua.VariantType.Double)
        level = await server.add_variable(LEVEL, 40.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(relay.endpoint, [tag("TEMP", temp), tag("LEVEL", level)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TEMP", 0.0) and recorder.is_good("LEVEL", 40.0))
            assert driver.diagnostics()["resume_path"] == "subscribed"
            calls_before = len(server.monitored_item_calls)
            assert calls_before >= 1

            relay.cut()
            await wait_for(lambda: recorder.has_reason("TEMP", Reason.COMM_FAILURE), within=5.0)
            # Changes while the link is down wait in the server's queues, on the kept session.
            for value in range(1, 21):
                await server.set_value(TEMP, float(value))
            await wait_for(lambda: recorder.is_good("TEMP", 20.0), within=10.0)
            # LEVEL did not change: the server's silence vouches for its last value, good again.
            await wait_for(lambda: recorder.is_good("LEVEL", 40.0), within=5.0)

            diagnostics = driver.diagnostics()
            assert diagnostics["resume_path"].startswith(REACTIVATED)
            assert diagnostics["resumed"] == 1 and diagnostics["resubscribed"] == 0
            assert diagnostics["link_losses"] == 1
            assert len(server.monitored_item_calls) == calls_before  # no item created again
            good = [s.value for s in recorder.samples["TEMP"] if s.is_good]
            assert good == [float(v) for v in range(0, 21)]
            assert diagnostics["dropped"] == 0
        finally:
            await driver.stop()


async def test_a_restarted_server_is_subscribed_again_and_the_path_is_named(free_port):
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 21.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(server.endpoint, [tag("TEMP", temp)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TEMP", 21.0))
            await server.stop()
            await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=5.0)
            await server.start()
            await wait_for(lambda: driver.status.state is ConnectionState.CONNECTED, within=8.0)
            await server.set_value(TEMP, 22.0)
            await wait_for(lambda: recorder.is_good("TEMP", 22.0))
            diagnostics = driver.diagnostics()
            assert diagnostics["resume_path"] == RESUBSCRIBED
            assert diagnostics["resubscribed"] == 1 and diagnostics["resumed"] == 0
        finally:
            await driver.stop()


async def test_a_graceful_stop_deletes_the_session_instead_of_leaving_it_to_time_out(free_port):
    async with opcua_test_server(free_port()) as server:
        temp = await server.add_variable(TEMP, 21.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(server.endpoint, [tag("TEMP", temp)], recorder)
        await driver.start()
        await wait_for(lambda: recorder.is_good("TEMP", 21.0))
        assert server.sessions() == 1
        await driver.stop()
        await wait_for(lambda: server.sessions() == 0, within=3.0)


async def test_a_message_lost_in_transit_is_republished_after_the_session_is_reactivated(free_port):
    async with (
        opcua_test_server(free_port()) as server,
        freezable_relay(server.port, free_port()) as relay,
    ):
        temp = await server.add_variable(TEMP, 0.0, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(relay.endpoint, [tag("TEMP", temp)], recorder)
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TEMP", 0.0))
            relay.freeze()
            # The server answers the publish request it holds: the message is sent, and held in the relay.
            await server.set_value(TEMP, 1.0)
            await wait_for(lambda: recorder.has_reason("TEMP", Reason.COMM_FAILURE), within=8.0)
            relay.thaw()  # too late for that message: the driver dropped its connection
            await wait_for(lambda: recorder.is_good("TEMP", 1.0), within=10.0)
            # The republished value arrives while the driver still asks for the next message.
            await wait_for(lambda: driver.diagnostics()["resume_path"] != RESUMING, within=5.0)
            assert driver.diagnostics()["resume_path"] == f"{REACTIVATED}+republished 1"
            assert [s.value for s in recorder.samples["TEMP"] if s.is_good] == [0.0, 1.0]
        finally:
            await driver.stop()
