"""Runs one activity attempt in the worker and reports how it ended."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any

from tether import errors
from tether.engine import tracing
from tether.engine.activities import AttemptOutcome
from tether.engine.activity_starts import AttemptStart
from tether.engine.engine import Engine
from tether.model import callback_tokens, payloads
from tether.model.callback_tokens import CallbackAction, CallbackClaims
from tether.model.codecs import PayloadCodec
from tether.model.events import failure
from tether.model.tokens import TokenClaims
from tether.runtime import activity_context
from tether.runtime.definitions import Activity
from tether.worker import attempt_payloads, back_off
from tether.worker.running_attempts import Running, RunningAttempts, ids

logger = logging.getLogger(__name__)

_REPORT_TRIES = 20
"""About a minute of retries (back-off up to 5 s) before an outcome is given up."""

_HEARTBEAT_TRIES = 4
"""Tries of an in-process heartbeat over about 0.35 s before the store's error reaches the activity."""


async def run_attempt(
    engine: Engine,
    activity: Activity[..., Any],
    attempt: Running,
    executor: Executor,
    running: RunningAttempts,
    public_base: str | None = None,
    codec: PayloadCodec | None = None,
    tracer: tracing.Tracer | None = None,
) -> None:
    """Run the attempt and record its outcome: a result, a failure, async, or cancelled.

    The outcome of an attempt stopped meanwhile (see :meth:`RunningAttempts.stop`) is
    dropped, and so is a report refused because the attempt is over (it timed out, or its
    token was used meanwhile): the engine has already decided. The attempt's code runs
    inside its span, which says how it ended.
    """
    start = attempt.start
    claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
    tracer = tracer or _UNTRACED
    if not tracer.enabled:  # checked once: an untraced attempt pays this and enters no span
        outcome = await _call_here(engine, activity, attempt, executor, running, public_base, codec)
        recorded = _to_record(attempt, running)
    else:
        await tracer.look_up_async(start.execution_id, engine.started_data)
        with tracer.attempt(start.execution_id, start.name, start.activity_id, start.attempt) as span:
            outcome = await _call_here(engine, activity, attempt, executor, running, public_base, codec)
            recorded = _to_record(attempt, running)
            _describe(span, outcome, None if recorded else attempt.over)
    if recorded:
        if codec is not None:
            outcome = attempt_payloads.encoded_outcome(outcome, codec)
        await _record(functools.partial(engine.record_attempt, claims, outcome), attempt.log)


async def _call_here(
    engine: Engine,
    activity: Activity[..., Any],
    attempt: Running,
    executor: Executor,
    running: RunningAttempts,
    public_base: str | None,
    codec: PayloadCodec | None,
) -> AttemptOutcome:
    """Run the attempt's code from the event loop; how it ended."""
    ctx: activity_context.ActivityContext | None = None
    try:
        start = attempt_payloads.decoded_start(attempt.start, codec)  # its code never sees an envelope
        ctx = _context(engine, activity, attempt, start, asyncio.get_running_loop(), running, public_base, codec)
        args = payloads.decode_args(start.args, activity.param_types, what=f"arguments of {activity.name}")
        result = await _call(activity, ctx, args, executor)
        await ctx.wait_for_heartbeats()  # its last details are stored before its outcome
        return _completed(activity, result)
    except BaseException as exc:
        if ctx is not None and isinstance(exc, Exception | activity_context._CompleteAsync):
            await ctx.wait_for_heartbeats()
        return _ended(exc)


def run_in_thread(
    engine: Engine,
    activity: Activity[..., Any],
    attempt: Running,
    loop: asyncio.AbstractEventLoop,
    running: RunningAttempts,
    public_base: str | None = None,
    codec: PayloadCodec | None = None,
    tracer: tracing.Tracer | None = None,
) -> AttemptOutcome | None:
    """Run a sync activity's attempt on this worker thread; returns the outcome to record, if any.

    None means the attempt was stopped meanwhile. The caller records the outcome with
    ``engine.record_attempt_in_thread`` and hands errors of that to :func:`recording_failed`.
    """
    start = attempt.start
    tracer = tracer or _UNTRACED
    if not tracer.enabled:  # checked once: an untraced step pays this and enters no span
        outcome = _call_in_thread(engine, activity, attempt, loop, running, public_base, codec)
        recorded = _to_record(attempt, running)
    else:
        if tracer.origin(start.execution_id) is None:
            with contextlib.suppress(RuntimeError):  # the event loop closed: the worker is gone
                asyncio.run_coroutine_threadsafe(
                    tracer.look_up_async(start.execution_id, engine.started_data), loop
                ).result()
        with tracer.attempt(start.execution_id, start.name, start.activity_id, start.attempt) as span:
            outcome = _call_in_thread(engine, activity, attempt, loop, running, public_base, codec)
            recorded = _to_record(attempt, running)
            _describe(span, outcome, None if recorded else attempt.over)
    if not recorded:
        return None
    return outcome if codec is None else attempt_payloads.encoded_outcome(outcome, codec)


def _call_in_thread(
    engine: Engine,
    activity: Activity[..., Any],
    attempt: Running,
    loop: asyncio.AbstractEventLoop,
    running: RunningAttempts,
    public_base: str | None,
    codec: PayloadCodec | None,
) -> AttemptOutcome:
    """Run the attempt's code on this thread; how it ended."""
    ctx: activity_context.ActivityContext | None = None
    try:
        start = attempt_payloads.decoded_start(attempt.start, codec)  # its code never sees an envelope
        ctx = _context(engine, activity, attempt, start, loop, running, public_base, codec)
        args = payloads.decode_args(start.args, activity.param_types, what=f"arguments of {activity.name}")
        context = contextvars.copy_context()
        context.run(activity_context.set_current, ctx)
        result = context.run(activity.fn, *args)
        _wait_for_heartbeats(ctx, loop)
        return _completed(activity, result)
    except BaseException as exc:
        if ctx is not None and isinstance(exc, Exception | activity_context._CompleteAsync):
            _wait_for_heartbeats(ctx, loop)
        return _ended(exc)


_UNTRACED = tracing.Tracer(None)
"""For callers that give no tracer: the global provider's spans, if one is set."""

_OUTCOMES = {"completed": "completed", "failed": "failed", "went_async": "async", "cancelled": "cancelled"}


def _describe(span: tracing.SpanHandle, outcome: AttemptOutcome, over: errors.Refused | None) -> None:
    """Say on an attempt's span how it ended: its outcome, or why the attempt was over before it (timeout)."""
    if over is not None:
        timed_out = isinstance(over, errors.StaleToken) or "timed_out" in str(getattr(over, "final_state", ""))
        span.set("tether.activity.outcome", "timeout" if timed_out else "over")
        span.fail(over)
        return
    span.set("tether.activity.outcome", _OUTCOMES[outcome.kind])
    if outcome.kind == "failed" and outcome.fault is not None:
        span.fail(f"{outcome.fault.get('error')}: {outcome.fault.get('message')}")


def _to_record(attempt: Running, running: RunningAttempts) -> bool:
    """Whether the outcome of an attempt whose code ended is to be recorded: not if it was stopped meanwhile."""
    if running.report(attempt):
        return True
    logger.info("outcome of an attempt that was over dropped: %s", attempt.over, extra=attempt.log)
    return False


def _wait_for_heartbeats(ctx: activity_context.ActivityContext, loop: asyncio.AbstractEventLoop) -> None:
    """From the attempt's thread: wait for heartbeats still on their way (sent by threads the activity started)."""
    last = ctx._last_beat
    if last is not None and not last.done():
        with contextlib.suppress(RuntimeError):  # the event loop closed: the worker is gone
            asyncio.run_coroutine_threadsafe(ctx.wait_for_heartbeats(), loop).result()


def recording_failed(
    engine: Engine,
    start: AttemptStart,
    outcome: AttemptOutcome,
    error: BaseException,
    loop: asyncio.AbstractEventLoop,
) -> concurrent.futures.Future[None] | None:
    """Deal with an outcome recorded from a thread that the store did not take.

    A refusal (the attempt is over) drops the outcome. When the store is unavailable the
    outcome goes to the event loop, to be retried there as :func:`run_attempt` does;
    the future returned settles when that is over.
    """
    if isinstance(error, errors.ActivityAlreadyClosed | errors.StaleToken):
        logger.info("attempt outcome dropped: %s", error, extra=ids(start))
        return None
    if not isinstance(error, errors.StoreUnavailable):
        logger.error("could not record the attempt's outcome", exc_info=error, extra=ids(start))
        return None
    claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
    report = functools.partial(engine.record_attempt, claims, outcome)
    try:
        return asyncio.run_coroutine_threadsafe(_record(report, ids(start)), loop)
    except RuntimeError:  # the event loop is closed: the worker is gone
        logger.warning("could not record the attempt's outcome", exc_info=error, extra=ids(start))
        return None


def _context(
    engine: Engine,
    activity: Activity[..., Any],
    attempt: Running,
    start: AttemptStart,
    loop: asyncio.AbstractEventLoop,
    running: RunningAttempts,
    public_base: str | None,
    codec: PayloadCodec | None,
) -> activity_context.ActivityContext:
    claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)

    async def beat(details: Any) -> bool:
        text = None if details is None else payloads.encode(details, what="heartbeat details")
        text = attempt_payloads.encoded_details(text, codec)
        at = engine.clock.now_ms()  # when the engine records it (or, after a retry, a little earlier)
        try:
            # A short outage is ridden out here; a longer one is the activity's to handle.
            cancel = await back_off.retrying(
                functools.partial(engine.attempt_heartbeat, claims, text),
                tries=_HEARTBEAT_TRIES, failed="could not record the heartbeat", logger=logger, extra=attempt.log,
            )  # fmt: skip
        except (errors.ActivityAlreadyClosed, errors.StaleToken, errors.ExecutionNotFound) as exc:
            # This attempt is over: its slot goes to the retry, whatever the activity does next.
            running.stop(attempt, exc, cancel=False)
            raise
        running.beat(attempt, at)
        return cancel

    ctx = activity_context.ActivityContext(
        token=start.token,
        attempt=start.attempt,
        checkpoint=json.loads(start.checkpoint) if start.checkpoint is not None else None,
        execution_id=start.execution_id,
        activity_id=start.activity_id,
        idempotency_key=f"{start.execution_id}/{start.activity_id}",
        activity=activity.name,
        _heartbeat=beat,
        _sign_activity_token=functools.partial(engine.activity_token, start.execution_id, start.activity_id),
        _loop=loop,
        _callback_url=None if public_base is None else _callback_urls(engine, start, public_base),
    )
    running.attach(attempt, ctx)
    return ctx


def _callback_urls(engine: Engine, start: AttemptStart, base: str) -> Callable[[CallbackAction, int | None], str]:
    """What makes the callback URLs of one attempt: its expiry counts from the engine's clock when each is made."""

    def make(action: CallbackAction, expires_ms: int | None) -> str:
        expires_at = None if expires_ms is None else engine.clock.now_ms() + expires_ms
        claims = CallbackClaims(start.execution_id, start.activity_id, start.attempt, action, expires_at)
        return callback_tokens.url_of(base, action, engine.sign_callback(claims))

    return make


def _completed(activity: Activity[..., Any], result: Any) -> AttemptOutcome:
    return AttemptOutcome("completed", activity.encode_result(result))


def _ended(exc: BaseException) -> AttemptOutcome:
    """The outcome of an attempt that raised (BaseExceptions other than going async propagate)."""
    if isinstance(exc, activity_context._CompleteAsync):
        inbox = None if exc.inbox is None else payloads.encode(exc.inbox, what="inbox")
        return AttemptOutcome("went_async", inbox, notify=exc.notify)
    if isinstance(exc, errors.ActivityCancelled):
        return AttemptOutcome("cancelled", _details_text(exc.details))
    if not isinstance(exc, Exception):
        raise exc
    # A payload the activity produced that cannot be stored or has the wrong type will
    # not get better by retrying.
    return AttemptOutcome("failed", fault=_fault(exc, non_retryable=isinstance(exc, errors.InvalidPayload)))


async def _record(report: Callable[[], Awaitable[None]], log: dict[str, Any]) -> None:
    """Record an attempt's outcome, retrying while the store is unavailable (the outcome is only in memory)."""
    try:
        await back_off.retrying(
            report, tries=_REPORT_TRIES, failed="could not record the attempt's outcome", logger=logger, extra=log
        )
    except (errors.ActivityAlreadyClosed, errors.StaleToken) as exc:
        logger.info("attempt outcome dropped: %s", exc, extra=log)
    except errors.StoreUnavailable:
        logger.error(
            "gave up recording the attempt's outcome; its timeouts or the worker lease will end it",
            exc_info=True, extra=log,
        )  # fmt: skip


async def _call(
    activity: Activity[..., Any],
    ctx: activity_context.ActivityContext,
    args: list[Any],
    executor: Executor,
) -> Any:
    if activity.is_async:
        token = activity_context.set_current(ctx)
        try:
            return await activity.fn(*args)
        finally:
            activity_context._current.reset(token)
    context = contextvars.copy_context()
    context.run(activity_context.set_current, ctx)
    return await asyncio.get_running_loop().run_in_executor(executor, context.run, activity.fn, *args)


def _details_text(details: Any) -> str | None:
    if details is None:
        return None
    try:
        return payloads.encode(details, what="details")
    except errors.InvalidPayload:
        return payloads.encode(repr(details))


def _plain(details: Any) -> Any:
    text = _details_text(details)
    return None if text is None else json.loads(text)


def _fault(exc: Exception, *, non_retryable: bool = False) -> dict[str, Any]:
    """The stored form of what an attempt raised; details that are not JSON are kept as their repr."""
    if isinstance(exc, errors.ActivityFailed):
        return failure(exc.error, exc.message, details=_plain(exc.details), non_retryable=exc.non_retryable)
    details = _plain(exc.to_details()) if isinstance(exc, errors.TetherError) else None
    return failure(type(exc).__name__, str(exc), details=details, non_retryable=non_retryable)
