"""The activity lifecycle: schedule, heartbeat, go async, close, retry, time out.

Every function here is a transition body: it runs inside one store transaction, checks
the current state first and raises before writing anything when it refuses. Attempts
start in :mod:`tether.engine.activity_starts`; cancellation is :mod:`tether.engine.activity_cancels`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Literal

from tether.engine import deadlines, notifications, observation, workflow_deadline
from tether.errors import ActivityAlreadyClosed, ExecutionNotFound, Refused, StaleToken
from tether.model import payloads
from tether.model.events import EventType, failure
from tether.model.options import ActivityOptions
from tether.model.records import ActivityState
from tether.model.tokens import Claims, TokenClaims
from tether.store.base import Transaction
from tether.store.rows import ActivityRow, ActivityTaskRow, ExecutionRow, TimerRow

_OPEN_ATTEMPT = (ActivityState.RUNNING.value, ActivityState.ASYNC.value)
_CLOSED = frozenset(s.value for s in ActivityState if s.is_closed)
# Plain strings of the states every step compares against (an enum's .value is a property call).
_SCHEDULED, _RUNNING, _ASYNC, _BACKOFF, _COMPLETED, _CANCELLED = (
    ActivityState.SCHEDULED.value, ActivityState.RUNNING.value, ActivityState.ASYNC.value,
    ActivityState.BACKOFF.value, ActivityState.COMPLETED.value, ActivityState.CANCELLED.value,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """How an attempt that a worker ran ended."""

    kind: Literal["completed", "failed", "went_async", "cancelled"]
    text: str | None = None
    """The result (completed), the details (cancelled) or the inbox note (went async), as JSON text."""
    fault: dict[str, Any] | None = None
    """What the attempt raised (failed)."""
    notify: notifications.Requested = ()
    """URLs the attempt asked to notify that it waits (went async), each with its data as JSON text."""


def event_data(**fields: Any) -> str:
    """An event's data as the store keeps it: compact JSON."""
    return json.dumps(fields, separators=(",", ":"))


def _has_deadlines(options: ActivityOptions) -> bool:
    return options.timeout_ms is not None or options.attempt_timeout_ms is not None or options.heartbeat_ms is not None


def _options(row: ActivityRow) -> ActivityOptions:
    return options_of(row.options)


@functools.lru_cache(maxsize=256)
def options_of(text: str) -> ActivityOptions:
    """Parsed activity options (the same few texts recur for every scheduled activity)."""
    return ActivityOptions.from_json(json.loads(text))


def schedule(
    tx: Transaction,
    execution: ExecutionRow,
    activity_id: int,
    name: str,
    args: str,
    options_text: str,
    now_ms: int,
) -> None:
    """Create an activity of ``execution`` and queue its first attempt."""
    execution_id = execution.id
    options = options_of(options_text)
    tx.insert_activity(
        ActivityRow(
            execution_id=execution_id, activity_id=activity_id, name=name, state=_SCHEDULED,
            attempt=1, args=args, options=options_text, scheduled_at_ms=now_ms,
            attempt_started_at_ms=None, last_heartbeat_at_ms=None, heartbeat_details=None, checkpoint=None,
            last_failure=None, cancel_requested=False, watch_heartbeats=False, result=None, closed_at_ms=None,
        )
    )  # fmt: skip
    if options.inbox:
        tx.update_activity(execution_id, activity_id, inbox=True)
    priority = execution.priority if options.priority is None else options.priority  # see task_priority
    tx.enqueue_activity_task(ActivityTaskRow(execution_id, activity_id, 1, name, priority))
    if options.timeout_ms is not None:
        tx.arm_timer(TimerRow(execution_id, "total", activity_id, 0, now_ms + options.timeout_ms))


def task_priority(tx: Transaction, execution_id: str, options: ActivityOptions) -> int:
    """The priority of an activity's queued attempts: the call's own, else its workflow's."""
    if options.priority is not None:
        return options.priority
    execution = tx.get_execution(execution_id)  # read already by the transition that schedules or retries
    return 0 if execution is None else execution.priority


def load(tx: Transaction, claims: Claims, now_ms: int) -> tuple[ActivityRow, bool]:
    """The activity a token (of either kind) names, once every deadline that passed by ``now_ms`` has been applied.

    Returns the row and whether applying deadlines changed it: a call refused after that
    must still commit those changes (see :class:`RefusedAfterDeadlines`).

    Raises:
        ExecutionNotFound: no such activity.
    """
    row = tx.get_activity(claims.execution_id, claims.activity_id)
    if row is None:
        raise ExecutionNotFound(claims.execution_id)
    if workflow_deadline.apply_if_passed(tx, claims.execution_id, now_ms):
        # The workflow's deadline passed first: the execution closed at it, and this activity with it.
        closed = tx.get_activity(claims.execution_id, claims.activity_id)
        assert closed is not None
        return closed, True
    return apply_passed_deadlines(tx, row, now_ms)


class RefusedAfterDeadlines(Exception):  # a carrier, never shown to users
    """A call refused after it applied deadlines that had passed: those writes commit, then ``refusal`` is raised.

    The engine catches it around the transition, commits, and raises ``refusal`` to the
    caller, who sees exactly what it would have seen had the timer fired on time.
    """

    def __init__(self, refusal: Refused) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


def apply_passed_deadlines(
    tx: Transaction, row: ActivityRow, now_ms: int, *, retry_at: int | None = None
) -> tuple[ActivityRow, bool]:
    """Apply, in order and each at its own time, the deadlines and retry times of ``row`` that passed by ``now_ms``.

    Afterwards the activity stands as it would had every timer fired on time: an attempt
    past its heartbeat or attempt deadline failed at that deadline (and its retry followed
    from then), an activity past its total deadline timed out at it. Returns the row as it
    stands and whether anything changed. ``retry_at`` is the retry time of a backing-off
    activity whose retry timer is being fired (and so is no longer stored).
    """
    if row.state in _CLOSED or (row.state != _BACKOFF and not _has_deadlines(_options(row))):
        return row, False
    changed = False
    while row.state not in _CLOSED:
        options = _options(row)
        if row.state == _BACKOFF:
            retry_due = retry_at if retry_at is not None else _retry_due(tx, row)
            total = deadlines.total_deadline(row, options)
            if total is not None and total <= now_ms and (retry_due is None or total <= retry_due):
                time_out(tx, row, deadlines.TOTAL, total)
            elif retry_due is not None and retry_due <= now_ms:
                tx.delete_timer(row.execution_id, "retry", row.activity_id)
                start_retry(tx, row)
            else:
                break
        else:
            passed = deadlines.first_passed(row, options, now_ms)
            if passed is None:
                break
            due, kind = passed
            time_out(tx, row, kind, due)
        retry_at = None
        changed = True
        reread = tx.get_activity(row.execution_id, row.activity_id)
        assert reread is not None
        row = reread
    return row, changed


def _retry_due(tx: Transaction, row: ActivityRow) -> int | None:
    for timer in tx.timers_of(row.execution_id):
        if timer.kind == "retry" and timer.ref == row.activity_id and timer.attempt == row.attempt:
            return timer.due_at_ms
    return None


def start_retry(tx: Transaction, row: ActivityRow) -> None:
    """Queue the next attempt of an activity whose retry time came (its retry timer is gone)."""
    tx.update_activity(row.execution_id, row.activity_id, state=_SCHEDULED, attempt=row.attempt + 1)
    priority = task_priority(tx, row.execution_id, _options(row))
    tx.enqueue_activity_task(ActivityTaskRow(row.execution_id, row.activity_id, row.attempt + 1, row.name, priority))


def closed_error(row: ActivityRow) -> ActivityAlreadyClosed:
    """The refusal of a call on the closed activity ``row``."""
    return ActivityAlreadyClosed(row.state, execution_id=row.execution_id, activity_id=row.activity_id)


def require_current(row: ActivityRow, claims: TokenClaims, lapsed: bool = False) -> None:
    """Refuse a call whose attempt is not the open one; after applied deadlines (``lapsed``) so that they commit.

    Raises:
        ActivityAlreadyClosed: the activity closed.
        StaleToken: the token's attempt is over.
        RefusedAfterDeadlines: either, when ``lapsed`` (the engine raises it after the commit).
    """
    if row.state in _CLOSED:
        refusal: Refused = closed_error(row)
    elif row.state not in _OPEN_ATTEMPT or row.attempt != claims.attempt:
        current = row.attempt + 1 if row.state == _BACKOFF else row.attempt
        if row.attempt == claims.attempt:
            message = f"attempt {claims.attempt} has already ended; attempt {current} is next"
        else:
            message = f"the token is of attempt {claims.attempt}, but the current attempt is {current}"
        refusal = StaleToken(message, token_attempt=claims.attempt, current_attempt=current)
    else:
        return
    if lapsed:
        raise RefusedAfterDeadlines(refusal)
    raise refusal


def close_activity(
    tx: Transaction,
    row: ActivityRow,
    state: str,
    event: EventType,
    data: str,
    now_ms: int,
    *,
    offer_task: bool = True,
    **fields: Any,
) -> None:
    """Close the activity ``row`` in ``state`` with its ``event``: its queued attempt, timers and slot go with it.

    Its workflow is offered a task unless ``offer_task`` is False; its waiting-notice
    subscribers hear of the close if it was announced.
    """
    tx.update_activity(row.execution_id, row.activity_id, state=state, closed_at_ms=now_ms, **fields)
    options = options_of(row.options)
    if row.state == _RUNNING and options.max_concurrent is not None:
        tx.wake("activities")  # as freed_slot does: inline, as every activity closes here
    if row.state == _SCHEDULED:
        tx.delete_activity_task(row.execution_id, row.activity_id)
    if row.state == _BACKOFF or _has_deadlines(options):
        tx.delete_activity_timers(row.execution_id, row.activity_id)
    tx.append_events(row.execution_id, [(event, data)], now_ms)
    if row.state == _ASYNC or row.attempt > 1:  # only an activity that went async was announced
        notifications.closed(tx, row, state, data, now_ms)
    if offer_task:
        tx.enqueue_workflow_task(row.execution_id, now_ms)


def complete(tx: Transaction, claims: TokenClaims, result: str, now_ms: int, *, check_type: bool) -> bool:
    """Close the activity with a result; False when the same completion was already recorded.

    Raises:
        ActivityAlreadyClosed: it closed otherwise before.
        StaleToken: the token's attempt is over.
        InvalidPayload: the result does not match the activity's declared type.
    """
    row, lapsed = load(tx, claims, now_ms)
    if row.state == _COMPLETED and row.attempt == claims.attempt and same_json(row.result, result):
        return False
    require_current(row, claims, lapsed)
    if check_type:
        payloads.check_schema(result, _options(row).result_schema)
    close_completed(tx, row, result, now_ms)
    return True


def close_completed(tx: Transaction, row: ActivityRow, result: str, now_ms: int) -> None:
    """Close the open activity ``row`` with ``result``, dropping its queued attempt and timers."""
    data = f'{{"activity_id":{row.activity_id},"attempt":{row.attempt},"result":{result}}}'
    if observation.observers:
        observation.attempt_closed(row, "completed", now_ms)
    close_activity(tx, row, _COMPLETED, EventType.ACTIVITY_COMPLETED, data, now_ms, result=result)


def same_json(stored: str | None, given: str) -> bool:
    """Whether a stored JSON text and a given one hold the same value."""
    if stored is None:
        return False
    return stored == given or json.loads(stored) == json.loads(given)


def fail(tx: Transaction, claims: TokenClaims, fault: dict[str, Any], now_ms: int) -> bool:
    """Fail the current attempt (retried by policy, or the activity fails); False when this failure was recorded before.

    Raises:
        ActivityAlreadyClosed: it closed before.
        StaleToken: the token's attempt is over.
    """
    row, lapsed = load(tx, claims, now_ms)
    repeatable = (ActivityState.FAILED.value, ActivityState.TIMED_OUT.value, _BACKOFF)
    ended_here = row.state in repeatable and row.attempt == claims.attempt
    # A repeat may come after the retry began (a caller that resent once its reply was lost):
    # the newest recorded failure is still this attempt's until the next attempt fails too.
    retried_since = row.attempt > claims.attempt and row.state not in _CLOSED
    if (ended_here or retried_since) and attempt_that_failed_so(row, fault) == claims.attempt:
        return False  # the same failure again: acknowledged, nothing changes
    require_current(row, claims, lapsed)
    fail_attempt(tx, row, {**fault, "attempt": row.attempt}, now_ms)
    return True


def attempt_that_failed_so(row: ActivityRow, fault: dict[str, Any]) -> int | None:
    """The attempt whose failure is the newest recorded, if it is ``fault`` (same error, message, details)."""
    last = json.loads(row.last_failure) if row.last_failure else {}
    same = all(last.get(k) == fault.get(k) for k in ("error", "message", "details", "non_retryable"))
    attempt = last.get("attempt")
    return attempt if same and isinstance(attempt, int) else None


def reap_lost_attempts(tx: Transaction, alive: str, now_ms: int, limit: int = 100, owner: str | None = None) -> int:
    """Fail running attempts whose worker stopped renewing its lease (or all of ``owner``'s); returns how many."""
    lost = tx.attempts_of_worker(owner) if owner is not None else tx.attempts_of_lost_workers(now_ms, alive, limit)
    for execution_id, activity_id, attempt in lost:
        row = tx.get_activity(execution_id, activity_id)
        if row is None:
            continue
        row, _ = apply_passed_deadlines(tx, row, now_ms)  # a deadline that came first ended it then
        if row.state != _RUNNING or row.attempt != attempt:
            continue
        fault = failure("WorkerLost", "the worker running this attempt stopped renewing its lease", attempt=attempt)
        fail_attempt(tx, row, fault, now_ms)
    return len(lost)


def fail_attempt(tx: Transaction, row: ActivityRow, fault: dict[str, Any], now_ms: int) -> None:
    """End the open attempt with ``fault``; schedule a retry if the policy and deadlines allow."""
    options = _options(row)
    policy = options.retry
    retryable = (
        not fault.get("non_retryable")
        and fault["error"] not in policy.non_retryable
        and not row.cancel_requested
        and (policy.max_attempts == 0 or row.attempt < policy.max_attempts)
    )
    retry_at = now_ms + policy.interval_ms(row.attempt)
    freed_slot(tx, row, options)
    total_deadline = row.scheduled_at_ms + options.timeout_ms if options.timeout_ms is not None else None
    fault_text = json.dumps(fault)
    will_retry = retryable and (total_deadline is None or retry_at < total_deadline)
    if observation.observers:
        kind = fault.get("kind")
        outcome = "failed" if kind is None else f"timed_out_{kind}"
        observation.attempt_closed(row, outcome, now_ms, error=fault["error"], final=not will_retry)
    if will_retry:
        tx.update_activity(
            row.execution_id, row.activity_id, state=ActivityState.BACKOFF.value, last_failure=fault_text
        )
        tx.delete_timer(row.execution_id, "attempt", row.activity_id)
        tx.delete_timer(row.execution_id, "heartbeat", row.activity_id)
        tx.arm_timer(TimerRow(row.execution_id, "retry", row.activity_id, row.attempt, retry_at))
        data = event_data(activity_id=row.activity_id, attempt=row.attempt, failure=fault, retry_at_ms=retry_at)
        tx.append_events(row.execution_id, [(EventType.ACTIVITY_ATTEMPT_FAILED, data)], now_ms)
        return
    timed_out = "kind" in fault
    state = ActivityState.TIMED_OUT if timed_out else ActivityState.FAILED
    event = EventType.ACTIVITY_TIMED_OUT if timed_out else EventType.ACTIVITY_FAILED
    data = event_data(activity_id=row.activity_id, attempt=row.attempt, failure=fault)
    close_activity(tx, row, state.value, event, data, now_ms, last_failure=fault_text)


def time_out(tx: Transaction, row: ActivityRow, kind: str, at_ms: int) -> None:
    """An attempt (kind attempt/heartbeat) or the whole activity (kind total) ran out of time at its deadline ``at_ms``.

    The failure carries the last heartbeat details (and, for kind total, the last attempt's
    failure), so that the workflow can tell how far the activity got.
    """
    details: dict[str, Any] = {}
    if row.heartbeat_details is not None:
        details["last_heartbeat_details"] = json.loads(row.heartbeat_details)
    if kind == deadlines.TOTAL and row.last_failure:
        details["last_failure"] = json.loads(row.last_failure)
    fault = failure(
        "ActivityTimeout", f"activity timed out ({kind})", attempt=row.attempt, kind=kind, details=details or None
    )
    if kind == deadlines.TOTAL:
        data = event_data(activity_id=row.activity_id, attempt=row.attempt, failure=fault)
        if observation.observers:
            observation.attempt_closed(row, "timed_out_total", at_ms, error="ActivityTimeout")
        close_activity(
            tx, row, ActivityState.TIMED_OUT.value, EventType.ACTIVITY_TIMED_OUT, data, at_ms,
            last_failure=json.dumps(fault),
        )  # fmt: skip
    else:
        fail_attempt(tx, row, fault, at_ms)


def heartbeat(tx: Transaction, claims: TokenClaims, details: str | None, now_ms: int) -> bool:
    """Record a heartbeat (and its details, if given); returns whether cancellation was requested.

    Raises:
        ActivityAlreadyClosed: the activity closed.
        StaleToken: the token's attempt is over.
    """
    return heartbeat_of(tx, claims, details, now_ms)[0]


def heartbeat_of(tx: Transaction, claims: TokenClaims, details: str | None, now_ms: int) -> tuple[bool, ActivityRow]:
    """:func:`heartbeat`, also returning the activity's row as it was read (its options are unchanged by it)."""
    row, lapsed = load(tx, claims, now_ms)
    require_current(row, claims, lapsed)
    return record_heartbeat(tx, row, details, now_ms), row


def record_heartbeat(tx: Transaction, row: ActivityRow, details: str | None, now_ms: int) -> bool:
    """Record a heartbeat of the open attempt of ``row``; returns whether cancellation was requested."""
    if details is None:
        tx.update_activity(row.execution_id, row.activity_id, last_heartbeat_at_ms=now_ms)
    else:
        tx.update_activity(row.execution_id, row.activity_id, last_heartbeat_at_ms=now_ms, heartbeat_details=details)
    if row.watch_heartbeats:
        shown = details if details is not None else (row.heartbeat_details or "null")
        data = f'{{"activity_id":{row.activity_id},"attempt":{row.attempt},"details":{shown}}}'
        tx.append_events(row.execution_id, [(EventType.ACTIVITY_HEARTBEAT, data)], now_ms)
        tx.enqueue_workflow_task(row.execution_id, now_ms)
    if observation.observers:
        observation.heartbeat(row)
    return row.cancel_requested


def went_async(
    tx: Transaction,
    claims: TokenClaims,
    now_ms: int,
    *,
    inbox_note: str | None = None,
    notify: notifications.Requested = (),
) -> None:
    """The running attempt returned make_async(); nothing if it already closed.

    ``inbox_note`` (title, description, form schema) lists the attempt in the web UI's inbox.
    The activity's ``notify`` URLs, those the attempt asked for and the sinks that get every
    inbox item are told that it waits, in this same transaction (see ``engine.notifications``).
    """
    row = tx.get_activity(claims.execution_id, claims.activity_id)
    if row is None or workflow_deadline.apply_if_passed(tx, claims.execution_id, now_ms):
        return
    row, _ = apply_passed_deadlines(tx, row, now_ms)  # an attempt that went async too late is over
    if row.state != _RUNNING or row.attempt != claims.attempt:
        return
    freed_slot(tx, row)  # waiting for its token, it runs no code
    if inbox_note is None:
        tx.update_activity(row.execution_id, row.activity_id, state=ActivityState.ASYNC.value)
    else:
        tx.update_activity(
            row.execution_id, row.activity_id, state=ActivityState.ASYNC.value, inbox=True, inbox_note=inbox_note
        )
    data = event_data(activity_id=row.activity_id, attempt=row.attempt)
    tx.append_events(row.execution_id, [(EventType.ACTIVITY_WENT_ASYNC, data)], now_ms)
    if observation.observers:
        observation.went_async(row)
    notifications.waiting(tx, row, _options(row), notify, inbox_note, now_ms)


def freed_slot(tx: Transaction, row: ActivityRow, options: ActivityOptions | None = None) -> None:
    """Wake the claimers of a concurrency-limited activity whose running attempt ``row`` ends now.

    Its slot is free once this commits (it is no longer ``running``): attempts held back
    for a slot are claimed then, by this process or any other on the store.
    """
    if row.state == _RUNNING and (options or _options(row)).max_concurrent is not None:
        tx.wake("activities")


def watch_heartbeats(tx: Transaction, execution_id: str, activity_id: int) -> None:
    """Deliver this activity's heartbeats to its workflow from now on."""
    tx.update_activity(execution_id, activity_id, watch_heartbeats=True)
