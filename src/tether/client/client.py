"""The Client: one interface over the embedded store (and, later, other transports)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, TypeVarTuple, overload

from tether import errors
from tether.client import _embedded, _traced, encoded_transport
from tether.client._transport import Transport
from tether.client.activity_calls import ActivityCalls
from tether.client.messaging import MessagingCalls, timeout_seconds
from tether.client.schedules import ScheduleCalls
from tether.engine import tracing
from tether.engine.engine import Engine
from tether.errors import UsageError
from tether.model import codecs, flow_control, payloads, wire
from tether.model.clock import Clock, duration_ms
from tether.model.codecs import PayloadCodec
from tether.model.payloads import JSONValue
from tether.model.records import (
    HistoryEvent,
    WorkflowDescription,
    WorkflowStatus,
    WorkflowSummary,
)
from tether.runtime.definitions import Workflow, registered_workflow

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

R = TypeVar("R")
C = TypeVar("C")
Ts = TypeVarTuple("Ts")


class WorkflowHandle(Generic[R]):
    """A started execution: wait for its result, describe it, cancel it."""

    def __init__(self, client: Client, execution_id: str, workflow: Workflow[..., R] | None) -> None:
        self._client = client
        self.id = execution_id
        self._workflow = workflow

    async def result(self, *, timeout: float | None = None) -> R:
        """Wait for the execution to close and return its result.

        Raises:
            WorkflowFailed: the workflow raised; ``error`` names the failure.
            WorkflowCancelled: the workflow was cancelled.
            WorkflowTerminated: the execution was terminated (``reason`` says why).
            TimeoutError: ``timeout`` seconds passed first (the execution goes on).
            ExecutionNotFound: no execution has this id.
        """
        return await self._client._result(self, timeout)  # type: ignore[no-any-return]  # typed by the handle

    async def describe(self) -> WorkflowDescription:
        """The execution's status, outcome and pending activities."""
        return await self._client.describe(self.id)

    async def history(self) -> list[HistoryEvent]:
        """Every event of the execution."""
        return await self._client.history(self.id)

    async def cancel(self) -> None:
        """Request cancellation of the execution."""
        await self._client.cancel_workflow(self.id)

    async def terminate(self, *, reason: str = "") -> None:
        """Close the execution now, without running its code (see :meth:`Client.terminate`)."""
        await self._client.terminate(self.id, reason=reason)

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self.id!r}>"


class Client(MessagingCalls, ActivityCalls, ScheduleCalls):
    """Starts and inspects workflows, talks to them, and closes activities by token.

    Connect with :meth:`connect`; the URL chooses the transport (``sqlite:///path`` for the
    embedded store). Close it with ``await client.close()`` or ``async with``.
    """

    def __init__(
        self, transport: Transport, *, codec: PayloadCodec | None = None, tracer_provider: TracerProvider | None = None
    ) -> None:
        self.codec = codec
        """The codec this client encodes payloads with (``connect(codec=)``), if any; its workers use it too."""
        if codec is not None:
            transport = encoded_transport.EncodedTransport(transport, codec)
        self._transport = _traced.wrap(transport, tracing.Tracer(tracer_provider))

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        api_key: str | None = None,
        clock: Clock | None = None,
        create: bool = True,
        codec: PayloadCodec | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> Client:
        """Connect to a store or to a tether server; the same methods and errors either way.

        Args:
            url: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``
                (``?synchronous=NORMAL`` relaxes durability for speed) for the embedded store;
                ``postgresql://user:password@host:5432/dbname`` for a database that workers
                and clients on many machines share; ``http://host:port`` or ``https://...``
                for a tether server.
            api_key: the server's API key (``tether keys create``); not used by the embedded stores.
            clock: the clock of the embedded engine (tests pass a VirtualClock).
            create: create a SQLite file (and its folders) that does not exist yet. Pass
                false to only read or close what is there: a mistyped path then raises
                StoreNotFound instead of answering from a new, empty store.
            codec: encodes every payload this client sends (arguments, results, details,
                messages) and decodes those it reads back (results, replies, published
                values), e.g. :class:`tether.AesGcmCodec`; a Worker on this client uses it
                too. Descriptions and histories show payloads as stored (encoded).
            tracer_provider: where the spans of the client's calls go (OpenTelemetry, the ``otel``
                extra); default: the global provider, read at each call (none set: no spans).

        Raises:
            UsageError: the URL's scheme is not supported.
            StoreNotFound: ``create`` is false and the SQLite file does not exist.
            StoreUnavailable: the store cannot be opened.
        """
        transport: Transport
        if url.startswith(("sqlite:", "postgresql:", "postgres:")):
            transport = await _embedded.EmbeddedTransport.open(url, clock, create=create)
        elif url.startswith(("http://", "https://")):
            from tether.client import _http  # imported on use, like a database driver

            transport = _http.HttpTransport(url, api_key=api_key)
        else:
            scheme = url.split(":", 1)[0]
            raise UsageError(
                f"unsupported URL scheme {scheme!r}; use sqlite:///path/to/tether.db, postgresql://host/dbname "
                "or http://host:port of a tether server"
            )
        return cls(transport, codec=codec, tracer_provider=tracer_provider)

    async def close(self) -> None:
        """Release the store or connection."""
        await self._transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> Engine:
        """The engine of an embedded client, which workers run on."""
        return self._transport.engine

    # workflows

    @overload
    async def start_workflow(
        self,
        workflow: Callable[[*Ts], Coroutine[Any, Any, R]],
        *args: *Ts,
        id: str | None = None,
        timeout: timedelta | float | None = None,
        priority: int = 0,
    ) -> WorkflowHandle[R]: ...
    @overload
    async def start_workflow(
        self,
        workflow: str,
        *args: Any,
        id: str | None = None,
        timeout: timedelta | float | None = None,
        priority: int = 0,
    ) -> WorkflowHandle[Any]: ...
    async def start_workflow(  # type: ignore[misc]  # mypy cannot match *Ts against *args: Any
        self,
        workflow: Any,
        *args: Any,
        id: str | None = None,
        timeout: timedelta | float | None = None,
        priority: int = 0,
    ) -> WorkflowHandle[Any]:
        """Start an execution of ``workflow`` with positional arguments.

        ``id`` names the execution (a random one by default); starting the same id again
        returns the existing execution instead of starting a second one. ``timeout``
        (a timedelta or seconds) overrides the workflow's own (``@tether.workflow(timeout=...)``):
        the execution ends as timed out that long after it started. ``priority`` orders its
        ready workflow tasks and activity attempts before those of lower priority (first come
        first within one); its activities, children and later runs inherit it, unless an
        activity declares its own (``@tether.activity(priority=...)``, ``act.with_options(...)``).

        Raises:
            UnknownWorkflow: ``workflow`` is a name no worker or module registered.
            InvalidPayload: an argument cannot be serialised.
            ExecutionIdTaken: the id is taken by an execution of another workflow.
            UsageError: ``priority`` is not an int within the stores' range.
        """
        _check_priority(priority, what="start_workflow")
        execution_id = _execution_id(id)
        name, definition = await self._resolve(workflow)
        timeout_ms = _timeout_ms(timeout)
        if timeout_ms is None and definition is not None:
            timeout_ms = definition.timeout_ms
        text = payloads.encode_args(list(args), what="workflow arguments")
        await self._transport.start_workflow(
            execution_id, name, text, known=definition is not None, timeout_ms=timeout_ms,
            timeout_known=definition is not None or timeout_ms is not None, priority=priority, new_id=id is None,
        )  # fmt: skip
        return WorkflowHandle(self, execution_id, definition)

    @overload
    async def send_with_start(
        self,
        workflow: Callable[[*Ts], Coroutine[Any, Any, R]],
        *args: *Ts,
        id: str,
        message: str,
        payload: JSONValue = None,
        key: str | None = None,
        timeout: timedelta | float | None = None,
        priority: int = 0,
    ) -> WorkflowHandle[R]: ...
    @overload
    async def send_with_start(
        self,
        workflow: str,
        *args: Any,
        id: str,
        message: str,
        payload: JSONValue = None,
        key: str | None = None,
        timeout: timedelta | float | None = None,
        priority: int = 0,
    ) -> WorkflowHandle[Any]: ...
    async def send_with_start(  # type: ignore[misc]  # mypy cannot match *Ts against *args: Any
        self,
        workflow: Any,
        *args: Any,
        id: str,
        message: str,
        payload: JSONValue = None,
        key: str | None = None,
        timeout: timedelta | float | None = None,
        priority: int = 0,
    ) -> WorkflowHandle[Any]:
        """Start execution ``id`` of ``workflow`` unless it exists, then send it ``message``: one transaction.

        Either both happen or neither does; the message is the first the new execution can
        receive. ``key`` and the refusals are those of :meth:`send`; ``timeout`` and ``priority``
        are those of :meth:`start_workflow` (an existing execution keeps its own).

        Raises:
            ExecutionIdTaken: the id belongs to an execution of another workflow; nothing is sent.
            ExecutionClosed: the execution exists and is closed; nothing is sent.
            UsageError: ``priority`` is not an int within the stores' range; nothing is sent.
        """
        _check_priority(priority, what="send_with_start")
        execution_id = _execution_id(id, required=True)
        name, definition = await self._resolve(workflow)
        timeout_ms = _timeout_ms(timeout)
        if timeout_ms is None and definition is not None:
            timeout_ms = definition.timeout_ms
        text = payloads.encode_args(list(args), what="workflow arguments")
        body = payloads.encode(payload, what="payload")
        await self._transport.send_with_start(
            execution_id, name, text, (message, body, key), known=definition is not None, timeout_ms=timeout_ms,
            timeout_known=definition is not None or timeout_ms is not None, priority=priority,
        )  # fmt: skip
        return WorkflowHandle(self, execution_id, definition)

    async def _resolve(self, workflow: object) -> tuple[str, Workflow[..., Any] | None]:
        """The name of the workflow a start names, and its definition when this process holds it."""
        if isinstance(workflow, Workflow):
            return workflow.name, workflow
        if isinstance(workflow, str):
            definition = registered_workflow(workflow)
            if definition is None and not await self._transport.is_known_workflow(workflow):
                raise errors.UnknownWorkflow(workflow)
            return workflow, definition
        raise UsageError(f"{workflow!r} is not a workflow; decorate it with @tether.workflow")

    def get_handle(self, execution_id: str) -> WorkflowHandle[Any]:
        """A handle on an existing execution (its result comes back as plain JSON values)."""
        return WorkflowHandle(self, execution_id, None)

    async def _result(self, handle: WorkflowHandle[Any], timeout: float | None) -> Any:
        status, result, error, workflow = await self._transport.wait_for_result(handle.id, timeout)
        if status == WorkflowStatus.RUNNING:
            raise TimeoutError(f"execution {handle.id!r} is still running")
        if status == WorkflowStatus.CANCELLED:
            raise errors.WorkflowCancelled(f"execution {handle.id!r} was cancelled")
        if status == WorkflowStatus.TERMINATED:
            reason = (error or {}).get("message", "")
            raise errors.WorkflowTerminated(f"execution {handle.id!r} was terminated: {reason}", reason=reason)
        if status == WorkflowStatus.TIMED_OUT:
            raise errors.WorkflowTimedOut(f"execution {handle.id!r} passed its deadline")
        if status == WorkflowStatus.FAILED:
            fault = error or {}
            raise errors.WorkflowFailed(
                fault.get("message", ""), error=fault.get("error", "WorkflowFailed"), details=fault.get("details")
            )
        definition = handle._workflow or registered_workflow(workflow)
        annotation = definition.return_type if definition is not None else Any
        if result is not None and codecs.ENVELOPE in result:  # encoded, and this client has no codec
            result = codecs.decode_text(None, result)
        return payloads.decode(result, annotation, what=f"result of {handle.id}")

    async def cancel_workflow(self, execution_id: str) -> None:
        """Request cancellation: open activities and timers are cancelled and the workflow ends as cancelled.

        Raises:
            ExecutionNotFound: no execution has this id.
        """
        await self._transport.cancel_workflow(execution_id)

    async def terminate(self, execution_id: str, *, reason: str = "") -> None:
        """Close a running execution now, without running its code; its status becomes terminated.

        Its open activities end cancelled (their tokens are refused from now on, as
        ActivityAlreadyClosed) and its timers are dropped; ``handle.result()`` raises
        WorkflowTerminated carrying ``reason``.

        Raises:
            ExecutionNotFound: no execution has this id.
            ExecutionClosed: the execution closed already; nothing changed.
            PermissionDenied: the API key may not write to this workflow.
            InvalidPayload: the reason is not a string of at most 2,000 characters.
        """
        given: object = reason
        if not isinstance(given, str) or len(given) > wire.MAX_REASON_LENGTH:
            raise errors.InvalidPayload(
                f"reason must be a string of at most {wire.MAX_REASON_LENGTH} characters",
                errors=[{"loc": ["reason"], "msg": "invalid"}],
            )
        await self._transport.terminate_workflow(execution_id, reason)

    async def delete(self, execution_id: str) -> None:
        """Delete a closed execution and everything it has (history, activities, timers); the id may be reused.

        Raises:
            ExecutionNotFound: no execution has this id.
            ExecutionNotClosed: the execution still runs (cancel or terminate it first); nothing changed.
            PermissionDenied: the API key may not write to this workflow.
        """
        await self._transport.delete_workflow(execution_id)

    async def retry_activity_now(self, execution_id: str, activity_id: int) -> int:
        """Skip an activity's retry back-off: its next attempt starts now. Returns that attempt's number.

        Raises:
            ExecutionNotFound: no execution has this id (ActivityNotFound: it has no such activity).
            ActivityNotInBackoff: the activity waits for no retry (``state`` names where it is); nothing changed.
            PermissionDenied: the API key may not write to this workflow.
            InvalidPayload: ``activity_id`` is not a positive integer.
        """
        given: object = activity_id
        if not isinstance(given, int) or isinstance(given, bool) or not 1 <= given <= 2**53:
            raise errors.InvalidPayload(
                "activity_id must be a positive integer", errors=[{"loc": ["activity_id"], "msg": "invalid"}]
            )
        return await self._transport.retry_activity_now(execution_id, activity_id)

    async def resume(self, execution_id: str, *, timeout: timedelta | float | None = None) -> None:
        """Run a failed, timed-out or terminated execution again from where it stopped.

        Completed activities and fired timers are not repeated; the activities its close
        ended, and the one whose failure failed it, run again with a fresh set of attempts;
        the workflow code (the current code) continues from its history. ``timeout`` sets a
        new workflow deadline from now; without it the execution has none.

        Raises:
            ExecutionNotFound: no execution has this id.
            ExecutionNotResumable: it runs, completed, was cancelled or continued (nothing changes).
        """
        await self._transport.resume(execution_id, _timeout_ms(timeout))

    async def describe(self, execution_id: str, *, run: int | None = None) -> WorkflowDescription:
        """Status, result or error, and pending activities of an execution.

        An execution that continued as new is described by its latest run, or by run
        number ``run`` (1 is the first).

        Raises:
            ExecutionNotFound: no execution has this id (or no such run).
        """
        return await self._transport.describe(execution_id, run)

    async def history(self, execution_id: str, *, run: int | None = None) -> list[HistoryEvent]:
        """Every event of an execution, every attempt included (of its latest run, or of run number ``run``).

        Raises:
            ExecutionNotFound: no execution has this id (or no such run).
        """
        return await self._transport.history(execution_id, run)

    async def list_workflows(
        self,
        *,
        status: WorkflowStatus | str | None = None,
        workflow: str | None = None,
        limit: int = 100,
        offset: int = 0,
        id_prefix: str | None = None,
    ) -> list[WorkflowSummary]:
        """Executions, newest first, optionally of one status or workflow name, or whose id starts with a prefix."""
        if status is not None:
            try:
                status = WorkflowStatus(status)
            except ValueError:
                raise UsageError(f"status must be one of {[s.value for s in WorkflowStatus]}") from None
        if not 1 <= limit <= wire.MAX_LIST_OFFSET or not 0 <= offset <= wire.MAX_LIST_OFFSET:
            raise UsageError(f"limit must be from 1 and offset from 0, both up to {wire.MAX_LIST_OFFSET:,}")
        return await self._transport.list_workflows(
            status=None if status is None else status.value, workflow=workflow, limit=limit, offset=offset,
            id_prefix=id_prefix or None,
        )  # fmt: skip


def _execution_id(given: object, *, required: bool = False) -> str:
    if (given is None and required) or (given is not None and (not isinstance(given, str) or not given)):
        raise UsageError("id must be a non-empty string")
    return given if isinstance(given, str) else uuid.uuid4().hex


def _check_priority(priority: object, *, what: str) -> None:
    if type(priority) is int and not priority:  # the default 0 needs no check
        return
    if priority is None:  # an activity's None takes its workflow's; an execution has no such fallback
        raise UsageError(f"{what}: priority must be an int between -2**31 and 2**31, not None")
    flow_control.check_priority(priority, what=what)


def _timeout_ms(timeout: timedelta | float | None) -> int | None:
    seconds = timeout_seconds(timeout, positive=True)
    if seconds is None:
        return None
    ms = duration_ms(seconds)
    if ms <= 0:
        raise UsageError("timeout must be positive and at most a century")
    return ms
