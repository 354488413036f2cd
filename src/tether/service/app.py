"""The ASGI app of the tether server: JSON API under /v1, OpenAPI, error table, body limits, web UI at /."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from fastapi import FastAPI

from tether.engine.engine import Engine
from tether.service import (
    errors,
    routes_activities,
    routes_callbacks,
    routes_lifecycle,
    routes_messages,
    routes_published,
    routes_workflows,
    state,
)
from tether.service.auth import Authentication, Authenticator
from tether.service.defaults import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES
from tether.service.limits import BodyLimits
from tether.service.ui import pages

TAGS = [
    {
        "name": "workflows",
        "description": "Start executions, list and describe them, read their histories, results and published "
        "values; terminate and delete them.",
    },
    {
        "name": "activities",
        "description": "Complete, fail, heartbeat or report cancelled the activity a token names; retry one now.",
    },
    {
        "name": "messages",
        "description": "Talk to running executions: send messages (starting the execution if needed) and requests.",
    },
    {
        "name": "callbacks",
        "description": "Complete or fail the attempt a callback URL names, with no API key: "
        "the signed token in the URL is the permission.",
    },
    {"name": "server", "description": "The server itself."},
]
"""The document's tags, one per group of operations; every operation carries one."""


class _App(FastAPI):
    """FastAPI, with an OpenAPI document that declares only what the server sends."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            _without_validation_errors(super().openapi())
        assert self.openapi_schema is not None
        return self.openapi_schema


def _without_validation_errors(document: dict[str, Any]) -> None:
    """Drop the 422 FastAPI declares on every route with parameters, in a shape tether never sends.

    Invalid requests are answered with an ErrorBody (see errors.py), declared where they can
    happen; a route whose parameters cannot be invalid (a path id) answers no 422 at all.
    """
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            declared = operation.get("responses", {}).get("422", {})
            if (
                declared.get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref", "")
                .endswith("/HTTPValidationError")
            ):
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        document.get("components", {}).get("schemas", {}).pop(name, None)


def _version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0"


def create_app(
    engine: Engine,
    authenticator: Authenticator,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
) -> FastAPI:
    """Build the server's ASGI app over an engine; every app has its own state (no globals).

    Args:
        engine: the engine every route runs on.
        authenticator: resolves each request's API key to what it may do.
        max_body_bytes: larger request bodies are refused with 413 before they are parsed.
        body_timeout: a request body that takes longer to arrive is refused with 408.
    """
    app = _App(
        title="tether",
        version=_version(),
        summary="Durable workflows whose activities may run for indefinite time.",
        openapi_url="/v1/openapi.json",
        openapi_tags=TAGS,
        docs_url="/v1/docs",
        redoc_url=None,
    )
    state.attach(app, engine, authenticator)
    errors.install(app)
    app.add_middleware(BodyLimits, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
    app.add_middleware(Authentication)  # added last, so it runs first: no body is read for an unknown caller
    app.include_router(routes_workflows.router)
    app.include_router(routes_activities.router)
    app.include_router(routes_callbacks.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(routes_messages.router)
    app.include_router(routes_published.router)
    pages.install(app)

    @app.get(
        "/v1/health",
        tags=["server"],
        operation_id="getHealth",
        responses=errors.refusals(413),
        openapi_extra={"security": []},  # served to anyone: no API key is asked for
    )
    async def health() -> dict[str, str]:
        """Whether the server is up (no API key needed)."""
        return {"status": "ok"}

    return app
