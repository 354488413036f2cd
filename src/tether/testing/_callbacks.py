"""Posting to a callback URL from a test, as the third party it was given to would."""

from __future__ import annotations

import httpx
import pydantic

from tether import errors
from tether.engine.engine import Engine
from tether.model import callback_tokens, payloads, wire
from tether.model.payloads import JSONValue

PLACEHOLDER_BASE = "http://tether.test"
"""The public URL of an environment that serves no HTTP API: its callback URLs go through ``post_callback``."""


async def post(engine: Engine, server_url: str | None, url: str, body: JSONValue) -> bool:
    """POST ``body`` to a callback URL; whether it was recorded (False: the same call was recorded before).

    With a server (``server_url``) the request goes to it over HTTP, whatever host the URL
    names; without one, to the engine, as the server would pass it on.

    Raises:
        InvalidToken, CallbackExpired, StaleToken, ActivityAlreadyClosed, InvalidPayload: as the
            server refuses the call.
    """
    action, token = callback_tokens.split_url(url)
    text = payloads.encode(body, what="body")
    if server_url is not None:
        return await _over_http(f"{server_url}{callback_tokens.PATH}/{action}/{token}", text)
    if action == "complete":
        return await engine.complete_by_callback(token, text)
    if action != "fail":
        raise errors.InvalidToken(f"not a callback URL: {action!r} is neither complete nor fail")
    try:
        failure = wire.Failure.model_validate_json(text)
    except pydantic.ValidationError as exc:
        raise errors.InvalidPayload(f"invalid failure: {exc}", errors=exc.errors()) from None
    return await engine.fail_by_callback(
        token, error=failure.error, message=failure.message, details=failure.details,
        non_retryable=failure.non_retryable,
    )  # fmt: skip


async def _over_http(target: str, text: str) -> bool:
    async with httpx.AsyncClient() as http:
        reply = await http.post(target, content=text, headers={"Content-Type": "application/json"})
    if reply.status_code >= 400:
        try:
            refused = wire.ErrorBody.model_validate_json(reply.content)
        except pydantic.ValidationError:
            raise errors.TetherError(f"the server answered {reply.status_code}: {reply.text[:200]}") from None
        raise errors.from_wire(refused.error, refused.message, refused.details)
    return wire.Acknowledged.model_validate_json(reply.content).recorded
