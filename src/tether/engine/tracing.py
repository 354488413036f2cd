"""OpenTelemetry spans of workflow tasks, activity attempts and calls, when ``opentelemetry-api`` is installed.

The package is an optional extra (``tether[otel]``) imported here only: without it, or
without a tracer provider configured (the global one is still the API's proxy), every span
is one shared object that does nothing, so the hot path pays a check and no more. Spans
observe and never decide: nothing tether does depends on them, and an error while tracing
is the tracing library's to report.

An execution's trace context (W3C ``traceparent`` and ``tracestate``) is stored with it, in
its WorkflowStarted event's ``trace``: the context current when it was started (a client's
call, a server's handling of one, the parent's for a child or a continued run). Its workflow
tasks and activity attempts are children of that span, and a call by token that another
service makes joins the trace through it (linking the caller's own span).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from tether.model.events import Event, EventType
from tether.store.base import Transaction

trace: Any  # the opentelemetry.trace module, or None without the extra (typed Any so that both check)
try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate
    from opentelemetry import trace as _trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the extra is not installed: every span is a no-op
    trace = None
else:
    trace = _trace

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

logger = logging.getLogger(__name__)

Carrier = dict[str, str]
"""A W3C trace context as text: ``traceparent`` and, when there is one, ``tracestate``."""

Kind = Literal["internal", "client", "server"]

_REMEMBERED = 10_000
"""Executions whose stored trace context a tracer keeps in memory, the oldest forgotten first."""

available = trace is not None
"""Whether opentelemetry-api can be imported."""

_W3C = TraceContextTextMapPropagator() if trace is not None else None
_UNREADABLE: Any = object()
_PROVIDER_IN_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
"""Whether the global provider is named by the environment (the API loads it on first use)."""
_GLOBAL_READABLE = trace is not None and hasattr(trace, "_TRACER_PROVIDER")
"""Whether the API keeps the global provider where :attr:`Tracer.enabled` reads it (None until one is set)."""


class SpanHandle:
    """What the code inside a span may say about it: attributes and failure (nothing when not tracing)."""

    __slots__ = ()

    def set(self, key: str, value: str | int | bool) -> None:
        """Set an attribute (a ``tether.`` name) on the span."""

    def fail(self, error: BaseException | str) -> None:
        """Mark the span as failed, recording the exception (or a description)."""


class _Nothing(contextlib.AbstractContextManager[SpanHandle]):
    """The span of a tracer that is off: one object, entered and left without work."""

    __slots__ = ()
    handle = SpanHandle()

    def __enter__(self) -> SpanHandle:
        return self.handle

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()
NOTHING_HANDLE = _Nothing.handle
"""The handle of a span that is not recorded, for code that runs outside any span."""
NOTHING: contextlib.AbstractContextManager[SpanHandle] = _NOTHING
"""The span of a tracer that is off, for callers that checked :attr:`Tracer.enabled` once already."""


class _Recording(SpanHandle):
    __slots__ = ("_span",)

    def __init__(self, span: Any) -> None:
        self._span = span

    def set(self, key: str, value: str | int | bool) -> None:
        self._span.set_attribute(key, value)

    def fail(self, error: BaseException | str) -> None:
        assert trace is not None
        if isinstance(error, BaseException):
            self._span.record_exception(error)
            error = f"{type(error).__name__}: {error}"
        self._span.set_status(trace.Status(trace.StatusCode.ERROR, error))


class Tracer:
    """Makes tether's spans from a tracer provider: the one given, else the global one as it is at each span.

    Reading the global provider at each span lets a program configure it after its worker
    or client was made; until it does, or without the package, spans cost a check.
    """

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self._provider = provider
        self._seen: object = None
        self._tracer: Any = None
        self._origins: dict[str, Origin] = {}
        self._global = provider is None and not _PROVIDER_IN_ENVIRONMENT and _GLOBAL_READABLE
        """Follows the global provider, whose unset state one attribute read tells."""

    def _otel(self) -> Any:
        """The OpenTelemetry tracer to use now, or None when spans would go nowhere."""
        if trace is None:
            return None
        provider = self._provider
        if provider is None:
            # The global provider as set_tracer_provider left it: get_tracer_provider() looks the
            # environment up on each call while none is set, which costs more than a whole span check.
            provider = getattr(trace, "_TRACER_PROVIDER", _UNREADABLE)
            if provider is None and not _PROVIDER_IN_ENVIRONMENT:
                return None
            if provider is None or provider is _UNREADABLE:
                provider = trace.get_tracer_provider()
        if provider is not self._seen:
            off = isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
            self._tracer = None if off else provider.get_tracer("tether", _version())
            self._seen = provider
        return self._tracer

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded somewhere (a provider is configured)."""
        if self._global and trace._TRACER_PROVIDER is None:
            return False  # the common case of no tracing, answered without a call
        return trace is not None and self._otel() is not None

    def span(
        self,
        name: str,
        attributes: Mapping[str, str | int | bool],
        *,
        kind: Kind = "internal",
        parent: Carrier | Literal["current"] | None = "current",
        links: Sequence[Carrier] = (),
    ) -> contextlib.AbstractContextManager[SpanHandle]:
        """A span named ``name``, current while the block runs; an exception escaping it marks it failed.

        Args:
            name: the span's name (``workflow task <name>``, ``activity <name>``, ``tether <operation>``).
            attributes: its attributes, under the ``tether.`` prefix.
            kind: whether it stands for work done here, a call made or a call served.
            parent: a stored trace context, None for a new trace, or "current" for the context current now.
            links: contexts of related spans in other traces (a caller's, for a call by token).
        """
        otel = self._otel()
        if otel is None:
            return _NOTHING
        return self._recording(otel, name, attributes, kind, parent, links)

    @contextlib.contextmanager
    def _recording(
        self,
        otel: Any,
        name: str,
        attributes: Mapping[str, str | int | bool],
        kind: Kind,
        parent: Carrier | Literal["current"] | None,
        links: Sequence[Carrier],
    ) -> Iterator[SpanHandle]:
        assert trace is not None
        if parent == "current":
            context = None
        elif parent is None:
            context = otel_context.Context()  # a root: not the caller's ambient span
        else:
            context = _extract(parent)
        linked = [trace.Link(c) for c in (_span_context(carrier) for carrier in links) if c.is_valid]
        span = otel.start_span(
            name, context=context, kind=_KINDS[kind], attributes=dict(attributes), links=linked,
            record_exception=False, set_status_on_exception=False,
        )  # fmt: skip
        handle = _Recording(span)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                yield handle
            except BaseException as exc:
                handle.fail(exc)
                raise

    def workflow_task(
        self, execution_id: str, workflow: str, events: Sequence[Event], *, fresh: bool, inline: bool
    ) -> contextlib.AbstractContextManager[SpanHandle]:
        """The span of one workflow task: a child of the execution's stored context (see :meth:`origin`).

        ``fresh``: the instance was made for this task (it replays the history ``events`` hold);
        ``inline``: the task runs inside the transition that queued it.
        """
        if self._otel() is None:
            return _NOTHING
        origin = self.origin(execution_id, events) or _UNKNOWN
        replayed = fresh and any(e.type == EventType.WORKFLOW_TASK_COMPLETED for e in events)
        attributes: dict[str, str | int | bool] = {
            "tether.execution.id": execution_id, "tether.workflow.name": workflow, "tether.workflow.run": origin.run,
            "tether.workflow_task.events": len(events), "tether.workflow_task.replayed": replayed,
            "tether.workflow_task.inline": inline,
        }  # fmt: skip
        return self.span(f"workflow task {workflow}", attributes, parent=origin.carrier)

    def attempt(
        self, execution_id: str, activity: str, activity_id: int, attempt: int
    ) -> contextlib.AbstractContextManager[SpanHandle]:
        """The span of one activity attempt, a child of the execution's stored context; its code runs inside it."""
        if self._otel() is None:
            return _NOTHING
        origin = self._origins.get(execution_id) or _UNKNOWN
        attributes: dict[str, str | int | bool] = {
            "tether.execution.id": execution_id, "tether.workflow.run": origin.run, "tether.activity.name": activity,
            "tether.activity.id": activity_id, "tether.activity.attempt": attempt,
        }  # fmt: skip
        return self.span(f"activity {activity}", attributes, parent=origin.carrier)

    def origin(self, execution_id: str, events: Sequence[Event] = ()) -> Origin | None:
        """Where an execution's spans hang: from its WorkflowStarted event when ``events`` start with it.

        Otherwise from memory (this tracer saw its start, or :meth:`learn` was told), or None.
        """
        if events and events[0].type == EventType.WORKFLOW_STARTED:
            return self.learn(execution_id, events[0].data)
        return self._origins.get(execution_id)

    def learn(self, execution_id: str, started: Mapping[str, Any] | None) -> Origin:
        """Remember an execution's origin from its WorkflowStarted data (None: it has none, or is gone)."""
        origin = _UNKNOWN if started is None else Origin(stored(started), int(started.get("run") or 1))
        if execution_id not in self._origins and len(self._origins) >= _REMEMBERED:
            # Threads (the store's, attempts') learn too: another may have changed the dict meanwhile.
            with contextlib.suppress(RuntimeError, KeyError, StopIteration):
                del self._origins[next(iter(self._origins))]
        self._origins[execution_id] = origin
        return origin

    def look_up(self, tx: Transaction, execution_id: str, events: Sequence[Event] = ()) -> None:
        """Inside a transition: read an execution's origin from the store, when tracing and not known yet."""
        if self._otel() is not None and self.origin(execution_id, events) is None:
            first = tx.first_event(execution_id)
            self.learn(execution_id, None if first is None else first.data)

    async def look_up_async(
        self,
        execution_id: str,
        read: Callable[[str], Awaitable[Mapping[str, Any] | None]],
        events: Sequence[Event] = (),
    ) -> None:
        """Read an execution's origin with ``read`` (its WorkflowStarted data), when tracing and not known yet.

        A read that fails leaves the spans without a parent: tracing never fails the work.
        """
        if self._otel() is not None and self.origin(execution_id, events) is None:
            try:
                started = await read(execution_id)
            except Exception:
                logger.debug("could not read the trace context of %s", execution_id, exc_info=True)
                return
            self.learn(execution_id, started)


class Origin(NamedTuple):
    """What an execution's spans hang off: the stored trace context (None: each is a root) and the run number."""

    carrier: Carrier | None
    run: int


_UNKNOWN = Origin(None, 1)


def current() -> Carrier | None:
    """The trace context current now, as text to store with an execution; None outside any span."""
    if trace is None:
        return None
    context = otel_context.get_current()
    if not context or not trace.get_current_span(context).get_span_context().is_valid:
        return None  # an empty context, the common case without tracing, is answered first
    assert _W3C is not None
    carrier: Carrier = {}
    _W3C.inject(carrier)
    return carrier or None


def stored(started: Mapping[str, Any]) -> Carrier | None:
    """The trace context a WorkflowStarted event's data carries, if any."""
    value = started.get("trace")
    if not isinstance(value, dict) or not isinstance(value.get("traceparent"), str):
        return None
    return {str(k): str(v) for k, v in value.items() if k in ("traceparent", "tracestate")}


def started_trace(tx: Transaction, execution_id: str) -> Carrier | None:
    """The trace context in an execution's WorkflowStarted event."""
    first = tx.first_event(execution_id)
    return None if first is None else stored(first.data)


def started_member(carrier: Carrier | None) -> str:
    """The WorkflowStarted data member that stores a trace context (JSON text after a comma; "" for none)."""
    return "" if carrier is None else f',"trace":{json.dumps(carrier, separators=(",", ":"))}'


def inject(headers: dict[str, str]) -> None:
    """Add the current context to an outgoing request's headers, with the configured propagators."""
    if trace is not None and trace.get_current_span().get_span_context().is_valid:
        propagate.inject(headers)


def incoming(headers: Mapping[str, str]) -> Carrier | None:
    """The W3C trace context an incoming request carries, if any."""
    parent = headers.get("traceparent")
    if trace is None or parent is None:
        return None
    carrier = {"traceparent": parent}
    if (state := headers.get("tracestate")) is not None:
        carrier["tracestate"] = state
    return carrier if _span_context(carrier).is_valid else None


def _extract(carrier: Carrier) -> Any:
    assert _W3C is not None
    return _W3C.extract(carrier)


def _span_context(carrier: Carrier) -> Any:
    assert trace is not None
    return trace.get_current_span(_extract(carrier)).get_span_context()


_KINDS: dict[str, Any] = (
    {"internal": trace.SpanKind.INTERNAL, "client": trace.SpanKind.CLIENT, "server": trace.SpanKind.SERVER}
    if trace is not None
    else {}
)


def _version() -> str:
    try:
        return importlib.metadata.version("tether")
    except importlib.metadata.PackageNotFoundError:
        return "0"
