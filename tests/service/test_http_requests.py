"""The HTTP client's requests on the wire: byte for byte what httpx itself sends for the same call.

The client builds its requests from parts made once (headers with Host and the body's length)
and hands them to its transport directly; a server, proxy or signature check must not be able
to tell them from httpx's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import tether
from tests.helpers.loopback import LoopbackServer

ANSWER = (
    b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 63\r\n\r\n"
    b'{"error": "workflow_not_found", "message": "no", "details": {}}'
)


class Recorder(LoopbackServer):
    """A loopback server that keeps each request it gets (head and body) and refuses it with a 404."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                body = await reader.readexactly(int(lengths[0].split(b":")[1])) if lengths else b""
                self.requests.append(head + body)
                writer.write(ANSWER)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


Call = Callable[[tether.Client], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "heartbeat (POST with a body)": lambda c: c.heartbeat_activity("a-token", {"page": 1}),
    "cancel (POST without a body)": lambda c: c.cancel_workflow("order-1"),
    "describe a schedule (GET)": lambda c: c.describe_schedule("nightly"),
    "delete (DELETE)": lambda c: c.delete("order-1"),
    "list (GET with a query)": lambda c: c.list_workflows(workflow="orders"),
}


@pytest.mark.parametrize("name", list(CALLS))
async def test_each_request_is_the_one_httpx_sends_for_the_same_call(name: str) -> None:
    recorder = Recorder()
    async with recorder as url:
        client = await tether.Client.connect(url, api_key="k-1")
        try:
            with pytest.raises(tether.errors.TetherError):
                await CALLS[name](client)
        finally:
            await client.close()
        (sent,) = recorder.requests
        head, body = sent.split(b"\r\n\r\n", 1)
        method, target, _ = head.split(b"\r\n", 1)[0].split(b" ")
        typed = [line.split(b": ", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-type:")]
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer k-1"}) as plain:
            await plain.request(
                method.decode(), target.decode(), content=body or None,
                headers={"Content-Type": typed[0].decode()} if typed else None,
            )  # fmt: skip
        assert recorder.requests[-1] == sent
        assert head.startswith(
            method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:"
        )  # Host first, as HTTP/1.1 asks
