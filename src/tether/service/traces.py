"""The server's spans of the calls it serves: children of the caller's span, or of the workflow's for calls by token.

A call by token (complete, fail, heartbeat, report cancelled) comes from whichever service
holds the token, in that service's own trace. Its span belongs to the trace the workflow was
started in (the context stored with the execution), so that the workflow's trace shows who
completed its activity and when; it links to the caller's span, which the ``traceparent``
header names. Nothing is read for tracing while no tracer provider is configured.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

from tether import errors
from tether.engine import tracing
from tether.model.access import Access
from tether.service.state import engine_of

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

_GLOBAL = tracing.Tracer(None)


def attach(app: FastAPI, provider: TracerProvider | None) -> None:
    """Give the app's routes their tracer: of ``provider``, or of the global provider when None."""
    app.state.tracer = tracing.Tracer(provider) if provider is not None else _GLOBAL


def tracer_of(request: Request) -> tracing.Tracer:
    """The tracer of the app serving ``request``."""
    tracer: tracing.Tracer = getattr(request.app.state, "tracer", _GLOBAL)
    return tracer


def served(request: Request, operation: str, **attributes: str) -> contextlib.AbstractContextManager[object]:
    """The server span of a call, a child of the caller's span (``traceparent``), current while it is served."""
    named = {"tether.operation": operation, **{f"tether.{key.replace('_', '.')}": v for key, v in attributes.items()}}
    return tracer_of(request).span(
        f"tether {operation}", named, kind="server", parent=tracing.incoming(request.headers)
    )


_UNTRACED: contextlib.nullcontext[None] = contextlib.nullcontext()
"""What a call by token is served in while nothing is traced: nothing to read or record."""


def by_token(
    request: Request, operation: str, token: str, caller: Access
) -> contextlib.AbstractAsyncContextManager[None]:
    """The server span of a call by token: in the trace of the token's workflow, linked to the caller's span.

    A token the call will refuse (or a workflow started outside any trace) gives a span in the
    caller's trace instead.
    """
    tracer = tracer_of(request)
    if not tracer.enabled:
        return _UNTRACED
    return _by_token(tracer, request, operation, token, caller)


@contextlib.asynccontextmanager
async def _by_token(
    tracer: tracing.Tracer, request: Request, operation: str, token: str, caller: Access
) -> AsyncIterator[None]:
    caller_context = tracing.incoming(request.headers)
    try:
        found = await engine_of(request).trace_context_of_token(token, access=caller)
    except errors.TetherError:  # the call itself meets the store's failure, and reports it
        found = None
    attributes: dict[str, str | int | bool] = {"tether.operation": operation}
    parent, links = caller_context, []
    if found is not None:
        attributes["tether.execution.id"] = found[0]
        if found[1] is not None:
            parent, links = found[1], [caller_context] if caller_context is not None else []
    with tracer.span(f"tether {operation}", attributes, kind="server", parent=parent, links=links):
        yield
