"""Runs one activity attempt in the worker and reports how it ended."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tether import errors
from tether.engine.activities import AttemptStart
from tether.engine.engine import Engine
from tether.model import payloads
from tether.model.events import failure
from tether.model.tokens import TokenClaims
from tether.runtime import activity_context
from tether.runtime.definitions import Activity

logger = logging.getLogger(__name__)

_REPORT_TRIES = 20
"""About a minute of retries (back-off up to 5 s) before an outcome is given up."""


async def run_attempt(
    engine: Engine, activity: Activity[..., Any], start: AttemptStart, executor: ThreadPoolExecutor
) -> None:
    """Run the attempt and record its outcome: a result, a failure, async, or cancelled.

    A report refused because the attempt is already over (it timed out, or its token was
    used meanwhile) is dropped: the engine has already decided.
    """
    claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
    log = {"execution_id": start.execution_id, "activity_id": start.activity_id, "attempt": start.attempt}
    loop = asyncio.get_running_loop()
    ended: list[errors.Refused] = []

    async def beat(details: Any) -> bool:
        text = None if details is None else payloads.encode(details, what="heartbeat details")
        try:
            return await engine.attempt_heartbeat(claims, text)
        except (errors.ActivityAlreadyClosed, errors.StaleToken) as exc:
            ended.append(exc)  # this attempt is over: whatever the activity does next is moot
            raise

    ctx = activity_context.ActivityContext(
        token=start.token,
        attempt=start.attempt,
        checkpoint=json.loads(start.checkpoint) if start.checkpoint is not None else None,
        execution_id=start.execution_id,
        activity_id=start.activity_id,
        idempotency_key=f"{start.execution_id}/{start.activity_id}",
        activity=activity.name,
        _heartbeat=beat,
        _loop=loop,
        _in_thread=not activity.is_async,
    )
    report: Callable[[], Awaitable[None]] | None
    try:
        args = payloads.decode_args(start.args, activity.param_types, what=f"arguments of {activity.name}")
        result = await _call(activity, ctx, args, executor)
        text = payloads.encode(result, what=f"result of {activity.name}")
        payloads.decode(text, activity.return_type, what=f"result of {activity.name}")
    except activity_context._CompleteAsync:
        report = functools.partial(engine.attempt_went_async, claims)
    except errors.ActivityCancelled as exc:
        report = functools.partial(engine.attempt_cancelled, claims, _details_text(exc.details))
    except Exception as exc:
        if ended:
            logger.info("attempt ended while running: %s", ended[0], extra=log)
            report = None
        else:
            # A payload the activity produced that cannot be stored or has the wrong
            # type will not get better by retrying.
            fault = _fault(exc, non_retryable=isinstance(exc, errors.InvalidPayload))
            report = functools.partial(engine.attempt_failed, claims, fault)
    else:
        report = functools.partial(engine.attempt_completed, claims, text)
    if report is not None:
        await _record(report, log)


async def _record(report: Callable[[], Awaitable[None]], log: dict[str, Any]) -> None:
    """Record an attempt's outcome, retrying while the store is unavailable (the outcome is only in memory)."""
    delay = 0.05
    for _ in range(_REPORT_TRIES):
        try:
            await report()
            return
        except (errors.ActivityAlreadyClosed, errors.StaleToken) as exc:
            logger.info("attempt outcome dropped: %s", exc, extra=log)
            return
        except errors.StoreUnavailable:
            logger.warning("could not record the attempt's outcome; retrying", exc_info=True, extra=log)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
    logger.error("gave up recording the attempt's outcome; its timeouts or the worker lease will end it", extra=log)


async def _call(
    activity: Activity[..., Any],
    ctx: activity_context.ActivityContext,
    args: list[Any],
    executor: ThreadPoolExecutor,
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
