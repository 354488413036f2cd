"""The smallest ASGI app: it reads a request's body and answers ``{}``; nothing of tether runs in it.

``bin/bench --host`` serves it with uvicorn as ``tether server`` is served (uvloop, httptools) to
time what one HTTP round trip costs on this host, apart from anything tether does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Answer every HTTP request with 200 and ``{}`` once its body is read."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})
