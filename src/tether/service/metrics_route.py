"""``GET /metrics``: the engine's metrics in the Prometheus text format, for a scraper.

Metrics name every workflow and activity, so the route asks for an API key that may read
all workflows (``workflows:read`` or ``workflows:read:*``), as the API does for listings;
``tether server --metrics-public`` serves it to anyone instead (behind a private network).
A server without keys on loopback serves it to anyone, like the rest of its API. It is
not part of the API's OpenAPI document: it serves Prometheus, not API clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from starlette.routing import Route

from tether.errors import PermissionDenied, StoreUnavailable, Unauthenticated
from tether.model.access import Action
from tether.service import auth, errors

if TYPE_CHECKING:
    from tether.engine.metrics import Metrics

PATH = "/metrics"
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def install(app: FastAPI, metrics: Metrics, *, public: bool) -> None:
    """Serve ``metrics`` at /metrics; to a key that may read every workflow, or to anyone if ``public``."""

    async def scrape(request: Request) -> Response:
        if not public:
            try:
                access = await auth.authenticate(request)
            except (Unauthenticated, StoreUnavailable) as exc:
                return errors.response_of(exc)
            auth.remember(request.scope, access)  # the access log names the key
            if access.patterns(Action.READ_WORKFLOWS) is not None:
                denied = PermissionDenied(
                    "metrics name every workflow: the API key needs workflows:read on all of them",
                    action=Action.READ_WORKFLOWS.value,
                )
                return errors.response_of(denied)
        return Response(await metrics.exposition(), media_type=_CONTENT_TYPE)

    # First: the web UI's routes must not take the path.
    app.router.routes.insert(0, Route(PATH, scrape, methods=["GET"], include_in_schema=False))
