"""Serving the app with uvicorn on a socket bound up front, in the caller's event loop.

The app shares its event loop with the engine (and, in ``tether server --worker``, with the
worker), so it runs as a task, not as a separate process or thread. Binding the socket
before serving means the port is known, and connections queue, before uvicorn starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator

import h11
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
except ImportError:  # pragma: no cover - httptools not installed
    HttpToolsProtocol = None  # type: ignore[assignment,misc]  # h11 serves then

from tether.errors import UsageError
from tether.service import auth, state, token_routes

logger = logging.getLogger(__name__)


def check_exposure(host: str, *, has_keys: bool, insecure: bool) -> None:
    """Refuse to serve without API keys beyond loopback, unless told ``insecure``.

    Raises:
        UsageError: saying how to create a key or to opt out.
    """
    if not has_keys and not insecure and not auth.is_loopback(host):
        raise UsageError(
            f"refusing to serve on {host} without API keys: anyone who reaches it could complete activities. "
            "Create a key with `tether keys create --name NAME --scope SCOPE`, or pass --insecure"
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one).

    Raises:
        UsageError: the address cannot be bound (in use, or not this machine's).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # when the listening socket says TCP; without it every response waits ~40 ms on Nagle.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.setblocking(False)
    return sock


def port_of(sock: socket.socket) -> int:
    """The port a bound socket listens on."""
    port: int = sock.getsockname()[1]
    return port


class _HeaderDeadline(asyncio.Protocol):
    """A connection's timer for request headers that do not arrive in time (see the guards below).

    uvicorn times out idle keep-alive connections but not a request whose headers trickle in
    (or never start): each such connection would be held for good.
    """

    header_timeout = 10.0
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            self.transport.close()

    def _waiting_for_headers(self) -> bool:
        raise NotImplementedError


class _SlowClientGuard(_HeaderDeadline, H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11), closing connections whose request headers do not arrive in time."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        waiting_for_headers = self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])
        if waiting_for_headers:
            self._arm()
        elif self.conn.their_state is not h11.IDLE:
            self._disarm()

    def _waiting_for_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE


class _FastSlowClientGuard(_HeaderDeadline, HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on httptools (the C parser), closing connections whose headers are late.

    Calls by token are handed to the app's token routes as they arrive (see token_routes), past
    the layers around the app, and their answers written whole.
    """

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGIApp) -> None:  # type: ignore[override]
        # The app's middleware, once built (by Starlette, on the app's first request): its token routes outermost.
        calls = getattr(self.config.app, "middleware_stack", None)
        if isinstance(calls, token_routes.TokenRoutes) and app is self.app and calls.takes(cycle.scope):
            app = _Direct(calls, cycle, app)  # (not uvicorn's 503 app, when too busy)
        super()._start_asgi_task(cycle, app)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._waiting_for_headers():
            self._arm()
        else:
            self._disarm()

    def _waiting_for_headers(self) -> bool:
        # uvicorn starts a request's scope at its first byte and names its method once its headers are
        # complete (no scope yet: nothing has arrived on the connection).
        scope: dict[str, object] | None = self.scope  # type: ignore[assignment]  # None until the first byte
        return scope is None or "method" not in scope


class _Direct:
    """One request by token, as the ASGI app its cycle runs: the token routes serve it, the whole app if not."""

    __slots__ = ("calls", "cycle", "general")

    def __init__(self, calls: token_routes.TokenRoutes, cycle: RequestResponseCycle, general: ASGIApp) -> None:
        self.calls = calls
        self.cycle = cycle
        self.general = general

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.calls.serve(scope, receive, send, self.general, self.whole)

    async def whole(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """What the cycle's ``send`` does for a start and the last body, as one write.

        ``headers``: lowercase names, valid values (the token routes' own).
        """
        cycle = self.cycle
        if cycle.access_log or cycle.response_started:  # uvicorn's own access line: its send writes it
            await cycle.send({"type": "http.response.start", "status": status, "headers": headers})
            await cycle.send({"type": "http.response.body", "body": body})
            return
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        content = [STATUS_LINE[status]]
        for name, value in (*cycle.default_headers, *headers):
            content += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        cycle.transport.write(b"".join(content))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            cycle.transport.close()
        cycle.on_response()


def _protocol() -> type[_HeaderDeadline]:
    """The fastest HTTP protocol installed: httptools (``tether[server]`` installs it), else h11."""
    return _FastSlowClientGuard if HttpToolsProtocol is not None else _SlowClientGuard


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop of uvloop, when installed (``tether[server]`` installs it): what ``tether server`` runs on."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a server installed without its extras' optional speed-ups
        return None
    return uvloop.new_event_loop


class Server(uvicorn.Server):
    """uvicorn serving one app on a bound socket; signals are the caller's unless ``handle_signals``.

    Stop it with :meth:`stop`; :meth:`serve_on` returns once open requests finished or the
    graceful-shutdown time ran out.
    """

    def __init__(
        self, app: ASGIApp, *, handle_signals: bool = False, graceful_shutdown: int = 5, header_timeout: float = 10.0
    ) -> None:
        protocol = type("SlowClientGuard", (_protocol(),), {"header_timeout": header_timeout})
        config = uvicorn.Config(
            app,
            http=protocol,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=graceful_shutdown,
            log_config=None,
        )
        super().__init__(config)
        self._handle_signals = handle_signals
        self._stopping = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # noqa: D102
        if self._handle_signals:
            with super().capture_signals():
                yield
        else:
            yield

    async def main_loop(self) -> None:
        """Uvicorn's housekeeping loop, ended at once by :meth:`stop` rather than at its next tick."""
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for may swallow a cancellation
            # of this task that arrives as the wait ends, and the server would not stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._stopping.wait()
            should_exit = await self.on_tick(counter)

    async def serve_on(self, sock: socket.socket) -> None:
        """Serve until stopped."""
        await self.serve(sockets=[sock])

    def stop(self) -> None:
        """Ask the server to finish: stop accepting, let open requests end, return from serve_on."""
        state.stop_waiting(self.config.app)
        self.should_exit = True
        self._stopping.set()
