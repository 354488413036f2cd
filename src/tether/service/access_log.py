"""The access log: one line per HTTP request, with its route, status, duration and API key's name.

API requests are logged at INFO; the web UI's static files and Prometheus scrapes at DEBUG,
where they are no noise. The line names the route's template (``/v1/workflows/{id}``),
not the path, and the key by its name: never the key, a token or a body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.engine import observation
from tether.service import auth

logger = logging.getLogger("tether.service.access")

_QUIET_PREFIXES = ("/static/", "/metrics")
"""Requests logged at DEBUG: the UI's files and scrapes come often and say nothing."""


class AccessLog:
    """ASGI middleware: logs each HTTP request once it is answered; also tells the engine whose key it runs for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 0

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        reset = observation.caller.set(None)
        try:
            await self.app(scope, receive, answered)
        finally:
            observation.caller.reset(reset)
            log(scope, status, time.perf_counter() - began)


def log(scope: Scope, status: int, seconds: float) -> None:
    """Log the line of a request answered with ``status`` in ``seconds`` (0: no answer was sent)."""
    path = str(scope.get("path", ""))
    level = logging.DEBUG if path.startswith(_QUIET_PREFIXES) else logging.INFO
    if not logger.isEnabledFor(level):
        return
    route = getattr(scope.get("route"), "path_format", None) or path
    access = auth.access_of(scope)
    key = None if access is None else access.key_name
    method = scope.get("method", "")
    milliseconds = round(seconds * 1000, 1)
    args = (method, route, status, milliseconds, f" (key {key!r})" if key else "")
    fields = {"method": method, "route": route, "status": status, "duration_ms": milliseconds, "api_key": key}
    writer = direct
    if writer is not None and writer(logger, level, _MESSAGE % args, fields):
        return
    # Made and handled as Logger.log would, without looking up the caller's frame (a line per request).
    logger.handle(logger.makeRecord(logger.name, level, __file__, _LINE, _MESSAGE, args, None, "log", fields))


_LINE = log.__code__.co_firstlineno
_MESSAGE = "%s %s %d %.1f ms%s"

DirectLine = Callable[[logging.Logger, int, str, dict[str, Any]], bool]
"""Writes the line of the record a logger would make of a message and its fields; False if it cannot."""

direct: DirectLine | None = None
"""Set by the process's log set-up when lines can be written without a record (``cli.log_format.DirectLines``)."""
