"""Servers on a real loopback port for the length of a ``with`` block: an ASGI app, or a raw peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tether.service import server as service_server


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``app``, served by tether's server on 127.0.0.1 and a free port."""
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    task = asyncio.ensure_future(server.serve_on(sock))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_server.port_of(sock)}") as http:
            yield http
    finally:
        server.stop()
        await task


class LoopbackServer:
    """Serves each connection with :meth:`serve` while in its ``async with``, which gives the URL."""

    server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
