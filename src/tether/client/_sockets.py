"""Plain TCP connections for the HTTP transport, straight on the event loop's sockets.

httpcore's default network backend goes through anyio: every read and write enters a
cancel scope and a lock, and the pool's check of each idle connection (whether the server
closed it) builds anyio's attribute table and asks the peer's address before it polls the
socket. For a client that calls its server thousands of times a second that was a good part
of each call's CPU time. This backend reads and writes the non-blocking socket directly when
it can, and waits through the event loop only when it must. TLS (https) keeps httpcore's own
backend: this one serves ``http://`` origins only.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

_SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
"""httpcore's socket option: a level, a name and a value (or None and a length)."""


class SocketStream(httpcore.AsyncNetworkStream):
    """One connected, non-blocking TCP socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._unsent: list[bytes] = []
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """What the server sent (b"" once it closed), after sending what was written since the last read."""
        if self._unsent:
            await self._send()
        try:
            return self._sock.recv(max_bytes)  # what has arrived already, without a turn of the loop
        except BlockingIOError:
            pass
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.get_running_loop().sock_recv(self._sock, max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Keep ``buffer`` to send with the rest of the request when the response is read.

        httpcore writes a request's head and its body apart: sent as they come, they cost
        two system calls here and two wake-ups of the server, which reads the head alone first.
        """
        if buffer:
            self._unsent.append(buffer)
            self._write_timeout = timeout

    async def _send(self) -> None:
        buffer = b"".join(self._unsent)
        self._unsent.clear()
        try:
            sent = self._sock.send(buffer)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc
        if sent == len(buffer):
            return
        try:
            async with asyncio.timeout(self._write_timeout):
                await asyncio.get_running_loop().sock_sendall(self._sock, memoryview(buffer)[sent:])
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._unsent.clear()
        self._sock.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Not offered: https origins are served by httpcore's own backend."""
        raise httpcore.ConnectError("TLS is not available on plain sockets")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle and readable means the server closed the connection (or broke the protocol).
            return self._sock.fileno() < 0 or bool(self._poll.poll(0))
        if info == "socket":
            return self._sock
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        return None


class SocketBackend(httpcore.AsyncNetworkBackend):
    """Opens :class:`SocketStream` connections; for an httpcore pool of ``http://`` origins."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first of the host's addresses that answers."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
                failure: OSError = OSError(f"no address found for {host}")
                for family, kind, proto, _, address in addresses:
                    sock = socket.socket(family, kind, proto)
                    try:
                        sock.setblocking(False)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        for option in socket_options or ():
                            sock.setsockopt(*option)
                        if local_address is not None:
                            sock.bind((local_address, 0))
                        await loop.sock_connect(sock, address)
                    except OSError as exc:
                        sock.close()
                        failure = exc
                        continue
                    except BaseException:
                        sock.close()
                        raise
                    return SocketStream(sock)
                raise failure
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[_SocketOption] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Not offered: the transport connects over TCP."""
        raise httpcore.ConnectError("unix sockets are not available on this backend")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
