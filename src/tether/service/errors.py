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
from tether.model import error_bodies
from tether.model.wire import ErrorBody

logger = logging.getLogger(__name__)

STATUS: dict[type[errors.TetherError], int] = {
    errors.InvalidToken: 400,
    errors.UsageError: 400,
    errors.UndecodablePayload: 422,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.ExecutionNotFound: 404,
    errors.UnknownWorkflow: 404,
    errors.ApiKeyNotFound: 404,
    errors.SinkNotFound: 404,
    errors.ScheduleNotFound: 404,
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
    errors.ScheduleAlreadyExists: 409,
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
    return status_of_class(type(error))


def status_of_class(error: type[errors.TetherError]) -> int:
    """The HTTP status of an error class."""
    for cls in error.__mro__:
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


def refusals(*classes: type[errors.TetherError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for exactly the errors a route answers with: per status, the union of their bodies.

    Each status declares the bodies of its codes, discriminated on ``error``, and says what each code means.
    """
    by_status: dict[int, list[type[errors.TetherError]]] = {}
    for cls in classes:
        by_status.setdefault(status_of_class(cls), []).append(cls)
    return {
        status: {
            "model": error_bodies.union_of(found),
            "description": " ".join(f"`{cls.code}`: {error_bodies.summary(cls)}" for cls in found),
        }
        for status, found in sorted(by_status.items())
    }


KEYED: tuple[type[errors.TetherError], ...] = (errors.Unauthenticated, errors.PayloadTooLarge, errors.StoreUnavailable)
"""What every route behind an API key may answer: no key, a body over the limit (whatever the route), no store."""

WITH_BODY: tuple[type[errors.TetherError], ...] = (errors.RequestTimeout, errors.InvalidPayload)
"""What every route that reads a request body may answer: a body too slow, or one that is invalid."""

NAMING_EXECUTION: tuple[type[errors.TetherError], ...] = (*KEYED, errors.PermissionDenied, errors.ExecutionNotFound)
"""What every route naming an execution may answer before it acts: no key, no permission, no such execution."""


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
