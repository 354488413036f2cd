"""Request-body limits: too large is refused with 413 before parsing, too slow with 408."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether import errors
from tether.service.errors import response_of

BODY_DEADLINE = "tether.body_deadline"
"""The scope's key for the event loop time by which the request's body must have arrived, once it is set."""


class _Refusal(BaseException):  # passes the framework's own handlers, which would make a 400 of it
    def __init__(self, error: errors.TetherError) -> None:
        self.error = error


class BodyLimits:
    """ASGI middleware bounding each request body's size and the time it takes to arrive.

    A declared ``Content-Length`` over the limit is refused before any byte is read; a
    body that grows past it while streaming, or that arrives slower than ``body_timeout``
    seconds in total, is refused as soon as that is known. The app never sees either.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = None, False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = value  # the last one, if repeated
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await response_of(errors.PayloadTooLarge(limit=self.max_body_bytes))(scope, receive, send)
            return
        received = 0
        # HTTP/1.1: a request with neither header has no body, and nothing to wait for.
        body_done = declared in (None, b"0") and not chunked
        # A layer that began reading the body before handing the request on set its deadline: it holds.
        deadline: float = scope.get(BODY_DEADLINE) or asyncio.get_running_loop().time() + self.body_timeout
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                # A part of the body that has arrived is taken even once the deadline has
                # passed (a busy server reads late); only waiting past it is refused.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Refusal(errors.RequestTimeout(f"the request body took over {self.body_timeout:g} s")) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _Refusal(errors.PayloadTooLarge(limit=self.max_body_bytes))
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _Refusal as refusal:
            if started:
                raise
            await response_of(refusal.error)(scope, receive, send)
