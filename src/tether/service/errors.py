"""The one table from tether errors to HTTP statuses, and the handlers that apply it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from tether import errors
from tether.model.wire import ErrorBody

logger = logging.getLogger(__name__)

STATUS: dict[type[errors.TetherError], int] = {
    errors.InvalidToken: 400,
    errors.UsageError: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.ExecutionNotFound: 404,
    errors.UnknownWorkflow: 404,
    errors.ApiKeyNotFound: 404,
    errors.SinkNotFound: 404,
    errors.NotPublished: 404,
    errors.RequestTimeout: 408,
    errors.StaleToken: 409,
    errors.ActivityAlreadyClosed: 409,
    errors.CancellationNotRequested: 409,
    errors.NoAttemptOpen: 409,
    errors.WrongActivity: 409,
    errors.ExecutionClosed: 409,
    errors.ExecutionNotClosed: 409,
    errors.ExecutionNotResumable: 409,
    errors.ActivityNotInBackoff: 409,
    errors.RequestRejected: 409,
    errors.MessageKeyReused: 409,
    errors.ExecutionIdTaken: 409,
    errors.CallbackExpired: 410,
    errors.PayloadTooLarge: 413,
    errors.InvalidPayload: 422,
    errors.StoreUnavailable: 503,
    errors.Refused: 400,
    errors.TetherError: 500,
}
"""The status of each error class; a class without an entry takes its nearest base's."""


def status_of(error: errors.TetherError) -> int:
    """The HTTP status of an error."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def body_of(error: errors.TetherError) -> dict[str, Any]:
    """The JSON body of an error."""
    return ErrorBody(error=error.code, message=error.message, details=error.to_details()).model_dump(mode="json")


def response_of(error: errors.TetherError) -> JSONResponse:
    """The response that reports ``error``."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, errors.Unauthenticated) else None
    return JSONResponse(body_of(error), status_code=status_of(error), headers=headers)


_REASONS = {
    400: "A malformed, forged or altered activity token or callback URL (or one posted to the other action).",
    401: "No API key, or an unknown or revoked one.",
    403: "The API key does not allow this for this workflow.",
    404: "No such execution, activity or workflow, or no published value of that name.",
    408: "The request body arrived too slowly.",
    409: (
        "A stale token, an activity already closed (details name its final state), no attempt open to an "
        "activity token, a token of another activity than the one named, an id taken, a closed execution, "
        "a rejected request or a reused message key."
    ),
    410: "The callback URL expired (details name when); nothing changed.",
    413: "The request body is over the size limit (refused before it is read, whatever the route).",
    422: "The request or a value in it is invalid; details name each field.",
    503: "The store is unavailable.",
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for exactly the error statuses a route answers with, each an ErrorBody."""
    return {status: {"model": ErrorBody, "description": _REASONS[status]} for status in statuses}


def _loc(entry: Any) -> list[Any]:
    # FastAPI prefixes the part of the request ("body", "query", "path"); keep the field path.
    loc = list(entry.get("loc", ()))
    return loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc


async def handle(request: Request, exc: Exception) -> JSONResponse:
    """The JSON answer to a tether error (logged when the server is at fault)."""
    assert isinstance(exc, errors.TetherError)
    if status_of(exc) >= 500:
        logger.error("request failed: %s", exc, exc_info=exc, extra={"path": request.url.path})
    return response_of(exc)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        # A JSON syntax error's location is a character offset, not a field: name the body instead.
        {"loc": [] if e.get("type") == "json_invalid" else _loc(e), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    where = ".".join(str(p) for p in problems[0]["loc"]) if problems and problems[0]["loc"] else "body"
    first = problems[0]["msg"] if problems else "invalid request"
    return response_of(errors.InvalidPayload(f"invalid request at {where}: {first}", errors=problems))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # the framework could not parse the body at all (e.g. nested too deep)
        problem = {"loc": [], "msg": str(exc.detail), "type": "body"}
        return response_of(errors.InvalidPayload(f"invalid request body: {exc.detail}", errors=[problem]))
    if exc.status_code == 405:
        return _method_not_allowed(request)
    code = {404: "not_found"}.get(exc.status_code, "http_error")
    body = ErrorBody(error=code, message=str(exc.detail), details={}).model_dump(mode="json")
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _method_not_allowed(request: Request) -> JSONResponse:
    # The router names the methods of the first route whose path matched; a path served by
    # several routes (GET and POST /v1/workflows) serves the methods of all of them, so each
    # method is tried against every route.
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    methods = ", ".join(allowed)
    message = f"{request.method} is not served at {request.url.path}; it serves {methods}"
    body = ErrorBody(error="method_not_allowed", message=message, details={"allowed": allowed})
    return JSONResponse(body.model_dump(mode="json"), status_code=405, headers={"Allow": methods})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("request failed unexpectedly", exc_info=exc, extra={"path": request.url.path})
    body = ErrorBody(error="internal_error", message="the server failed; see its log", details={})
    return JSONResponse(body.model_dump(mode="json"), status_code=500)


def install(app: FastAPI) -> None:
    """Route every error through the table."""
    app.add_exception_handler(errors.TetherError, handle)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
