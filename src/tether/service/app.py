"""The ASGI app of the tether server: JSON API under /v1, OpenAPI, error table, body limits, web UI at /.

Also the Step Functions task-token API for AWS SDKs at /compat/sfn (see routes_sfn).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp

from tether import errors as tether_errors
from tether.engine.engine import Engine
from tether.model.codecs import PayloadCodec
from tether.service import (
    access_log,
    cors,
    errors,
    metrics_route,
    routes_activities,
    routes_callbacks,
    routes_lifecycle,
    routes_messages,
    routes_published,
    routes_schedules,
    routes_sfn,
    routes_workflows,
    state,
    token_routes,
    traces,
)
from tether.service.auth import Authentication, Authenticator
from tether.service.defaults import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES
from tether.service.limits import BodyLimits
from tether.service.refusal_log import RefusalLog
from tether.service.ui import pages, schedule_pages

if TYPE_CHECKING:
    from tether.engine.metrics import Metrics  # prometheus_client is imported only where metrics are served

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

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
    {
        "name": "schedules",
        "description": "Start a workflow at the times of a cron expression: make, list, describe, pause, unpause, "
        "trigger and delete schedules.",
    },
    {"name": "server", "description": "The server itself."},
]
"""The document's tags, one per group of operations; every operation carries one."""

SERVERS = [
    {
        "url": "/",
        "description": "The tether server that serves this document; a client takes its URL "
        "(http://127.0.0.1:8080 for `tether server` with its defaults).",
    }
]
"""Relative: the served document names the server it came from, wherever that runs."""


class _App(FastAPI):
    """FastAPI, with an OpenAPI document that declares only what the server sends, served as its text."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            _without_validation_errors(document)
            self.openapi_schema = _one_schema_per_mode(document)
        return self.openapi_schema

    _document_text: str | None = None
    direct_limits: token_routes.Limits | None = None
    """Set: calls by token are served in front of the middleware (see token_routes), under these limits."""

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.direct_limits is None:
            return stack
        assert isinstance(stack, ServerErrorMiddleware)  # FastAPI's outermost layer: its 500 handler is needed
        return token_routes.TokenRoutes(stack, self.direct_limits, self)

    def setup(self) -> None:
        super().setup()
        # The document is served as the text `tether openapi` prints, byte for byte.
        for index, route in enumerate(self.router.routes):
            if isinstance(route, Route) and route.path == self.openapi_url:
                self.router.routes[index] = Route(route.path, self._serve_document, include_in_schema=False)

    async def _serve_document(self, request: Request) -> Response:
        if self._document_text is None:
            self._document_text = document_text(self)
        return Response(self._document_text, media_type="application/json")


def document_text(app: FastAPI) -> str:
    """The OpenAPI document of ``app`` as served: indented JSON, keys sorted, one final newline."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _one_schema_per_mode(document: dict[str, Any]) -> dict[str, Any]:
    """Merge the request and response copies of a schema that pydantic names apart though they are the same.

    pydantic names a recursive schema (JSONValue) apart in each mode, ``-Input`` and ``-Output``,
    even when both are one schema; a client generator would make two types of it.
    """
    text = json.dumps(document)
    schemas = document.get("components", {}).get("schemas", {})
    for name in [name.removesuffix("-Input") for name in schemas if name.endswith("-Input")]:
        inputs, outputs = (json.dumps(schemas.get(f"{name}-{mode}")) for mode in ("Input", "Output"))
        if inputs.replace(f"{name}-Input", name) == outputs.replace(f"{name}-Output", name):
            text = text.replace(f'"{name}-Output"', f'"{name}"').replace(f'/{name}-Output"', f'/{name}"')
            text = text.replace(f'"{name}-Input"', f'"{name}"').replace(f'/{name}-Input"', f'/{name}"')
    merged: dict[str, Any] = json.loads(text)
    return merged


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
    cors_origins: Sequence[str] = (),
    metrics: Metrics | None = None,
    metrics_public: bool = False,
    codec: PayloadCodec | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the server's ASGI app over an engine; every app has its own state (no globals).

    Args:
        engine: the engine every route runs on.
        authenticator: resolves each request's API key to what it may do.
        max_body_bytes: larger request bodies are refused with 413 before they are parsed.
        body_timeout: a request body that takes longer to arrive is refused with 408.
        cors_origins: web origins whose pages may call the API from a browser (``*`` for any).
        metrics: served at /metrics (see ``metrics_route``) to a key that may read every workflow.
        metrics_public: serve /metrics to anyone, without a key.
        codec: decodes encoded payloads for the web UI to show (and encodes what its forms
            send); without it the UI shows them as ``encoded (aes-gcm, key k2)``. The API
            stores and returns payloads as given either way.
        tracer_provider: where the spans of calls it serves go (OpenTelemetry); default: the global provider.

    Raises:
        UsageError: one of ``cors_origins`` is not an origin.
    """
    app = _routed()
    app.direct_limits = token_routes.Limits(max_body_bytes, body_timeout, cross_origin=bool(cors_origins))
    state.attach(app, engine, authenticator)
    if metrics is not None:
        metrics_route.install(app, metrics, public=metrics_public)
    app.state.codec = codec
    traces.attach(app, tracer_provider)
    app.add_middleware(BodyLimits, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
    app.add_middleware(Authentication)  # runs before the body limits: no body is read for an unknown caller
    app.add_middleware(RefusalLog)  # around authentication, so its refusals are logged too
    if cors_origins:
        cors.install(app, cors_origins)  # outermost: preflights are answered without a key
    app.add_middleware(access_log.AccessLog)  # outermost of all: every request, preflights included
    return app


def document() -> str:
    """The server's OpenAPI document, as it serves it at /v1/openapi.json, built without a store or engine."""
    return document_text(_routed())


def _routed() -> _App:
    """The app with its routes and error handlers: what the OpenAPI document describes, over nothing yet."""
    app = _App(
        title="tether",
        version=_version(),
        summary="Durable workflows whose activities may run for indefinite time.",
        openapi_url="/v1/openapi.json",
        openapi_tags=TAGS,
        servers=SERVERS,
        docs_url="/v1/docs",
        redoc_url=None,
    )
    errors.install(app)
    app.include_router(routes_workflows.router)
    app.include_router(routes_activities.router)
    app.include_router(routes_callbacks.router)
    app.include_router(routes_lifecycle.router)
    app.include_router(routes_messages.router)
    app.include_router(routes_published.router)
    app.include_router(routes_schedules.router)
    app.include_router(routes_sfn.router)  # AWS SDKs; not in the OpenAPI document
    pages.install(app)
    schedule_pages.install(app)

    @app.get(
        "/v1/health",
        tags=["server"],
        operation_id="getHealth",
        responses=errors.refusals(tether_errors.PayloadTooLarge),
        openapi_extra={"security": []},  # served to anyone: no API key is asked for
    )
    async def health() -> dict[str, str]:
        """Whether the server is up (no API key needed)."""
        return {"status": "ok"}

    return app
