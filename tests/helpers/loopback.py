"""An ASGI app served on a real loopback port for the length of a ``with`` block."""

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
