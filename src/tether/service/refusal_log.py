"""One log line for every refused API request, so an operator sees a misconfigured consumer.

The line names the route, the answer's status and error code, and the API key by its name
and id (never the key itself). It is written once per request, whichever part of the server
refused it: authentication, the body limits, validation or a route.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.engine import api_keys
from tether.service import auth

logger = logging.getLogger("tether.service.refusals")

_LOGGED_STATUSES = range(400, 500)
_LOGGED_PATHS = ("/v1/", "/compat/")
"""The API and the compatible APIs; not the web UI's pages."""
_MOST_BODY_READ = 64 * 1024
"""Error bodies are small JSON documents sent in one piece; a larger body is not parsed."""


class RefusalLog:
    """ASGI middleware: logs each 4xx answer to an API request at WARNING, once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(_LOGGED_PATHS):
            await self.app(scope, receive, send)
            return
        status = 0
        body = b""

        async def observe(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status in _LOGGED_STATUSES:
                body = (body + bytes(message.get("body", b"")))[:_MOST_BODY_READ]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            if status in _LOGGED_STATUSES:
                log(scope, status, body)


def log(scope: Scope, status: int, body: bytes) -> None:
    """Log the refusal of a request answered with ``status`` (4xx) and the error ``body``."""
    route = getattr(scope.get("route"), "path_format", None) or scope.get("path", "")
    code = _code_of(body[:_MOST_BODY_READ])
    key = _key_of(scope)
    logger.warning(
        "refused %s %s: %d %s (key %s)",
        scope.get("method", ""),
        route,
        status,
        code,
        key,
        extra={"route": route, "status": status, "error_code": code, "api_key": key},
    )


def _code_of(body: bytes) -> str:
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return "-"
    # tether's own bodies say {"error": code}; AWS's protocol says {"__type": code}.
    code = (parsed.get("error") or parsed.get("__type")) if isinstance(parsed, dict) else None
    return code if isinstance(code, str) else "-"


def _key_of(scope: Scope) -> str:
    """The key a request came with, by name and id; never the key's secret."""
    access = auth.access_of(scope)
    if access is not None:
        if access.key_id is None:
            return "none needed"
        return f"{access.key_name!r} ({access.key_id})"
    header = ""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            header = value.decode("latin-1")
    if not header:
        return "none presented"
    scheme, _, presented = header.partition(" ")
    if scheme == "AWS4-HMAC-SHA256":  # Credential=<key id>/<date>/<region>/<service>/aws4_request, ...
        key_id = presented.partition("Credential=")[2].partition("/")[0]
    else:
        key_id = api_keys.split(presented.strip())[0]
    if key_id.isalnum() and len(key_id) <= 32:
        return f"not accepted (id {key_id})"
    return "not accepted (not a tether key)"
