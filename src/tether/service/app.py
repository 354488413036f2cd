"""The ASGI app of the tether server: JSON API under /v1, OpenAPI, error table, body limits, web UI at /."""

from __future__ import annotations

from importlib import metadata

from fastapi import FastAPI

from tether.engine.engine import Engine
from tether.service import errors, routes_activities, routes_workflows, state
from tether.service.auth import Authentication, Authenticator
from tether.service.limits import BodyLimits
from tether.service.ui import pages

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0


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
    app = FastAPI(
        title="tether",
        version=_version(),
        summary="Durable workflows whose activities may run for indefinite time.",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    state.attach(app, engine, authenticator)
    errors.install(app)
    app.add_middleware(BodyLimits, max_body_bytes=max_body_bytes, body_timeout=body_timeout)
    app.add_middleware(Authentication)  # added last, so it runs first: no body is read for an unknown caller
    app.include_router(routes_workflows.router)
    app.include_router(routes_activities.router)
    pages.install(app)

    @app.get("/v1/health", tags=["server"])
    async def health() -> dict[str, str]:
        """Whether the server is up (no API key needed)."""
        return {"status": "ok"}

    return app
