"""The @tether.activity and @tether.workflow decorators and what they return."""

from __future__ import annotations

import copy
import functools
import inspect
import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any, Generic, ParamSpec, TypeVar, overload

from typing_extensions import TypeVar as DefaultedTypeVar

from tether.errors import NotInWorkflow, UsageError
from tether.model import flow_control, notifications, payloads
from tether.model.clock import duration_ms
from tether.model.options import ActivityOptions, RetryPolicy

P = ParamSpec("P")
R = TypeVar("R")
C = DefaultedTypeVar("C", default=Any)
"""An activity's checkpoint type (of its heartbeat details): Any unless ``@tether.activity(checkpoint=...)`` says."""
K = TypeVar("K")

_activities: dict[str, Activity[..., Any]] = {}
_workflows: dict[str, Workflow[..., Any]] = {}


def positional_args(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    """The arguments of a call as a positional list (keywords folded in by the signature)."""
    if not kwargs:
        return list(args)
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        raise UsageError(f"bad arguments for {fn.__qualname__}: {exc}") from exc
    bound.apply_defaults()
    if bound.kwargs:
        raise UsageError(f"{fn.__qualname__} has keyword-only parameters; tether passes arguments by position")
    return list(bound.args)


class Activity(Generic[P, R, C]):
    """An activity: a function a workflow schedules, run by a worker, retried and timed out by policy.

    Inside a workflow, awaiting a call (``await charge(order)``) schedules it and waits for
    its result; :func:`tether.start_activity` schedules it at once and returns a handle.
    ``Activity[P, R]`` is its type (parameters ``P``, result ``R``); an activity that declares
    a checkpoint type ``C`` is an ``Activity[P, R, C]``. A client given the activity
    (``client.complete_activity(token, result, activity=act)``) checks results and heartbeat
    details against them, for mypy and at the call.
    """

    def __init__(
        self,
        fn: Callable[P, R] | Callable[P, Coroutine[Any, Any, R]],
        *,
        name: str | None,
        timeout: timedelta | None,
        attempt_timeout: timedelta | None,
        heartbeat: timedelta | None,
        retry: RetryPolicy | None,
        inbox: bool = False,
        checkpoint: Any = None,
        notify: str | Sequence[str] | None = None,
        overdue_after: timedelta | None = None,
        max_concurrent: int | None = None,
        rate_limit: str | None = None,
        priority: int | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__qualname__
        self.is_async = inspect.iscoroutinefunction(fn)
        self.param_types, self.return_type = payloads.type_hints(fn)
        for label, value in (
            ("timeout", timeout), ("attempt_timeout", attempt_timeout), ("heartbeat", heartbeat),
            ("overdue_after", overdue_after),
        ):  # fmt: skip
            if value is not None and value <= timedelta(0):
                raise UsageError(f"activity {self.name!r}: {label} must be positive")
        self.options = ActivityOptions(
            timeout_ms=duration_ms(timeout) if timeout is not None else None,
            attempt_timeout_ms=duration_ms(attempt_timeout) if attempt_timeout is not None else None,
            heartbeat_ms=duration_ms(heartbeat) if heartbeat is not None else None,
            retry=retry or RetryPolicy(),
            result_schema=payloads.schema_of(self.return_type),
            inbox=inbox,
            notify=notifications.check_urls(notify),
            overdue_after_ms=duration_ms(overdue_after) if overdue_after is not None else None,
            max_concurrent=flow_control.check_max_concurrent(max_concurrent, activity=self.name),
            rate_limit=None if rate_limit is None else _rate_text(rate_limit, self.name),
            priority=flow_control.check_priority(priority, what=f"activity {self.name!r}"),
        )
        self.checkpoint_type: Any = checkpoint
        """The declared type of its heartbeat details (``checkpoint=``), or None: any JSON value."""
        if checkpoint is not None and payloads.schema_of(checkpoint) is None:
            raise UsageError(f"activity {self.name!r}: checkpoint={checkpoint!r} is not a type pydantic can validate")
        self.options_json = self.options.to_json()
        """The options as every ActivityScheduled command carries them (shared: never change it)."""
        self.options_text = payloads.json_text(self.options_json)
        self.name_text = payloads.json_text(self.name)
        functools.update_wrapper(self, fn)
        _activities[self.name] = self

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """In a workflow: a coroutine that schedules this activity when awaited, and returns its result.

        Nothing is scheduled until the coroutine runs (awaited, or in a task that starts):
        a call never awaited schedules nothing.
        """
        coroutine: Coroutine[Any, Any, R] = _workflow_api().call_activity(self, args, kwargs)
        return coroutine

    def with_options(self, *, priority: int | None) -> Activity[P, R, C]:
        """This activity with another priority for the calls made through what it returns.

        ``await charge.with_options(priority=10)(order)`` in a workflow: that attempt (and its
        retries) is claimed before ready attempts of lower priority; ``priority=None`` takes
        the workflow's again. The name, code and every other option stay the same.

        Raises:
            UsageError: ``priority`` is not an int.
        """
        changed = copy.copy(self)
        options = ActivityOptions.from_json(
            {**self.options_json, "priority": flow_control.check_priority(priority, what=f"activity {self.name!r}")}
        )
        changed.options = options
        changed.options_json = options.to_json()
        changed.options_text = payloads.json_text(changed.options_json)
        return changed

    def encode_result(self, value: object) -> str:
        """The JSON text of a result of this activity, once it matches the declared return type.

        Raises:
            InvalidPayload: the value cannot be serialised, or does not match the type.
        """
        what = f"result of {self.name}"
        text = payloads.encode(value, what=what)
        if not payloads.as_is(value, self.return_type):
            payloads.decode(text, self.return_type, what=what)
        return text

    def encode_checkpoint(self, details: object) -> str | None:
        """The JSON text of heartbeat details (None: none given), once they match the declared checkpoint type.

        Raises:
            InvalidPayload: the details cannot be serialised, or do not match the type.
        """
        if details is None:
            return None
        what = f"heartbeat details of {self.name}"
        text = payloads.encode(details, what=what)
        if self.checkpoint_type is not None and not payloads.as_is(details, self.checkpoint_type):
            payloads.decode(text, self.checkpoint_type, what=what)
        return text

    def __repr__(self) -> str:
        return f"<tether activity {self.name!r}>"


_api: ModuleType | None = None


def _workflow_api() -> ModuleType:
    """The workflow API, imported on first use (it imports this module) and kept.

    An import statement in ``__call__`` went through importlib on every activity a workflow
    scheduled: about 10,000 instructions each time.
    """
    global _api
    if _api is None:
        from tether.runtime import workflow_api

        _api = workflow_api
    return _api


class Workflow(Generic[P, R]):
    """A workflow: an ``async def`` whose progress is durable; start it with a Client."""

    def __init__(
        self,
        fn: Callable[P, Coroutine[Any, Any, R]],
        *,
        name: str | None,
        timeout: timedelta | None = None,
        messages: Mapping[str, Any] | None = None,
    ) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise UsageError(f"workflow {fn.__qualname__} must be an async def function")
        self.fn = fn
        self.name = name or fn.__qualname__
        self.messages: dict[str, Any] = dict(messages or {})
        """The payload type of each message and request name it declares (others take any JSON value)."""
        self.message_schemas = _message_schemas(self.name, self.messages)
        """Their JSON Schemas as text, registered by workers so that senders anywhere are checked."""
        if timeout is not None and timeout <= timedelta(0):
            raise UsageError(f"workflow {self.name!r}: timeout must be positive")
        self.timeout_ms = duration_ms(timeout) if timeout is not None else None
        """The execution's deadline from its start (``timeout=``), in milliseconds; None: no deadline."""
        self.param_types, self.return_type = payloads.type_hints(fn)
        functools.update_wrapper(self, fn)
        _workflows[self.name] = self

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        """Workflows are started through a client, not called."""
        raise NotInWorkflow(f"workflow {self.name!r} cannot be called directly; start it with client.start_workflow")

    def __repr__(self) -> str:
        return f"<tether workflow {self.name!r}>"


class _ActivityDecorator(Generic[C]):
    def __init__(self, **options: Any) -> None:
        self._options = options

    @overload
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Activity[P, R, C]: ...
    @overload
    def __call__(self, fn: Callable[P, R], /) -> Activity[P, R, C]: ...
    def __call__(self, fn: Callable[P, Any], /) -> Activity[P, Any, C]:
        return Activity(fn, **self._options)


@overload
def activity(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Activity[P, R]: ...
@overload
def activity(fn: Callable[P, R], /) -> Activity[P, R]: ...
@overload
def activity(
    *,
    name: str | None = None,
    timeout: timedelta | None = None,
    attempt_timeout: timedelta | None = None,
    heartbeat: timedelta | None = None,
    retry: RetryPolicy | None = None,
    inbox: bool = False,
    checkpoint: None = None,
    notify: str | Sequence[str] | None = None,
    overdue_after: timedelta | None = None,
    max_concurrent: int | None = None,
    rate_limit: str | None = None,
    priority: int | None = None,
) -> _ActivityDecorator[Any]: ...
@overload
def activity(
    *,
    name: str | None = None,
    timeout: timedelta | None = None,
    attempt_timeout: timedelta | None = None,
    heartbeat: timedelta | None = None,
    retry: RetryPolicy | None = None,
    inbox: bool = False,
    checkpoint: type[K],
    notify: str | Sequence[str] | None = None,
    overdue_after: timedelta | None = None,
    max_concurrent: int | None = None,
    rate_limit: str | None = None,
    priority: int | None = None,
) -> _ActivityDecorator[K]: ...
def activity(
    fn: Callable[P, Any] | None = None,
    /,
    *,
    name: str | None = None,
    timeout: timedelta | None = None,
    attempt_timeout: timedelta | None = None,
    heartbeat: timedelta | None = None,
    retry: RetryPolicy | None = None,
    inbox: bool = False,
    checkpoint: Any = None,
    notify: str | Sequence[str] | None = None,
    overdue_after: timedelta | None = None,
    max_concurrent: int | None = None,
    rate_limit: str | None = None,
    priority: int | None = None,
) -> Activity[P, Any] | _ActivityDecorator[Any]:
    """Declare an activity, bare (``@tether.activity``) or with options.

    Args:
        fn: the function, sync (run in a thread pool) or async.
        name: the registered name; defaults to the function's qualified name.
        timeout: total time from first schedule to close, across all attempts.
        attempt_timeout: time one attempt may stay open.
        heartbeat: longest gap between heartbeats while an attempt is open, async waiting included.
        retry: how failed attempts are retried (default: :class:`RetryPolicy`).
        inbox: a person finishes it: the web UI's inbox lists its attempts while they wait
            (async), with a form built from its result type.
        checkpoint: the type of its heartbeat details (a pydantic model, a dataclass, ...):
            ``client.heartbeat_activity(token, details, activity=this)`` checks details
            against it, for mypy and at the call. The checkpoint an attempt receives is still
            the plain JSON of the last details.
        notify: a URL (or a list) told, by a signed POST, whenever an attempt starts waiting for
            its token (it went async), with the token, and again when the activity closes. Each
            URL must be registered as a sink (``tether sinks add URL``), whose secret signs
            what it gets; until then its notifications are held (see the README).
        overdue_after: how long an attempt may wait for its token (after ``make_async()``)
            before the overdue view (``tether activity list --overdue``, the web UI) lists it;
            stored with the activity, so a server without this code knows it. Activities that
            declare none are held to the viewer's ``--waiting-longer-than``.
        max_concurrent: attempts of this activity running their code at once, across every worker on
            the store. A slot is held from the attempt's claim until it returns, fails, times out
            or its worker stops renewing its lease; an attempt that went async (waiting for its
            token) holds none, since it runs no code. Attempts past the bound stay queued and
            start as slots free, in priority order.
        rate_limit: attempt starts across every worker on the store, at most so many in any
            sliding window: ``"10/s"``, ``"100/m"``, ``"1000/h"``. Retries count as starts.
        priority: the order of its ready attempts among others (higher first, first come first
            within a priority); None (default) takes the calling workflow's priority.
            ``act.with_options(priority=...)`` changes it for one call.

    Raises:
        UsageError: an option is out of range, or ``rate_limit`` is not a rate.
    """
    decorator: _ActivityDecorator[Any] = _ActivityDecorator(
        name=name, timeout=timeout, attempt_timeout=attempt_timeout, heartbeat=heartbeat, retry=retry, inbox=inbox,
        checkpoint=checkpoint, notify=notify, overdue_after=overdue_after, max_concurrent=max_concurrent,
        rate_limit=rate_limit, priority=priority,
    )  # fmt: skip
    return decorator if fn is None else decorator(fn)


def _rate_text(text: str, activity: str) -> str:
    """The rate limit as stored: checked, without spaces."""
    rate = flow_control.parse_rate(text, activity=activity)
    return f"{rate.count}/{text.strip()[-1]}"


def _message_schemas(workflow: str, messages: dict[Any, Any]) -> dict[str, str]:
    schemas: dict[str, str] = {}
    for name, annotation in messages.items():
        if not isinstance(name, str) or not name:
            raise UsageError(f"workflow {workflow!r}: message names must be non-empty strings, not {name!r}")
        schema = payloads.schema_of(annotation)
        if schema is not None:
            schemas[name] = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    return schemas


class _WorkflowDecorator:
    def __init__(self, name: str | None, timeout: timedelta | None, messages: Mapping[str, Any] | None) -> None:
        self._name = name
        self._timeout = timeout
        self._messages = messages

    def __call__(self, fn: Callable[P, Coroutine[Any, Any, R]], /) -> Workflow[P, R]:
        return Workflow(fn, name=self._name, timeout=self._timeout, messages=self._messages)


@overload
def workflow(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Workflow[P, R]: ...
@overload
def workflow(
    *, name: str | None = None, timeout: timedelta | None = None, messages: Mapping[str, Any] | None = None
) -> _WorkflowDecorator: ...
def workflow(
    fn: Callable[P, Coroutine[Any, Any, R]] | None = None,
    /,
    *,
    name: str | None = None,
    timeout: timedelta | None = None,
    messages: Mapping[str, Any] | None = None,
) -> Workflow[P, R] | _WorkflowDecorator:
    """Declare a workflow, bare (``@tether.workflow``) or with options.

    Args:
        fn: the ``async def`` function.
        name: the registered name; defaults to the function's qualified name.
        timeout: the execution ends as timed out (:class:`~tether.errors.WorkflowTimedOut`)
            this long after it started, closing its open activities and timers; a start
            may override it (``client.start_workflow(..., timeout=...)``).
        messages: the payload type of message and request names (``{"approver-added": Approver}``):
            ``send`` and ``request`` refuse a payload that does not match (InvalidPayload), and
            ``tether.receive`` returns it as that type. Names not listed take any JSON value.
    """
    decorator = _WorkflowDecorator(name, timeout, messages)
    return decorator if fn is None else decorator(fn)


def registered_workflow(name: str) -> Workflow[..., Any] | None:
    """The workflow of this name declared in this process, if any."""
    return _workflows.get(name)
