"""Plain TCP connections for the HTTP transport, on the event loop's own transports.

httpcore's default network backend goes through anyio: every read and write enters a
cancel scope and a lock, and the pool's check of each idle connection (whether the server
closed it) builds anyio's attribute table and asks the peer's address before it polls the
socket. For a client that calls its server thousands of times a second that was a good part
of each call's CPU time. Here a connection is an asyncio transport that stays registered for
reading: what the server sends is taken in as it arrives, a read waits on a future, and a
request's head and body go out in one write. TLS (https) keeps httpcore's own backend: this
one serves ``http://`` origins only.
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


class _Receiver(asyncio.Protocol):
    """Takes in what the server sends while the connection lives, and wakes the read waiting for it."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.ended = False
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.paused = False

    def data_received(self, data: bytes) -> None:
        self.received += data
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # the transport closes: nothing more is sent on a connection the server ended

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class SocketStream(httpcore.AsyncNetworkStream):
    """One connected TCP socket, read through the event loop's transport (it stays registered for reading)."""

    def __init__(self, transport: asyncio.Transport, receiver: _Receiver) -> None:
        self._transport = transport
        self._receiver = receiver
        sock = transport.get_extra_info("socket")
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)
        self._unsent: list[bytes] = []
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """What the server sent (b"" once it closed), after sending what was written since the last read."""
        if self._unsent:
            await self._send()
        receiver = self._receiver
        if not receiver.received and not receiver.ended:
            receiver.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await receiver.waiter
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(str(exc)) from exc
            finally:
                receiver.waiter = None
        if receiver.received:
            data = bytes(receiver.received[:max_bytes])
            del receiver.received[:max_bytes]
            return data
        if receiver.error is not None:
            raise httpcore.ReadError(str(receiver.error)) from receiver.error
        return b""

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
        receiver = self._receiver
        if self._transport.is_closing():
            error = receiver.error or ConnectionResetError("the connection is closed")
            raise httpcore.WriteError(str(error)) from receiver.error
        self._transport.write(buffer)  # sent at once when the socket takes it, else as it drains
        if receiver.paused:
            receiver.drained = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(self._write_timeout):
                    await receiver.drained
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(str(exc)) from exc
            finally:
                receiver.drained = None
            if receiver.error is not None:
                raise httpcore.WriteError(str(receiver.error)) from receiver.error

    async def aclose(self) -> None:
        self._unsent.clear()
        self._transport.abort()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Not offered: https origins are served by httpcore's own backend."""
        raise httpcore.ConnectError("TLS is not available on plain sockets")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle and readable means the server closed the connection (or broke the protocol). The
            # socket is asked too: a close may have arrived that the event loop has not read yet.
            receiver = self._receiver
            return bool(receiver.received) or receiver.ended or bool(self._poll.poll(0))
        if info in ("socket", "client_addr", "server_addr"):
            return self._transport.get_extra_info(
                {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
            )
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
                    transport, receiver = await loop.create_connection(_Receiver, sock=sock)
                    return SocketStream(transport, receiver)
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
