"""What activity code calls: its context, heartbeats, and going async."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NoReturn

from tether.errors import ActivityAlreadyClosed, ActivityCancelled, NotInActivity, Refused, UsageError
from tether.model import callback_tokens, notifications, payloads
from tether.model.callback_tokens import CallbackAction
from tether.model.clock import duration_ms
from tether.model.payloads import JSONValue

NO_PUBLIC_URL = (
    "callback URLs need the public base URL third parties reach the tether server at; give the worker one: "
    "Worker(..., public_url='https://tether.example.com'), `tether worker --public-url URL` or "
    "`tether server --public-url URL` (or set TETHER_PUBLIC_URL)"
)


class _CompleteAsync(BaseException):  # a control-flow signal, not an error
    """Raised by make_async(); the worker records that the result will come by token."""

    def __init__(self, inbox: dict[str, Any] | None = None, notify: tuple[tuple[str, str | None], ...] = ()) -> None:
        super().__init__()
        self.inbox = inbox
        """What ``ActivityContext.inbox`` asked the web UI's inbox to show, if it was called."""
        self.notify = notify
        """The URLs ``ActivityContext.notify`` asked to tell, each with its data as JSON text."""


@dataclass
class ActivityContext:
    """Facts about the running attempt, from ``tether.context()``."""

    token: str
    """Signed token of this attempt: give it to whoever completes, fails or heartbeats the activity.

    Refused as stale once this attempt is over; ``activity_token`` outlives it."""
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
    _sign_activity_token: Callable[[], str] | None = field(default=None, repr=False)
    _activity_token: str | None = field(default=None, repr=False)
    _inbox: dict[str, Any] | None = field(default=None, repr=False)
    _notify: dict[str, str | None] = field(default_factory=dict, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _last_beat: asyncio.Future[bool] | None = field(default=None, repr=False)
    """The heartbeat sent last (on the event loop); each waits for the one before, so the last details win."""
    _over: Refused | None = field(default=None, repr=False)
    """Set by the worker once this attempt is over (it timed out, say): what its heartbeats raise from then on."""
    _callback_url: Callable[[CallbackAction, int | None], str] | None = field(default=None, repr=False)
    """Makes a callback URL of this attempt (action, expiry in ms from now); None when the worker has no public URL."""

    def callback_url(self, action: CallbackAction = "complete", *, expires: timedelta | float | None = None) -> str:
        """A URL that completes (or, with ``action="fail"``, fails) this attempt when POSTed to, with no API key.

        Hand it to a third party that calls back (a payment provider's webhook, an ML API):
        the signed token in the URL is the capability, so treat the URL as a secret. A
        complete URL takes the result as its JSON body (checked against the declared result
        type); a fail URL takes ``{"error", "message", "details", "non_retryable"}``. Either
        answers ``{"recorded": bool}`` and is refused exactly as the same call by token
        (``StaleToken`` once this attempt is over, ``ActivityAlreadyClosed`` once the
        activity closed otherwise, the same call repeated is acknowledged with
        ``recorded: false``); an altered URL gets HTTP 400 and, with ``expires`` (a timedelta
        or seconds from now, on the worker's clock), a URL used too late gets 410
        (``CallbackExpired``). Usually followed by ``return tether.make_async()``.

        Raises:
            UsageError: the worker has no public URL, ``action`` is neither "complete" nor
                "fail", or ``expires`` is not a positive duration.
        """
        if not callback_tokens.is_action(action):
            raise UsageError(f'action must be "complete" or "fail", not {action!r}')
        expires_ms = None
        if expires is not None:
            if isinstance(expires, bool) or not isinstance(expires, timedelta | int | float):
                raise UsageError(f"expires must be a timedelta or seconds, not {expires!r}")
            try:
                expires_ms = duration_ms(expires)
            except (ValueError, OverflowError):  # NaN, infinity
                expires_ms = 0
            if expires_ms <= 0:
                raise UsageError(f"expires must be a positive duration, not {expires!r}")
        if self._callback_url is None:
            raise UsageError(NO_PUBLIC_URL)
        return self._callback_url(action, expires_ms)

    @property
    def activity_token(self) -> str:
        """Signed token of the activity, not of one attempt: it acts on whichever attempt is current.

        It completes, fails, heartbeats or describes the activity, and still works after this
        attempt was retried (a link in an e-mail, say). During a retry's back-off it may
        complete the activity (the retry is dropped) or fail it for good; a heartbeat needs an
        open attempt (NoAttemptOpen). The same on every attempt of the activity.
        """
        if self._activity_token is None:
            if self._sign_activity_token is None:
                raise NotInActivity("this context was not made by a worker; it has no activity token")
            self._activity_token = self._sign_activity_token()
        return self._activity_token

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

    def notify(self, url: str | Sequence[str], *, data: JSONValue = None) -> None:
        """Tell ``url`` (or each of a list) once this attempt goes async that it waits for its token.

        The notification is a signed POST sent by a worker after the attempt went async
        (``return tether.make_async()``), at least once, with the activity's token, arguments
        and deadlines, and ``data`` (any JSON value) under ``"data"``; when the activity
        closes, the URL is told how. Nothing is sent if the attempt does not go async. Like
        ``@tether.activity(notify=...)``, each URL must be registered as a sink (``tether sinks
        add URL``); until then its notifications are held.

        Raises:
            UsageError: a URL is not an absolute http(s) URL, or ``data`` is not JSON.
        """
        text = None if data is None else payloads.encode(data, what="notification data")
        for checked in notifications.check_urls(url):
            self._notify[checked] = text

    async def wait_for_heartbeats(self) -> None:
        """Return once every heartbeat sent so far was recorded or refused (the worker calls this on the loop).

        Run before an attempt's outcome is recorded, so that details given to a heartbeat
        the activity did not await are stored first. What they raised stays with them.
        """
        last = self._last_beat
        if last is not None and not last.done():
            await asyncio.wait([last])

    def _send(self, details: Any) -> asyncio.Future[bool]:
        """Send a heartbeat after those sent before it; on the event loop."""
        assert self._heartbeat is not None
        beat = asyncio.ensure_future(_after(self._last_beat, self._heartbeat, details))
        # An activity need not await its heartbeat: what a heartbeat nobody awaits raised
        # (a refusal once the attempt is over) must not be reported as never retrieved.
        beat.add_done_callback(_retrieve)
        self._last_beat = beat
        return beat


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

    Off the event loop (a sync activity, or a thread an async activity uses) the heartbeat
    has already been recorded when the call returns, and cancellation is raised right
    there; awaiting is not needed.
    """

    def __init__(self, future: asyncio.Future[bool] | None) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, None]:
        if self._future is None:
            return
        try:
            cancel = yield from self._future.__await__()
        except ActivityAlreadyClosed as closed:
            _closed(context(), closed)
        if cancel:
            _cancelled(context())


def _cancelled(ctx: ActivityContext, cause: BaseException | None = None) -> NoReturn:
    ctx.cancel_requested = True
    raise ActivityCancelled("cancellation of this activity was requested", attempt=ctx.attempt) from cause


def _closed(ctx: ActivityContext, closed: ActivityAlreadyClosed) -> NoReturn:
    """A heartbeat found the activity closed: cancelled (its workflow closed, say) means stop, as a request would."""
    if closed.final_state == "cancelled":
        _cancelled(ctx, closed)
    raise closed


def heartbeat(details: JSONValue = None) -> HeartbeatCall:
    """Record that the activity is alive, with optional progress details (its checkpoint).

    Details are stored durably before the call returns (when awaited, in async code); the
    next attempt receives the last ones as ``context().checkpoint``. Heartbeats are
    recorded in the order they were made, and every one made before the activity returns
    or raises is recorded before its outcome, awaited or not. Works from any thread the
    activity uses, provided the thread carries the activity's context (``asyncio.to_thread``
    and ``contextvars.copy_context().run`` do): off the event loop the call returns once
    the heartbeat is recorded. A store that fails briefly is retried for about a third of
    a second first.

    Raises:
        NotInActivity: called outside an activity.
        ActivityCancelled: cancellation was requested (when awaited, or at once off the event loop).
        StaleToken: this attempt is over: it timed out (its heartbeat or attempt timeout
            passed), or its token was used to fail it. Stop: whatever the activity returns
            or raises from now on is dropped, and its retry may already run. (An async
            activity's task is cancelled when its attempt times out.)
        ActivityAlreadyClosed: the activity closed (it timed out in total, or its token
            was used to complete or fail it): stop, as for StaleToken. An activity that
            was cancelled meanwhile (its workflow closed, say) raises ActivityCancelled.
        StoreUnavailable: the store stayed unavailable and these details were not recorded.
            The activity may go on and heartbeat again later, or let the error end the
            attempt, which is then retried from the last recorded checkpoint.
    """
    ctx = context()
    if ctx._over is not None:
        if isinstance(ctx._over, ActivityAlreadyClosed):
            _closed(ctx, ctx._over.with_traceback(None))
        raise ctx._over.with_traceback(None)
    loop = ctx._loop
    assert loop is not None
    if _running_loop() is loop:
        return HeartbeatCall(ctx._send(details))
    # Another thread (a sync activity's, or one an async activity handed work to): send
    # from the loop, in order with the rest, and wait for the answer here.
    try:
        cancel = asyncio.run_coroutine_threadsafe(_sent(ctx, details), loop).result()
    except ActivityAlreadyClosed as closed:
        _closed(ctx, closed)
    if cancel:
        _cancelled(ctx)
    return HeartbeatCall(None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _sent(ctx: ActivityContext, details: Any) -> bool:
    return await ctx._send(details)


async def _after(previous: asyncio.Future[bool] | None, send: Callable[[Any], Awaitable[bool]], details: Any) -> bool:
    if previous is not None and not previous.done():
        await asyncio.wait([previous])
    return await send(details)


def _retrieve(beat: asyncio.Future[bool]) -> None:
    if not beat.cancelled():
        beat.exception()


def make_async() -> NoReturn:
    """Declare that this attempt's result will come later, by token.

    Use as ``return tether.make_async()``; the worker frees the slot at once and the
    activity waits (bounded by its heartbeat and total timeouts) for
    ``complete_activity``, ``fail_activity`` or ``report_activity_cancelled``.

    Raises:
        NotInActivity: called outside an activity.
    """
    ctx = context()
    raise _CompleteAsync(ctx._inbox, tuple(ctx._notify.items()))
