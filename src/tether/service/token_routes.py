"""The calls by token that services make most, served without FastAPI's general request path.

Heartbeat, complete and fail by token come from other services, often and many at once.
This ASGI middleware, the innermost of the app's own (inside the access log, the refusal log,
authentication and the body limits), serves a plain request to one of them itself: the body
parsed by orjson and validated by the route's model, the route's own function run, its reply
rendered as FastAPI renders it, with the route named in the scope for the logs. Whatever it does
not take as plain (another method or content type, a body that is not valid JSON or not valid for
the model, a deep one) goes on to FastAPI with the body replayed, so that every answer and refusal
is FastAPI's, unchanged; so does every request while FastAPI's own telemetry records it (an
OpenTelemetry provider is configured), whose spans name the route and the endpoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether import errors as tether_errors
from tether.model.access import Access
from tether.model.records import HeartbeatResponse
from tether.model.wire import Acknowledged, CompleteActivity, FailActivity, HeartbeatActivity
from tether.service import auth, errors, routes_activities

_SHALLOW = 256
"""Bodies with fewer brackets than this are parsed here; deeper ones by FastAPI, whose limits then apply."""

_JSON = b"application/json"

Endpoint = Callable[[Any, Request, Access], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class _TokenRoute:
    route: APIRoute
    body: type[BaseModel]
    reply: TypeAdapter[Any]

    @property
    def endpoint(self) -> Endpoint:
        call: Endpoint = self.route.endpoint
        return call


def _route(path: str, body: type[BaseModel], reply: type[Any]) -> tuple[str, _TokenRoute]:
    (route,) = (
        r
        for r in routes_activities.router.routes
        if isinstance(r, APIRoute) and r.path == path and r.methods == {"POST"}
    )
    return path, _TokenRoute(route, body, TypeAdapter(reply))


_ROUTES = dict(
    (
        _route("/v1/activities/heartbeat", HeartbeatActivity, HeartbeatResponse),
        _route("/v1/activities/complete", CompleteActivity, Acknowledged),
        _route("/v1/activities/fail", FailActivity, Acknowledged),
    )
)


class TokenRoutes:
    """ASGI middleware serving plain heartbeat, complete and fail requests by token directly (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        served = _ROUTES.get(scope.get("path", "")) if scope["type"] == "http" else None
        if (
            served is None
            or scope["method"] != "POST"
            or scope.get("root_path")
            or scope.get("fastapi.telemetry") is not None  # FastAPI's own spans name the route its router selects
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        access = auth.access_of(scope)
        messages: list[Message] = []
        body = await _read(receive, messages)
        parsed = None if access is None or body is None else _parsed(body, served.body)
        if parsed is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        scope["route"] = served.route  # as FastAPI's router names it: the access and refusal logs read it
        scope["endpoint"] = served.route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive)
        try:
            reply = await served.endpoint(parsed, request, access)  # type: ignore[arg-type]  # access is set
        except tether_errors.TetherError as exc:
            await (await errors.handle(request, exc))(scope, receive, send)
            return
        content = served.reply.dump_json(reply)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(content)).encode()), (b"content-type", _JSON)],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value == _JSON)
    return False


async def _read(receive: Receive, messages: list[Message]) -> bytes | None:
    """The whole body, or None if the client left first; every message received is kept in ``messages``."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parsed(body: bytes, model: type[BaseModel]) -> BaseModel | None:
    """The body as ``model``, or None when FastAPI should tell what is wrong with it (or parse it: deep)."""
    if not body or body.count(b"[") + body.count(b"{") >= _SHALLOW:
        return None
    try:
        return model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives ``messages`` again, then what ``receive`` gives."""
    pending = iter(messages)

    async def replay() -> Message:
        for message in pending:
            return message
        return await receive()

    return replay
