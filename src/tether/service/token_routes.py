"""The calls by token that services make most, served in front of the app's middleware and FastAPI.

Heartbeat, complete and fail by token come from other services, often and many at once.
This ASGI layer, the outermost of the app's middleware (outside Starlette's error layers, the
access log, the refusal log, authentication and the body limits), serves a plain request to one
of them itself and does for it what those layers do: the access-log line, the refusal line of a
4xx, the API key's check, the body's size and time limits, the 500 of an unexpected failure.
The body is parsed by orjson and validated by the route's model, the route's own function run,
its reply rendered as FastAPI renders it, with the route named in the scope for the logs.

The same layer also answers such a request straight from the connection (``serve``, called by
the server's HTTP protocol as the request arrives), before uvicorn's proxy-header layer, FastAPI
and Starlette have run, and writes the whole answer at once rather than as two ASGI messages:
none of those layers changes anything these calls read (the client's address and scheme are
not read by them), and what they would do is done here (the app named in the scope, FastAPI's
root path and its own telemetry sending the request the general way).

Whatever it does not take as plain (another method or content type, a body of unknown length
or over the limit, a caller whose key is refused, a body that is not valid JSON or not valid
for the model, a deep one, a call with an Origin while CORS is on) goes on through the whole app,
with the body read so far replayed and its deadline kept, so that every answer and refusal of
those is the general path's, unchanged; so does every request while FastAPI's own telemetry
records it (an OpenTelemetry provider is configured), whose spans name the route and the endpoint.
"""

from __future__ import annotations

import asyncio
import re
import time
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether import errors as tether_errors
from tether.engine import observation
from tether.model.access import Access
from tether.model.records import HeartbeatResponse
from tether.model.wire import (
    MAX_RESULT_WAIT_SECONDS,
    Acknowledged,
    CompleteActivity,
    FailActivity,
    HeartbeatActivity,
    Outcome,
)
from tether.service import access_log, auth, errors, limits, refusal_log, routes_activities, routes_workflows, state

_SHALLOW = 256
"""Bodies with fewer brackets than this are parsed here; deeper ones by FastAPI, whose limits then apply."""

_JSON = b"application/json"

Endpoint = Callable[[Any, Request, Access], Awaitable[Any]]

Whole = Callable[[int, list[tuple[bytes, bytes]], bytes], Awaitable[None]]
"""Sends a whole answer (status, headers, body) in one write: the connection's own, in place of two ASGI sends."""

_DECLINED = "tether.token_routes.declined"
"""Set in the scope of a request this layer passed on: met again on its way through the app, it goes straight on."""


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


_RESULTS = "/v1/results/"
"""The result of an execution (``GET``, with ``?wait=`` seconds): what a caller of a completion often waits on next."""

(_RESULT_ROUTE,) = (
    r for r in routes_workflows.router.routes if isinstance(r, APIRoute) and r.endpoint is routes_workflows.result
)
_OUTCOME: TypeAdapter[Outcome] = TypeAdapter(Outcome)
_PLAIN_WAIT = re.compile(rb"wait=([0-9]{1,6}(?:\.[0-9]{1,20})?)")
"""A query taken here: the wait alone, as a plain decimal; any other goes the general way (validated there)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What the app's own layers are configured with, which the direct path applies alike."""

    max_body_bytes: int
    body_timeout: float
    cross_origin: bool
    """CORS is on: a request with an Origin header goes the general way, for the CORS layer's headers."""


class TokenRoutes:
    """ASGI middleware serving plain heartbeat, complete and fail requests by token directly (see the module).

    ``app`` is the app's whole middleware stack, Starlette's error layer outermost: what
    anything not taken here goes on to, and whose 500 handler answers an unexpected failure here.
    """

    def __init__(self, app: ServerErrorMiddleware, limits: Limits, routed: FastAPI | None = None) -> None:
        self.app = app
        self.limits = limits
        self.routed = routed
        """The app whose middleware this is: what the scope names as its app on the way straight from the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if (
            scope["type"] != "http"
            or scope.get(_DECLINED)
            or scope.get("root_path")
            or scope.get("fastapi.telemetry") is not None  # FastAPI's own spans name the route its router selects
        ):
            await self.app(scope, receive, send)
            return
        await self._take(scope, receive, send, self.app, None)

    @staticmethod
    def takes(scope: Mapping[str, Any]) -> bool:
        """Whether a request whose head just arrived may be a call by token or for a result (headers checked next)."""
        method = scope["method"]
        return (method == "POST" and scope["path"] in _ROUTES) or (
            method == "GET" and scope["path"].startswith(_RESULTS)
        )

    async def serve(self, scope: Scope, receive: Receive, send: Send, general: ASGIApp, whole: Whole) -> None:
        """Answer a request by token straight from the connection, before any of the app's layers ran.

        ``general`` is the whole app, which takes what is not answered here; ``whole`` writes a
        whole answer at once.
        """
        routed = self.routed
        if routed is None or routed.root_path or scope.get("root_path") or _traced_by_fastapi(routed):
            await general(scope, receive, send)
            return
        scope["app"] = routed  # as Starlette names it: the app's state (engine, keys) is found through it
        await self._take(scope, receive, send, general, whole)

    async def _take(self, scope: Scope, receive: Receive, send: Send, general: ASGIApp, whole: Whole | None) -> None:
        """Answer a plain call by token here, or pass it on to ``general`` (marked as passed on)."""
        served = _ROUTES.get(scope["path"])
        if served is None or scope["method"] != "POST":
            if scope["method"] == "GET" and scope["path"].startswith(_RESULTS):
                await self._take_result(scope, receive, send, general, whole)
                return
            scope[_DECLINED] = True
            await general(scope, receive, send)
            return
        content_type = declared = authorization = host = None
        other = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value if content_type is None else content_type
            elif name == b"content-length":
                declared = value  # the last one, if repeated, as the body limits take it
            elif name == b"authorization":
                authorization = value if authorization is None else authorization
            elif name == b"host":
                host = value if host is None else host
            elif name == b"transfer-encoding" or (name == b"origin" and self.limits.cross_origin):
                other = True
        if (
            other
            or content_type != _JSON
            or declared is None
            or not declared.isdigit()
            or int(declared) > self.limits.max_body_bytes
            or declared == b"0"
        ):
            scope[_DECLINED] = True
            await general(scope, receive, send)
            return
        replayed = await self._serve(scope, receive, send, served, _latin1(authorization), _latin1(host) or "", whole)
        if replayed is not None:
            scope[_DECLINED] = True
            await general(scope, _replaying(replayed, receive) if replayed else receive, send)

    async def _take_result(
        self, scope: Scope, receive: Receive, send: Send, general: ASGIApp, whole: Whole | None
    ) -> None:
        """Answer a plain request for a result here, or pass it on to ``general`` (marked as passed on)."""
        execution_id = scope["path"][len(_RESULTS) :]
        query: bytes = scope["query_string"]
        waited = _PLAIN_WAIT.fullmatch(query) if query else None
        wait = 0.0 if not query else float(waited[1]) if waited is not None else -1.0
        authorization = host = None
        other = not execution_id or not 0 <= wait <= MAX_RESULT_WAIT_SECONDS
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value if authorization is None else authorization
            elif name == b"host":
                host = value if host is None else host
            elif (
                name == b"transfer-encoding"
                or (name == b"content-length" and value != b"0")
                or (name == b"origin" and self.limits.cross_origin)
            ):
                other = True  # a body, or CORS headers to add: the general way
        if other:
            scope[_DECLINED] = True
            await general(scope, receive, send)
            return
        answer = _Answer()
        try:
            taken = await self._answer_result(
                scope, receive, send, execution_id, wait, _latin1(authorization), _latin1(host) or "", answer, whole
            )
        except Exception as exc:
            await self._fail_as_500(exc, scope, receive, send, answer)
            raise
        if not taken:
            scope[_DECLINED] = True
            await general(scope, receive, send)

    async def _answer_result(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        execution_id: str,
        wait: float,
        authorization: str | None,
        host: str,
        answer: _Answer,
        whole: Whole | None,
    ) -> bool:
        """Answer the request for a result; False if the general path is to (its key was refused)."""
        began = time.perf_counter()
        try:
            access = await _authenticated(scope, authorization, host, answer)
            if access is None:
                return False
            auth.remember(scope, access)
            scope["route"] = _RESULT_ROUTE  # as FastAPI's router names it: the access and refusal logs read it
            scope["endpoint"] = routes_workflows.result
            scope["path_params"] = {"execution_id": execution_id}
            request = Request(scope, receive)
            try:
                reply = await routes_workflows.result(execution_id, request, access, wait)
            except tether_errors.TetherError as exc:
                await _refuse(request, exc, send, answer)
                return True
            if isinstance(reply, Response):  # the caller hung up: an answer nobody reads
                answer.status = reply.status_code
                await reply(scope, receive, send)
                return True
            await _reply(_OUTCOME.dump_json(reply), send, whole, answer)
            return True
        finally:
            if answer.logged:
                access_log.log(scope, answer.status, time.perf_counter() - began)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        served: _TokenRoute,
        authorization: str | None,
        host: str,
        whole: Whole | None,
    ) -> list[Message] | None:
        """Answer the call, or return the messages received so far for the general path to take it from there."""
        answer = _Answer()
        try:
            return await self._answer(scope, receive, send, served, authorization, host, answer, whole)
        except Exception as exc:
            await self._fail_as_500(exc, scope, receive, send, answer)
            raise

    async def _fail_as_500(self, exc: Exception, scope: Scope, receive: Receive, send: Send, answer: _Answer) -> None:
        """Answer an unexpected failure before any answer as Starlette's error layer does; the caller raises it on.

        (A plain ``try`` in each caller rather than a context manager: one is entered per call.)
        """
        if answer.status:
            return
        # The app's 500 handler answers (and logs), and raises it again.
        await ServerErrorMiddleware(_raising(exc), self.app.handler, self.app.debug)(scope, receive, send)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        served: _TokenRoute,
        authorization: str | None,
        host: str,
        answer: _Answer,
        whole: Whole | None,
    ) -> list[Message] | None:
        began = time.perf_counter()
        caller = observation.caller.set(None)
        try:
            access = await _authenticated(scope, authorization, host, answer)
            if access is None:
                return []
            deadline = asyncio.get_running_loop().time() + self.limits.body_timeout
            messages: list[Message] = []
            body = await _read(receive, messages, deadline)
            parsed = None if body is None or len(body) > self.limits.max_body_bytes else _parsed(body, served.body)
            if parsed is None:
                answer.logged = False
                scope[limits.BODY_DEADLINE] = deadline
                return messages
            auth.remember(scope, access)
            if access.key_name is not None:
                observation.caller.set(access.key_name)  # the engine's transition log names the key
            scope["route"] = served.route  # as FastAPI's router names it: the access and refusal logs read it
            scope["endpoint"] = served.route.endpoint
            scope["path_params"] = {}
            request = Request(scope, receive)
            try:
                reply = await served.endpoint(parsed, request, access)
            except tether_errors.TetherError as exc:
                await _refuse(request, exc, send, answer)
                return None
            await _reply(served.reply.dump_json(reply), send, whole, answer)
            return None
        finally:
            observation.caller.reset(caller)
            if answer.logged:
                access_log.log(scope, answer.status, time.perf_counter() - began)


async def _authenticated(scope: Scope, authorization: str | None, host: str, answer: _Answer) -> Access | None:
    """The caller's access, or None for the general path to refuse the request (and log the refusal)."""
    try:
        return await auth.authenticate_headers(
            state.authenticator_of_app(scope["app"]), authorization, auth.host_in(host)
        )
    except (tether_errors.Unauthenticated, tether_errors.StoreUnavailable):
        answer.logged = False
        return None


async def _refuse(request: Request, exc: tether_errors.TetherError, send: Send, answer: _Answer) -> None:
    """Answer a refusal as the app's error handler does, and log it as the refusal log does."""
    refused = await errors.handle(request, exc)
    answer.status = refused.status_code
    try:
        await refused(request.scope, request.receive, send)
    finally:
        if 400 <= answer.status < 500:
            refusal_log.log(request.scope, answer.status, bytes(refused.body))


async def _reply(content: bytes, send: Send, whole: Whole | None, answer: _Answer) -> None:
    """Send a 200 with a JSON body, in one write where the connection offers it."""
    answer.status = 200
    headers = [(b"content-length", str(len(content)).encode()), (b"content-type", _JSON)]
    if whole is not None:
        await whole(200, headers, content)
    else:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})


class _Answer:
    """How far a call went: the status sent (0: none yet), and whether it is this path's to log."""

    __slots__ = ("logged", "status")

    def __init__(self) -> None:
        self.status = 0
        self.logged = True


async def _read(receive: Receive, messages: list[Message], deadline: float) -> bytes | None:
    """The whole body, or None if the client left first or it did not arrive by ``deadline``.

    Every message received is kept in ``messages``.
    """
    chunks: list[bytes] = []
    while True:
        try:
            message = await _received_by(receive, deadline)
        except TimeoutError:
            return None
        messages.append(message)
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _received_by(receive: Receive, deadline: float) -> Message:
    """What ``receive()`` gives; TimeoutError if that means waiting past ``deadline``.

    A message that has arrived is taken even once the deadline has passed (as the body limits
    take it), and needs no timer: the call is begun by hand, and timed only if it waits.
    """
    pending = receive()
    if not isinstance(pending, types.CoroutineType):
        async with asyncio.timeout_at(deadline):
            return await pending
    try:
        waited_on = pending.send(None)
    except StopIteration as done:
        message: Message = done.value
        return message
    async with asyncio.timeout_at(deadline):
        return await _resumed(pending, waited_on)


@types.coroutine
def _resumed(begun: Coroutine[Any, Any, Message], waited_on: Any) -> Generator[Any, Any, Message]:
    """Await the rest of a coroutine begun by hand, now waiting on ``waited_on``."""
    while True:
        try:
            sent = yield waited_on
        except BaseException as exc:  # a cancellation (the deadline's) reaches the coroutine as it would by await
            try:
                waited_on = begun.throw(exc)
            except StopIteration as done:
                message: Message = done.value
                return message
        else:
            try:
                waited_on = begun.send(sent)
            except StopIteration as done:
                message = done.value
                return message


def _parsed(body: bytes, model: type[BaseModel]) -> BaseModel | None:
    """The body as ``model``, or None when FastAPI should tell what is wrong with it (or parse it: deep)."""
    if not body or body.count(b"[") + body.count(b"{") >= _SHALLOW:
        return None
    try:
        return model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _latin1(value: bytes | None) -> str | None:
    """A header's value as text, as Starlette decodes headers."""
    return None if value is None else value.decode("latin-1")


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives ``messages`` again, then what ``receive`` gives."""
    pending = iter(messages)

    async def replay() -> Message:
        for message in pending:
            return message
        return await receive()

    return replay


def _traced_by_fastapi(app: FastAPI) -> bool:
    """Whether FastAPI's own telemetry records requests (an OpenTelemetry provider is configured).

    Such a request goes through FastAPI, whose spans name the route its router selects.
    """
    telemetry = getattr(app, "_native_telemetry", None)  # FastAPI releases before their telemetry have none
    return telemetry is not None and bool(telemetry.enabled())


def _raising(exc: Exception) -> ASGIApp:
    async def fail(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return fail
