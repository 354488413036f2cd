"""A tiny HTTP endpoint for a worker's metrics: ``GET /metrics`` and nothing else, on loopback by default.

A worker serves no API, so it has no web framework to hang /metrics on; this answers
Prometheus's scrapes on the worker's own event loop (the store's gauges are read there too).
One request per connection, answered and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)

_CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
_HEADERS_TIMEOUT_SECONDS = 10.0
_LONGEST_HEAD = 16 * 1024


@contextlib.asynccontextmanager
async def serving(exposition: Callable[[], Awaitable[bytes]], host: str, port: int) -> AsyncIterator[int]:
    """Serve ``exposition()`` at ``http://host:port/metrics`` while the block runs; yields the port bound."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEADERS_TIMEOUT_SECONDS)
            method, target = [*head.split(b"\r\n", 1)[0].split(b" "), b"", b""][:2]
            if method != b"GET" or target.split(b"?", 1)[0] != b"/metrics":
                _respond(writer, b"404 Not Found", b"text/plain", b"only GET /metrics is served here\n")
            else:
                try:
                    body = await exposition()
                except Exception as exc:
                    logger.warning("could not read the metrics", exc_info=True)
                    _respond(writer, b"503 Service Unavailable", b"text/plain", f"{exc}\n".encode())
                else:
                    _respond(writer, b"200 OK", _CONTENT_TYPE, body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass  # a client that went away or sent no request gets nothing
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port, limit=_LONGEST_HEAD)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


def _respond(writer: asyncio.StreamWriter, status: bytes, content_type: bytes, body: bytes) -> None:
    writer.write(
        b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type
        + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )  # fmt: skip
