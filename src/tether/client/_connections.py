"""Kept-alive HTTP/1.1 connections to an ``http://`` tether server, each answer parsed by httptools.

httpx and httpcore were most of a call's CPU time in the client: their request and response
objects, the pool's locks and cancel scopes, and h11 parsing every answer in Python. A service
that heartbeats thousands of times a second paid that on every call. Here a request is one
write of bytes made ready by the caller, and the answer is parsed in C as it arrives, on the
event loop's own transport, which stays registered for reading: a connection the server closed
while idle is known as closed before it is taken again.

Failures are raised as httpx's exceptions of the same meaning (a connection never made, one
that broke before or after the request went out, a timeout, a full pool), so the transport's
rules for sending a call again are the same whichever way it went. ``https://`` servers are
reached through httpx.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import select
import zlib
from typing import Any

import httptools
import httpx

from tether import errors

IDLE_SECONDS = 5.0
"""A connection idle longer than this is closed rather than used again (as httpx's pool does):
a server or proxy may close it at any moment after a few seconds, and a call sent just as it
does would be lost with it."""


class Answer:
    """A server's whole answer: its status and body."""

    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Connection(asyncio.Protocol):
    """One connection to the server, and the answer being parsed on it (httptools calls the ``on_`` methods)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.reusable = False
        """The last answer came whole and the server keeps the connection open."""
        self.idle_since = 0.0
        self._status = 0
        self._body: list[bytes] = []
        self._codings: list[bytes] = []
        self._framed = False
        self._keep_alive = False
        self._poll = select.poll()

    # The transport's side.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._poll.register(transport.get_extra_info("socket").fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # the server spoke while nothing was asked: not to be trusted again
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"the server's answer is not valid HTTP/1.1 ({exc})"))

    def eof_received(self) -> bool:
        if self.waiter is not None and self._status >= 200 and not self._framed:
            self._answer()  # an answer without a length ends where the connection does
        self._fail(httpx.RemoteProtocolError("the server closed the connection without answering"))
        return False  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is not None:
            self._fail(httpx.ReadError(f"the connection broke ({exc})"))
        else:
            self._fail(httpx.RemoteProtocolError("the server closed the connection without answering"))

    # The parser's side.

    def on_message_begin(self) -> None:
        if self.waiter is None:  # a second answer to one request
            self.close()
        self._status = 0
        self._body = []
        self._codings = []
        self._framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in (b"content-length", b"transfer-encoding"):
            self._framed = True
        elif name == b"content-encoding":
            self._codings += (coding.strip().lower() for coding in value.split(b","))

    def on_headers_complete(self) -> None:
        self._status = self.parser.get_status_code()
        self._keep_alive = self.parser.should_keep_alive()
        if self._status in (204, 304):
            self._framed = True  # never a body

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status >= 200:  # an informational answer (1xx) comes before the one awaited
            self.reusable = self._keep_alive
            self._answer()

    # The pool's side.

    async def exchange(self, request: bytes, read_seconds: float) -> Answer:
        """Send ``request`` (head and body) and return the answer; ReadTimeout after ``read_seconds`` without one."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        self.waiter = waiter
        self.reusable = False
        self.transport.write(request)
        timer = loop.call_later(read_seconds, _time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    def usable(self) -> bool:
        """Open, and nothing to read while idle: a close the event loop has not taken in yet shows on the socket."""
        if self.closed or self._poll.poll(0):
            self.close()
            return False
        return True

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _answer(self) -> None:
        body = b"".join(self._body)
        if self._codings:
            try:
                body = _decoded(body, self._codings)
            except zlib.error:  # _fail closes the connection: never given back for another call
                named = b", ".join(self._codings).decode("latin-1")
                self._fail(httpx.DecodingError(f"the answer's body is not the {named} its headers name"))
                return
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(Answer(self._status, body))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def _decoded(body: bytes, codings: list[bytes]) -> bytes:
    """A body under the content codings its answer names, last applied first undone.

    Requests accept gzip and deflate (httpx's default ``Accept-Encoding``, as for ``https://``),
    which a proxy in between may use; a coding not asked for is left as it is, as httpx leaves it.

    Raises:
        zlib.error: the body is not what its codings say.
    """
    for coding in reversed(codings):
        if coding in (b"gzip", b"x-gzip"):
            body = zlib.decompress(body, zlib.MAX_WBITS | 16)
        elif coding == b"deflate":  # zlib's wrapping as the standard says, or bare deflate as some servers send
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def _time_out(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("the server did not answer in time"))


class Pool:
    """Connections to one server: taken most recently used first, opened as needed up to ``max_connections``.

    Args:
        host, port: where the server listens.
        max_connections: calls at once (None: no bound); a call beyond waits for a connection.
        max_idle: connections kept open between calls; more are closed once their call is answered.
        connect_seconds: how long opening a connection may take.
        wait_seconds: how long a call may wait for a connection when all are taken.
    """

    def __init__(
        self, host: str, port: int, *, max_connections: int | None, max_idle: int,
        connect_seconds: float, wait_seconds: float,
    ) -> None:  # fmt: skip
        self._host = host
        self._port = port
        self._max_connections = max_connections
        self._max_idle = max_idle
        self._connect_seconds = connect_seconds
        self._wait_seconds = wait_seconds
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiting: collections.deque[asyncio.Future[_Connection | None]] = collections.deque()
        self.closed = False

    async def send(self, request: bytes, read_seconds: float) -> Answer:
        """The server's whole answer to ``request`` (its head and body, as bytes)."""
        if self.closed:
            raise errors.StoreUnavailable("the client is closed")  # as the embedded transport refuses it
        connection = self._idle_connection() or await self._connection()
        try:
            answer = await connection.exchange(request, read_seconds)
        except BaseException:
            connection.close()  # its state is unknown: a cancelled or failed call ends its connection
            self._give_back(connection)
            raise
        self._give_back(connection)
        return answer

    async def close(self) -> None:
        """Close every idle connection; those in use close once answered; calls waiting are refused."""
        self.closed = True
        for connection in self._idle:
            connection.close()
        self._open -= len(self._idle)
        self._idle.clear()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(errors.StoreUnavailable("the client is closed"))

    def _idle_connection(self) -> _Connection | None:
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.idle_since <= IDLE_SECONDS and connection.usable():
                return connection
            connection.close()
            self._open -= 1
        return None

    async def _connection(self) -> _Connection:
        """A new connection, once the bound allows one (or a connection given back meanwhile)."""
        if self._max_connections is not None and self._open >= self._max_connections:
            handed = await self._wait_for_room()
            if handed is not None:
                return handed
        self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            self._hand_over(None)
            raise

    async def _wait_for_room(self) -> _Connection | None:
        """A connection given back, or None once there is room to open one."""
        waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(self._wait_seconds):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()  # given as the wait ended: passed on to the next
                if handed is None:
                    self._hand_over(None)
                else:
                    self._give_back(handed)
            else:
                self._forget(waiter)
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no connection came free in time") from exc
            raise

    def _forget(self, waiter: asyncio.Future[_Connection | None]) -> None:
        with contextlib.suppress(ValueError):  # already taken off by a hand-over or the close
            self._waiting.remove(waiter)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_seconds):
                _, connection = await loop.create_connection(_Connection, self._host, self._port)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"no connection to {self._host}:{self._port} in time") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        return connection

    def _give_back(self, connection: _Connection) -> None:
        if connection.closed or not connection.reusable or self.closed:
            if not connection.closed:
                connection.close()
            self._open -= 1
            self._hand_over(None)
            return
        if self._hand_over(connection):
            return
        if len(self._idle) >= self._max_idle:
            connection.close()
            self._open -= 1
            return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.append(connection)

    def _hand_over(self, connection: _Connection | None) -> bool:
        """Give the first call waiting ``connection`` (None: room to open one); whether one was waiting."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False
