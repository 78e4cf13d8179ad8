"""A broker client never leaves its socket to the garbage collector: a connection given up
(cancelled while the broker has not answered, e.g. a gateway stopping) closes its socket at
once. A socket left open is closed much later by the collector, on an event loop closed by
then, and its ResourceWarning fails whatever test runs at that moment."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from broker_helpers import connect_once, sockets_to

from ecobasin.gateway.broker import connect


@pytest.fixture
def silent_broker() -> Iterator[tuple[socket.socket, int]]:
    """A listener that accepts TCP and never says INFO (a broker hung or still starting)."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener, listener.getsockname()[1]
    listener.close()


async def _accepted(listener: socket.socket) -> socket.socket:
    listener.setblocking(False)
    peer, _ = await asyncio.get_running_loop().sock_accept(listener)
    return peer


def _no_socket_left(peer: socket.socket, port: int) -> None:
    """No client socket to ``port`` is open once the client's event loop has ended."""
    try:
        assert not sockets_to(port)
    finally:
        peer.close()


def test_a_connection_given_up_while_the_broker_is_silent_closes_its_socket(
    silent_broker: tuple[socket.socket, int],
) -> None:
    listener, port = silent_broker

    async def scenario() -> socket.socket:
        attempt = asyncio.create_task(connect(f"nats://127.0.0.1:{port}", "test-silent"))
        peer = await _accepted(listener)  # TCP is up; nats-py now waits for INFO (2 s)
        await asyncio.sleep(0.2)
        assert sockets_to(port)  # the client's socket, open while it waits
        attempt.cancel()  # what FrontBroker.close does to a gateway still connecting
        with pytest.raises(asyncio.CancelledError):
            await attempt
        return peer

    _no_socket_left(asyncio.run(scenario()), port)


def test_a_test_client_that_times_out_closes_its_socket(
    silent_broker: tuple[socket.socket, int],
) -> None:
    listener, port = silent_broker

    async def scenario() -> socket.socket:
        attempt = asyncio.create_task(
            connect_once(f"nats://127.0.0.1:{port}", retry=False, timeout=0.5)
        )
        peer = await _accepted(listener)
        with pytest.raises((TimeoutError, OSError)):
            await attempt  # no INFO within the connect timeout: nats-py gives up
        return peer

    _no_socket_left(asyncio.run(scenario()), port)
