"""Routes under /v1/callbacks: complete or fail an attempt by callback URL, with no API key.

The signed token in the URL is the only permission these routes ask for (they are exempt
from API keys, not from body limits); past its checks, each is the call by token it stands for.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from tether import errors
from tether.model import callback_tokens, wire
from tether.model.wire import Acknowledged, Failure
from tether.service import paths
from tether.service.errors import WITH_BODY, refusals
from tether.service.state import engine_of

router = APIRouter(prefix=callback_tokens.PATH, tags=["callbacks"])

_BY_URL = refusals(
    errors.PayloadTooLarge, errors.StoreUnavailable, *WITH_BODY, errors.InvalidToken, errors.ExecutionNotFound,
    errors.StaleToken, errors.ActivityAlreadyClosed, errors.CallbackExpired,
)  # fmt: skip

CallbackToken = Annotated[
    str,
    Path(description="The signed token of the callback URL, as `tether.context().callback_url()` made it."),
]

_NO_KEY: dict[str, Any] = {"security": []}
"""Served to anyone who holds the URL: no API key is asked for."""

_ANY_RESULT: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The activity's result as JSON (any JSON value; `null` for none), "
        "checked against its declared result type.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JSONValue"}}},
    }
}


@router.post(
    f"/complete/{paths.TOKEN}",
    operation_id="completeByCallback",
    responses=_BY_URL,
    openapi_extra={**_NO_KEY, **_ANY_RESULT},
)
async def complete_by_callback(token: CallbackToken, request: Request) -> Acknowledged:
    """Complete the attempt a callback URL names with the result its body holds; no API key needed.

    Refused as ``completeActivity`` is (409 stale or closed, 422 a result of the wrong type), 400
    when the URL is altered or made to fail, 410 once it expired; the same completion repeated
    is acknowledged with ``recorded`` false.
    """
    result = wire.callback_result(await request.body())
    return Acknowledged(recorded=await engine_of(request).complete_by_callback(token, result))


@router.post(f"/fail/{paths.TOKEN}", operation_id="failByCallback", responses=_BY_URL, openapi_extra=_NO_KEY)
async def fail_by_callback(token: CallbackToken, body: Failure, request: Request) -> Acknowledged:
    """Fail the attempt a callback URL names; it is retried by policy unless non_retryable. No API key needed.

    Refused as ``failActivity`` is (409 stale or closed), 400 when the URL is altered or made to
    complete, 410 once it expired; the same failure repeated is acknowledged with ``recorded`` false.
    """
    recorded = await engine_of(request).fail_by_callback(
        token, error=body.error, message=body.message, details=body.details, non_retryable=body.non_retryable
    )
    return Acknowledged(recorded=recorded)
