"""The HTTP transport's requests, built from parts made once per client rather than once per call.

``httpx.AsyncClient.request`` merges the client's headers, parses the URL joined to the base
URL and checks every option on each call: for the small JSON calls a token holder sends
thousands of times, that was a tenth of the client's time per call. Here the headers and the
URL of each path are made once; only the body, and a trace context when there is one, vary.

They are sent straight to the client's transport (httpx's public transport interface), past
``AsyncClient.send``'s auth, redirect, cookie and event-hook steps: a tether server asks for
none of them (the API key is a header; it never redirects or sets a cookie), and copying each
answer's headers into a cookie jar was another tenth of the time per call.
"""

from __future__ import annotations

from typing import Any

import httpx

from tether import errors
from tether.engine import tracing

_BODIED = frozenset({"POST", "PUT", "PATCH"})
"""Methods httpx gives a ``Content-Length: 0`` when they carry no body."""
_REMEMBERED_URLS = 256
"""Paths whose parsed URL is kept (the token calls' few, and executions' most recent)."""


class Requests:
    """Builds the requests of one ``httpx.AsyncClient`` (its base URL and headers), as it would build them."""

    def __init__(self, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
        self._client = client
        self._transport = transport
        # The Host header httpx would add itself, first as HTTP/1.1 asks: requests are given whole
        # (with their body's length too), which spares httpx working them out again on every call.
        host = (b"Host", client.build_request("GET", "/").url.netloc)
        self._plain = httpx.Headers([host, *client.headers.raw])
        self._empty = httpx.Headers([host, (b"Content-Length", b"0"), *client.headers.raw])  # a POST without a body
        self._json = self._plain.copy()
        self._json["Content-Type"] = "application/json"
        self._urls: dict[str, httpx.URL] = {}
        self._usual = {"timeout": client.timeout.as_dict()}
        # The same headers as written on the wire by the connections of http:// servers (see _connections).
        self._blocks = {
            kind: b"".join(b"%s: %s\r\n" % pair for pair in headers.raw)
            for kind, headers in (("json", self._json), ("empty", self._empty), ("plain", self._plain))
        }

    def build(
        self, method: str, path: str, body: bytes | None, params: dict[str, Any] | None, timeout: httpx.Timeout | None
    ) -> httpx.Request:
        """The request ``client.build_request`` would make, byte for byte on the wire (to send with :meth:`send`).

        ``timeout``: None for the client's own.
        """
        headers = (self._json if body is not None else self._empty if method in _BODIED else self._plain).copy()
        carrier: dict[str, str] = {}
        tracing.inject(carrier)  # the server's span of this call joins the caller's trace
        if carrier:
            headers.update(carrier)
        if params is not None:  # a query: built as httpx builds it (no call on the token path has one)
            return self._client.build_request(
                method, path, content=body, params=params, headers=headers,
                timeout=self._client.timeout if timeout is None else timeout,
            )  # fmt: skip
        if body is not None:
            headers["Content-Length"] = str(len(body))  # last, where httpx puts it for content=
        extensions = self._usual if timeout is None else {"timeout": timeout.as_dict()}
        stream = httpx.ByteStream(body or b"")
        return httpx.Request(method, self._url(path), headers=headers, stream=stream, extensions=extensions)

    def wire(self, method: str, path: str, body: bytes | None, params: dict[str, Any] | None) -> bytes:
        """The bytes of the request :meth:`build` would make, as httpx's HTTP/1.1 connection writes them."""
        block = self._blocks["json" if body is not None else "empty" if method in _BODIED else "plain"]
        url = self._url(path) if params is None else self._client.build_request(method, path, params=params).url
        parts = [method.encode("ascii"), b" ", url.raw_path, b" HTTP/1.1\r\n", block]
        carrier: dict[str, str] = {}
        tracing.inject(carrier)
        for name, value in carrier.items():
            parts.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
        if body is not None:
            parts.append(b"Content-Length: %d\r\n\r\n" % len(body))
            parts.append(body)
        else:
            parts.append(b"\r\n")
        return b"".join(parts)

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is None:
            url = self._client.build_request("GET", path).url  # joined to the base URL as httpx joins it
            if len(self._urls) >= _REMEMBERED_URLS:
                self._urls.clear()
            self._urls[path] = url
        return url

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The whole answer to ``request`` (read, and its connection back in the pool)."""
        if self._client.is_closed:
            raise errors.StoreUnavailable("the client is closed")  # as the embedded transport refuses it
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response
