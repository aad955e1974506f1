"""Zero loss at the asyncua server's full change rate, through the station with history and alarms on.

The server runs in another process (as a plant's does) and changes every variable as fast as it
can for a few seconds; afterwards every change it offered has been received by the driver and
stored in history, and the link was never declared lost. ``hmi bench opcua`` runs the same for 60 s.
"""

from __future__ import annotations

from conftest import get_free_port

from benchmarks.opcua_station import FullRateServer, run_station

ITEMS = 1_000
SECONDS = 4.0


async def test_every_change_offered_at_full_rate_is_received_and_stored_without_a_link_loss():
    with FullRateServer(get_free_port(), ITEMS) as server:
        result = await run_station(server.endpoint, server.namespace, ITEMS, SECONDS, server.control)
    assert result["offered"] > ITEMS  # several full rounds
    assert result["received"] == result["offered"]
    assert result["stored"] == result["offered"]
    assert result["link_losses"] == 0 and result["link_down_states"] == 0
    assert result["driver_dropped"] == 0 and result["server_queue_overflows"] == 0
    assert result["history_dropped"] == 0
    assert result["alarms_raised"] == ITEMS // 100
