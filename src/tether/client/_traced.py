"""Client calls as spans: each transport operation runs inside a ``tether <operation>`` client span.

The wrapper is put around a transport only when opentelemetry-api is installed; without a
tracer provider configured its spans are the tracer's shared no-op. The HTTP transport sends
the span's context on (``traceparent``), and the embedded one stores it with the executions
it starts, so that the workflow's own spans join the caller's trace.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, cast

from tether.client._transport import Transport
from tether.engine import tracing

_EXECUTION_FIRST = frozenset({
    "start_workflow", "resume", "wait_for_result", "cancel_workflow", "terminate_workflow", "delete_workflow",
    "retry_activity_now", "describe", "history", "published", "send_message", "send_with_start", "request",
})  # fmt: skip
"""Operations whose first argument is an execution id (the span names it)."""
_UNTRACED = frozenset({"engine", "close"})


class TracedTransport:
    """Wraps a transport so that each of its operations is a client span (see the module's docstring)."""

    def __init__(self, inner: Transport, tracer: tracing.Tracer) -> None:
        self._inner = inner
        self._tracer = tracer

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name in _UNTRACED or name.startswith("_") or not callable(attribute):
            return attribute
        traced = self._traced(name, attribute)
        setattr(self, name, traced)  # made once: later calls find it without __getattr__
        return traced

    def _traced(self, operation: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        tracer = self._tracer
        name = f"tether {operation}"

        async def in_span(*args: Any, **kwargs: Any) -> Any:
            attributes: dict[str, str | int | bool] = {"tether.operation": operation}
            if operation in _EXECUTION_FIRST and args:
                attributes["tether.execution.id"] = str(args[0])
                if operation in ("start_workflow", "send_with_start") and len(args) > 1:
                    attributes["tether.workflow.name"] = str(args[1])
            with tracer.span(name, attributes, kind="client"):
                return await call(*args, **kwargs)

        @functools.wraps(call)
        def traced(*args: Any, **kwargs: Any) -> Awaitable[Any]:
            if not tracer.enabled:  # no span to make: the call's own awaitable, with no coroutine around it
                return call(*args, **kwargs)
            return in_span(*args, **kwargs)

        return traced


def wrap(transport: Transport, tracer: tracing.Tracer) -> Transport:
    """The transport whose calls are spans; the transport itself when opentelemetry is not installed."""
    if not tracing.available:
        return transport
    return cast(Transport, TracedTransport(transport, tracer))
