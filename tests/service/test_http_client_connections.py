"""The HTTP client's own connections to an http:// server, against a raw loopback server that answers as scripted.

However an answer is framed it is read whole; a connection whose state is unknown (a call
cancelled, an answer cut off or not HTTP) is never used again; calls beyond the pool's bound
wait for a connection rather than open more; an idle connection is dropped after a while.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable

import pytest

import tether
from tests.helpers.loopback import LoopbackServer
from tether.client import _connections

BEAT = b'{"cancel_requested": true, "next_heartbeat_due": null}'
"""A heartbeat's answer that a user can tell from the default one (cancellation was asked)."""

NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 64\r\n\r\n"
    b'{"error": "execution_not_found", "message": "no", "details": {}}'
)


def whole(body: bytes = BEAT) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)


class Scripted(LoopbackServer):
    """Answers the n-th request it gets (over all connections) with ``answers[n]``: bytes to write, or None to hang up.

    An answer is written in pieces where it holds "|", and the connection hung up after it if it ends with one.

    ``hold`` keeps every answer until it is set; ``connections`` counts the connections made.
    """

    def __init__(self, answers: list[bytes | None] | Callable[[int], bytes | None]) -> None:
        self.answers = answers
        self.connections = 0
        self.requests = 0
        self.hold: asyncio.Event | None = None
        self.hung_up = asyncio.Event()
        self.arrived = asyncio.Condition()

    def answer(self, n: int) -> bytes | None:
        return self.answers(n) if callable(self.answers) else self.answers[n]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                if lengths:
                    await reader.readexactly(int(lengths[0].split(b":")[1]))
                n = self.requests
                self.requests += 1
                async with self.arrived:
                    self.arrived.notify_all()
                if self.hold is not None:
                    await self.hold.wait()
                answer = self.answer(n)
                if answer is None:
                    break
                for part in answer.split(b"|"):  # sent in pieces where the script cuts it
                    writer.write(part)
                    await writer.drain()
                if b"connection: close" in answer or answer.endswith(b"|"):  # "|" last: then hang up
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.hung_up.set()
            writer.close()

    async def until(self, requests: int) -> None:
        async with self.arrived:
            await self.arrived.wait_for(lambda: self.requests >= requests)


FRAMINGS = {
    "a length": whole(),
    "a length, in pieces": whole().replace(b"\r\n\r\n", b"\r\n\r|\n").replace(b"true,", b"tr|ue,"),
    "chunked": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\n"
    + BEAT[:16]
    + b"\r\n|"
    + b"%x\r\n" % (len(BEAT) - 16)
    + BEAT[16:]
    + b"\r\n0\r\n\r\n",
    "after an informational answer": b"HTTP/1.1 100 Continue\r\n\r\n|" + whole(),
    "no length: up to the close": b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + BEAT,
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
async def test_an_answer_is_read_whole_however_it_is_framed(framing: str) -> None:
    closes = framing.startswith("no length")
    server = Scripted(lambda n: FRAMINGS[framing] if n == 0 else whole())
    async with server as url, await tether.Client.connect(url) as client:
        first = await client.heartbeat_activity("a-token", {"page": 1})
        second = await client.heartbeat_activity("a-token", {"page": 2})
    assert first.cancel_requested
    assert second.cancel_requested
    # A connection the server ended with its answer is not used again; the others are.
    assert server.connections == (2 if closes else 1)


async def test_calls_beyond_the_pool_bound_wait_for_a_connection_given_back() -> None:
    server = Scripted(lambda n: whole())
    server.hold = asyncio.Event()
    async with server as url, await tether.Client.connect(url) as client:
        calls = [asyncio.ensure_future(client.heartbeat_activity("a-token", {"n": n})) for n in range(70)]
        await server.until(64)  # the bound of connections for calls
        server.hold.set()
        answers = await asyncio.gather(*calls)
    assert all(answer.cancel_requested for answer in answers)
    assert server.requests == 70
    assert server.connections == 64  # the six calls that waited were given connections back


async def test_a_call_cancelled_while_it_waits_for_its_answer_ends_its_connection() -> None:
    server = Scripted(lambda n: whole())
    server.hold = asyncio.Event()
    async with server as url, await tether.Client.connect(url) as client:
        call = asyncio.ensure_future(client.heartbeat_activity("a-token", {"n": 1}))
        await server.until(1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        server.hold.set()
        await server.hung_up.wait()  # the client closed that connection: its answer is read by no one
        answer = await client.heartbeat_activity("a-token", {"n": 2})
    assert answer.cancel_requested
    assert server.connections == 2


@pytest.mark.parametrize("broken", [b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n{|", b"HELLO\r\n\r\n", None])
async def test_a_broken_answer_to_a_call_that_cannot_be_repeated_says_its_outcome_is_unknown(
    broken: bytes | None,
) -> None:
    server = Scripted(lambda n: broken if n == 0 else NOT_FOUND)
    async with server as url, await tether.Client.connect(url) as client:
        with pytest.raises(tether.errors.ServerUnreachable, match="may or may not have taken effect"):
            await client.terminate("order-1", reason="done")
        # The next call goes on a new connection, and its answer is read.
        with pytest.raises(tether.errors.ExecutionNotFound):
            await client.terminate("order-1", reason="done")
    assert server.requests == 2
    assert server.connections == 2


@pytest.mark.parametrize("broken", [b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n{|", b"HELLO\r\n\r\n", None])
async def test_a_broken_answer_to_a_call_that_can_be_repeated_is_asked_again(broken: bytes | None) -> None:
    server = Scripted(lambda n: broken if n == 0 else whole())
    async with server as url, await tether.Client.connect(url) as client:
        answer = await client.heartbeat_activity("a-token", {"n": 1})
    assert answer.cancel_requested
    assert server.requests == 2
    assert server.connections == 2


async def test_a_connection_idle_too_long_is_not_used_again(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Scripted(lambda n: whole())
    async with server as url, await tether.Client.connect(url) as client:
        await client.heartbeat_activity("a-token", {"n": 1})
        await client.heartbeat_activity("a-token", {"n": 2})
        assert server.connections == 1
        monkeypatch.setattr(_connections, "IDLE_SECONDS", -1.0)  # every connection now counts as idle too long
        await client.heartbeat_activity("a-token", {"n": 3})
        await client.heartbeat_activity("a-token", {"n": 4})
    assert server.connections == 3


async def test_a_closed_client_refuses_calls() -> None:
    server = Scripted(lambda n: whole())
    async with server as url:
        client = await tether.Client.connect(url)
        await client.heartbeat_activity("a-token", {"n": 1})
        await client.close()
        with pytest.raises(tether.errors.StoreUnavailable, match="closed"):
            await client.heartbeat_activity("a-token", {"n": 2})
    assert server.requests == 1


def _encoded(coding: str, body: bytes = BEAT) -> bytes:
    if coding == "deflate, bare":
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return squeezer.compress(body) + squeezer.flush()
    if coding == "gzip, identity":
        return gzip.compress(body)
    return gzip.compress(body) if coding == "gzip" else zlib.compress(body)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "deflate, bare", "gzip, identity"])
async def test_an_answer_compressed_on_the_way_is_read_as_sent(coding: str) -> None:
    # What a proxy that compresses JSON answers (nginx's gzip on, say) sends on: the client's
    # requests say they accept gzip and deflate, as httpx's do on https://.
    named = coding.replace(", bare", "").encode()
    body = _encoded(coding)
    compressed = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: %s\r\ncontent-length: %d\r\n\r\n%s"
        % (named, len(body), body)
    )
    server = Scripted(lambda n: compressed)
    async with server as url, await tether.Client.connect(url) as client:
        first = await client.heartbeat_activity("a-token", {"page": 1})
        second = await client.heartbeat_activity("a-token", {"page": 2})
    assert first.cancel_requested
    assert second.cancel_requested
    assert server.connections == 1


async def test_an_answer_that_is_not_the_coding_it_names_is_refused_clearly() -> None:
    broken = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n%s" % (len(BEAT), BEAT)
    server = Scripted(lambda n: broken if n == 0 else whole())
    async with server as url, await tether.Client.connect(url) as client:
        with pytest.raises(
            tether.errors.ServerUnreachable, match=r"could not be read .*gzip.*may or may not have taken effect"
        ):
            await client.complete_activity("a-token", 1)
        assert (await client.heartbeat_activity("a-token", {"page": 2})).cancel_requested  # on a new connection
    assert server.connections == 2
