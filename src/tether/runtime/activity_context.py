"""What activity code calls: its context, heartbeats, and going async."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from tether.errors import ActivityAlreadyClosed, ActivityCancelled, NotInActivity, UsageError
from tether.model import payloads
from tether.model.payloads import JSONValue


class _CompleteAsync(BaseException):  # a control-flow signal, not an error
    """Raised by make_async(); the worker records that the result will come by token."""

    def __init__(self, inbox: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.inbox = inbox
        """What ``ActivityContext.inbox`` asked the web UI's inbox to show, if it was called."""


@dataclass
class ActivityContext:
    """Facts about the running attempt, from ``tether.context()``."""

    token: str
    """Signed token of this attempt: give it to whoever completes, fails or heartbeats the activity."""
    attempt: int
    """1 for the first attempt."""
    checkpoint: JSONValue
    """Details of the last heartbeat of an earlier attempt, or None."""
    execution_id: str
    activity_id: int
    idempotency_key: str
    """The same on every attempt of this activity: pass it to services that deduplicate."""
    activity: str
    """The activity's name."""
    cancel_requested: bool = False
    """Set once a heartbeat learned that cancellation was requested."""
    _heartbeat: Callable[[Any], Awaitable[bool]] | None = field(default=None, repr=False)
    _inbox: dict[str, Any] | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _in_thread: bool = field(default=False, repr=False)

    def inbox(self, title: str, *, description: str = "", form: Any = None) -> None:
        """Ask a person to finish this attempt: once it goes async, the web UI's inbox lists it.

        Decided at run time, like going async itself (``@tether.activity(inbox=True)`` lists
        every attempt instead). ``form`` is a type (a pydantic model, say) whose fields the
        inbox's form shows; by default the activity's declared result type. Whatever the form
        sends is still checked against the declared result type.

        Raises:
            UsageError: the title is empty, or ``form`` is not a type pydantic can describe.
        """
        given: object = title
        if not isinstance(given, str) or not given.strip():
            raise UsageError("ActivityContext.inbox needs a title: what the person is asked to do")
        schema = None
        if form is not None:
            schema = payloads.schema_of(form)
            if schema is None:
                raise UsageError(f"form={form!r} is not a type whose fields the inbox can show")
        self._inbox = {"title": title.strip(), "description": str(description), "form_schema": schema}


_current: contextvars.ContextVar[ActivityContext] = contextvars.ContextVar("tether_activity")


def set_current(ctx: ActivityContext) -> contextvars.Token[ActivityContext]:
    """Install the context of the attempt about to run (the worker calls this)."""
    return _current.set(ctx)


def context() -> ActivityContext:
    """The context of the running activity attempt.

    Raises:
        NotInActivity: called outside an activity.
    """
    try:
        return _current.get()
    except LookupError:
        raise NotInActivity(
            "tether.context() called outside an activity; it is only available while an activity runs"
        ) from None


class HeartbeatCall:
    """The result of ``tether.heartbeat()``: await it in async activities.

    In a sync activity (run in a thread) the heartbeat has already been recorded when
    the call returns, and cancellation is raised right there; awaiting is not needed.
    """

    def __init__(self, future: asyncio.Future[bool] | None) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, None]:
        if self._future is None:
            return
        try:
            cancel = yield from self._future.__await__()
        except ActivityAlreadyClosed as closed:
            _closed(closed)
        if cancel:
            _cancelled()


def _cancelled(cause: BaseException | None = None) -> NoReturn:
    ctx = context()
    ctx.cancel_requested = True
    raise ActivityCancelled("cancellation of this activity was requested", attempt=ctx.attempt) from cause


def _closed(closed: ActivityAlreadyClosed) -> NoReturn:
    """A heartbeat found the activity closed: cancelled (its workflow closed, say) means stop, as a request would."""
    if closed.final_state == "cancelled":
        _cancelled(closed)
    raise closed


def heartbeat(details: JSONValue = None) -> HeartbeatCall:
    """Record that the activity is alive, with optional progress details (its checkpoint).

    Details are stored durably before the call returns; the next attempt receives the
    last ones as ``context().checkpoint``. Raises ActivityCancelled (when awaited, or at
    once in a sync activity) once cancellation of the activity was requested. A store
    that fails briefly is retried for about a third of a second first.

    Raises:
        NotInActivity: called outside an activity.
        ActivityCancelled: cancellation was requested, or the activity was cancelled meanwhile
            (its workflow closed).
        ActivityAlreadyClosed: the activity closed otherwise (timed out, completed by token).
        StoreUnavailable: the store stayed unavailable and these details were not recorded.
            The activity may go on and heartbeat again later, or let the error end the
            attempt, which is then retried from the last recorded checkpoint.
    """
    ctx = context()
    assert ctx._heartbeat is not None
    assert ctx._loop is not None
    if ctx._in_thread:
        try:
            cancel = asyncio.run_coroutine_threadsafe(_as_coroutine(ctx._heartbeat(details)), ctx._loop).result()
        except ActivityAlreadyClosed as closed:
            _closed(closed)
        if cancel:
            _cancelled()
        return HeartbeatCall(None)
    return HeartbeatCall(asyncio.ensure_future(ctx._heartbeat(details)))


async def _as_coroutine(awaitable: Awaitable[bool]) -> bool:
    return await awaitable


def make_async() -> NoReturn:
    """Declare that this attempt's result will come later, by token.

    Use as ``return tether.make_async()``; the worker frees the slot at once and the
    activity waits (bounded by its heartbeat and total timeouts) for
    ``complete_activity``, ``fail_activity`` or ``report_activity_cancelled``.

    Raises:
        NotInActivity: called outside an activity.
    """
    raise _CompleteAsync(context()._inbox)
