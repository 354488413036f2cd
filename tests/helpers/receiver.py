"""A real HTTP receiver of notifications on a loopback port, served from a thread.

It records every POST (headers and raw body) and answers as the test says: a status per
request (503 first, say), or holding the request until the test lets it go (a receiver
that hangs). A hook may run on the test's event loop before the answer, as a receiver
that acts on what it got would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import tether


@dataclass
class Received:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed

    def verify(self, secret: str) -> dict[str, Any]:
        return tether.verify_notification(self.body, self.headers.get("tether-signature"), secret)


@dataclass
class Receiver:
    """The state of one receiver; ``url`` is where it listens."""

    url: str
    loop: asyncio.AbstractEventLoop
    statuses: list[int] = field(default_factory=list)
    """Answers to the next requests, in order; 200 once they run out."""
    hold: threading.Event | None = None
    """While set to an unset event, requests wait for it before they are answered."""
    hook: Callable[[Received], Coroutine[Any, Any, None]] | None = None
    received: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, *, timeout: float = 30) -> list[Received]:
        """Wait until ``count`` requests arrived (a bounded wait: deliveries run in real time)."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return list(self.received)

    def of_type(self, event: str) -> list[Received]:
        return [r for r in self.received if r.json["type"] == event]


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
        receiver = self.receiver
        loop = receiver.loop
        if receiver.hold is not None:
            receiver.hold.wait(60)
        with threading.Lock():
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        if receiver.hook is not None and status == 200:
            asyncio.run_coroutine_threadsafe(receiver.hook(got), loop).result(30)
        receiver.received.append(got)
        receiver.answered.append(status)
        loop.call_soon_threadsafe(receiver.arrived.set)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
        pass


@asynccontextmanager
async def serve() -> AsyncIterator[Receiver]:
    """A receiver listening on 127.0.0.1 for the block's duration."""
    loop = asyncio.get_running_loop()
    handler: type[_Handler] = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", loop)
    handler.receiver = receiver
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="test-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        await asyncio.to_thread(server.shutdown)
        server.server_close()


def refused_url() -> str:
    """A loopback URL where nothing listens: connections to it are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"
