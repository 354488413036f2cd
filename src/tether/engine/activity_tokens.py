"""Calls by token of either kind; an activity token is resolved to whichever attempt is current.

An activity token (``ctx.activity_token``) names an activity, not one of its attempts, so it
outlives retries: a link in an e-mail still works after the attempt that sent it timed out.
Each function is a transition body, as in :mod:`tether.engine.activities` (which serves
attempt tokens): it loads the activity, which on PostgreSQL locks the execution before any
of its rows is read and applies every deadline that passed, decides on what it finds then,
and refuses before it writes anything. What a call by activity token does, by where the
activity stands:

=================  ==========================  ===================================  ========================
call               attempt open                no attempt open (back-off, queued)   closed
=================  ==========================  ===================================  ========================
complete           closes the activity         closes it; the retry or queued       the same result again:
                                               attempt is dropped                   acknowledged; else
                                                                                    ActivityAlreadyClosed
fail               fails the attempt (retried  non-retryable (``non_retryable`` or  the same failure again:
                   by policy)                  an error the policy never retries):  acknowledged; else
                                               fails the activity for good; else    ActivityAlreadyClosed
                                               NoAttemptOpen
heartbeat          recorded                    NoAttemptOpen                        ActivityAlreadyClosed
report cancelled   as by the attempt's token   NoAttemptOpen                        as by the attempt's token
=================  ==========================  ===================================  ========================

A retryable failure with no attempt open is refused rather than applied to the next attempt
before it ran: it would end an attempt nobody started. A failure identical to the newest one
recorded is taken as a repeat of it while no later attempt has started (a caller that resent
once its reply was lost), whichever kind of token either used; once the next attempt started,
the same failure fails that attempt.
"""

from __future__ import annotations

from typing import Any, NoReturn

from tether.engine import activities, activity_cancels
from tether.errors import ExecutionNotFound, NoAttemptOpen, Refused, WrongActivity
from tether.model import payloads
from tether.model.records import ActivityState
from tether.model.tokens import ActivityClaims, Claims
from tether.store.base import Transaction
from tether.store.rows import ActivityRow

_OPEN_ATTEMPT = frozenset({ActivityState.RUNNING.value, ActivityState.ASYNC.value})
_CLOSED = frozenset(s.value for s in ActivityState if s.is_closed)
_REPEATABLE_FAILURE = frozenset(s.value for s in (ActivityState.FAILED, ActivityState.BACKOFF, ActivityState.SCHEDULED))
"""Where a failure identical to the newest recorded one is its repeat: no attempt started since it."""


def require_activity(tx: Transaction, claims: Claims, expected: str | None) -> None:
    """Refuse a token of another activity than ``expected`` (a name; None: any), before anything is applied.

    Raises:
        ExecutionNotFound: the token names no activity.
        WrongActivity: the token's activity has another name.
    """
    if expected is None:
        return
    row = tx.get_activity(claims.execution_id, claims.activity_id)
    if row is None:
        raise ExecutionNotFound(claims.execution_id)
    if row.name != expected:
        raise WrongActivity(
            expected=expected, actual=row.name, execution_id=row.execution_id, activity_id=row.activity_id
        )


def complete(tx: Transaction, claims: Claims, result: str, now_ms: int) -> bool:
    """Close the activity with a result (checked against its declared type); False when already so completed.

    Raises:
        ActivityAlreadyClosed: it closed otherwise before.
        StaleToken: an attempt token's attempt is over.
        InvalidPayload: the result does not match the activity's declared type.
    """
    if not isinstance(claims, ActivityClaims):
        return activities.complete(tx, claims, result, now_ms, check_type=True)
    row, lapsed = activities.load(tx, claims, now_ms)
    if row.state == ActivityState.COMPLETED.value and activities.same_json(row.result, result):
        return False
    _require_open(row, lapsed)
    try:
        payloads.check_schema(result, activities.options_of(row.options).result_schema)
    except Refused as refusal:
        _refuse(refusal, lapsed)
    activities.close_completed(tx, row, result, now_ms)
    return True


def fail(tx: Transaction, claims: Claims, fault: dict[str, Any], now_ms: int) -> bool:
    """Fail the current attempt, or, with none open, the activity if the failure is final; False for a repeat.

    Raises:
        ActivityAlreadyClosed: it closed before.
        StaleToken: an attempt token's attempt is over.
        NoAttemptOpen: an activity token's retryable failure while no attempt is open.
    """
    if not isinstance(claims, ActivityClaims):
        return activities.fail(tx, claims, fault, now_ms)
    row, lapsed = activities.load(tx, claims, now_ms)
    if row.state in _REPEATABLE_FAILURE and activities.attempt_that_failed_so(row, fault) is not None:
        return False  # the same failure again: acknowledged, nothing changes
    _require_open(row, lapsed)
    if row.state not in _OPEN_ATTEMPT:
        policy = activities.options_of(row.options).retry
        if not fault.get("non_retryable") and fault["error"] not in policy.non_retryable:
            _refuse(_no_attempt_open(row), lapsed)
    # With no attempt open, fail_attempt finds the failure final and closes the activity,
    # dropping the retry timer or the queued attempt with it.
    activities.fail_attempt(tx, row, {**fault, "attempt": row.attempt}, now_ms)
    return True


def heartbeat(tx: Transaction, claims: Claims, details: str | None, now_ms: int) -> tuple[bool, ActivityRow]:
    """Record a heartbeat of the current attempt; returns whether cancellation was requested, and the row read.

    Raises:
        ActivityAlreadyClosed: the activity closed.
        StaleToken: an attempt token's attempt is over.
        NoAttemptOpen: an activity token's heartbeat while no attempt is open.
    """
    if not isinstance(claims, ActivityClaims):
        return activities.heartbeat_of(tx, claims, details, now_ms)
    row, lapsed = activities.load(tx, claims, now_ms)
    _require_attempt(row, lapsed)
    return activities.record_heartbeat(tx, row, details, now_ms), row


def report_cancelled(tx: Transaction, claims: Claims, details: str | None, now_ms: int) -> bool:
    """Close the activity as cancelled, as its workflow asked; False when this same report was recorded before.

    Raises:
        CancellationNotRequested: nobody asked the activity to stop.
        ActivityAlreadyClosed: it closed otherwise before.
        StaleToken: an attempt token's attempt is over.
        NoAttemptOpen: an activity token's report while no attempt is open.
    """
    if not isinstance(claims, ActivityClaims):
        return activity_cancels.report_cancelled(tx, claims, details, now_ms)
    row, lapsed = activities.load(tx, claims, now_ms)
    if row.state == ActivityState.CANCELLED.value and activity_cancels.reported(tx, row, details):
        return False
    _require_attempt(row, lapsed)
    return activity_cancels.cancel_as_reported(tx, row, details, now_ms)


def _require_open(row: ActivityRow, lapsed: bool) -> None:
    """Refuse a call on a closed activity (after the deadlines it applied commit, when ``lapsed``)."""
    if row.state in _CLOSED:
        _refuse(activities.closed_error(row), lapsed)


def _require_attempt(row: ActivityRow, lapsed: bool) -> None:
    """Refuse a call that needs an open attempt when the activity has none."""
    _require_open(row, lapsed)
    if row.state not in _OPEN_ATTEMPT:
        _refuse(_no_attempt_open(row), lapsed)


def _no_attempt_open(row: ActivityRow) -> NoAttemptOpen:
    following = row.attempt + 1 if row.state == ActivityState.BACKOFF.value else row.attempt
    return NoAttemptOpen(
        execution_id=row.execution_id, activity_id=row.activity_id, state=row.state, next_attempt=following
    )


def _refuse(refusal: Refused, lapsed: bool) -> NoReturn:
    if lapsed:
        raise activities.RefusedAfterDeadlines(refusal)
    raise refusal
