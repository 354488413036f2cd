"""The HTTP client's connections as a server sees them: kept-alive connections the server closed, hang-ups."""

from __future__ import annotations

import asyncio

import httpx

import tether
from tests.helpers.loopback import LoopbackServer
from tests.service.conftest import fulfil, parked
from tether.testing import TestEnvironment

APPROVAL = {"by": "ana", "amount": 3}


class Proxy(LoopbackServer):
    """A loopback proxy to the test server, counting the connections it was asked for.

    With ``one_request_each``, it closes each connection once it forwarded one answer, as a
    server closes a kept-alive connection that stayed idle too long; ``closed`` is set then.
    Answers are small: one read of the server's brings the whole of one.
    """

    def __init__(self, env: TestEnvironment, *, one_request_each: bool = False) -> None:
        assert env.server_url is not None
        self.upstream_port = int(env.server_url.rsplit(":", 1)[1])
        self.one_request_each = one_request_each
        self.connections = 0
        self.closed = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            while request := await reader.read(65536):
                up_writer.write(request)
                writer.write(await up_reader.read(65536))
                await writer.drain()
                if self.one_request_each:
                    break
        finally:
            up_writer.close()
            writer.close()
            await writer.wait_closed()
            self.closed.set()


async def test_a_connection_the_server_closed_while_idle_is_not_used_again(env: TestEnvironment) -> None:
    await parked(env, fulfil, "o1", "conn-closed")
    proxy = Proxy(env, one_request_each=True)
    async with proxy as url, await tether.Client.connect(url) as client:
        await client.describe("conn-closed")
        await proxy.closed.wait()  # the connection the client keeps is closed at the server's end

        # Not repeatable: sent on the closed connection, it would be reported as maybe taken effect.
        await client.terminate("conn-closed", reason="done")

    assert proxy.connections == 2
    assert (await env.engine.describe("conn-closed")).status == "terminated"


async def test_a_result_wait_whose_caller_hangs_up_no_longer_counts_as_waiting(env: TestEnvironment) -> None:
    await parked(env, fulfil, "o1", "conn-hang-up")
    notifier = env.engine.notifier
    assert env.server_url is not None
    async with httpx.AsyncClient(base_url=env.server_url) as http:
        poll = asyncio.ensure_future(http.get("/v1/results/conn-hang-up", params={"wait": 60}))
        await notifier.wait_for_result_waiters()  # the long poll has reached the engine

        poll.cancel()  # the caller hangs up: httpx closes the connection
        await asyncio.gather(poll, return_exceptions=True)

        async def no_waiter() -> None:
            while notifier.result_waiters:
                notifier._result_waiters_changed.clear()
                await notifier._result_waiters_changed.wait()

        await asyncio.wait_for(no_waiter(), 10)  # a hang guard, not a timing
        answer = await http.get("/v1/results/conn-hang-up")  # the server goes on serving

    assert answer.json()["status"] == "running"
