"""Cancelling activities: asked by their workflow, reported by their holder, or closed with the execution.

Transition bodies, as in :mod:`tether.engine.activities`: each runs inside one store
transaction and raises before writing anything when it refuses.
"""

from __future__ import annotations

import json

from tether.engine import activities, observation
from tether.errors import CancellationNotRequested
from tether.model.events import EventType
from tether.model.records import ActivityState
from tether.model.tokens import TokenClaims
from tether.store.base import Transaction
from tether.store.rows import ActivityRow

_CLOSED = frozenset(s.value for s in ActivityState if s.is_closed)
_SCHEDULED, _BACKOFF, _CANCELLED = (
    ActivityState.SCHEDULED.value,
    ActivityState.BACKOFF.value,
    ActivityState.CANCELLED.value,
)


def report_cancelled(tx: Transaction, claims: TokenClaims, details: str | None, now_ms: int) -> bool:
    """Close the activity as cancelled, as its workflow asked; False when this same report was recorded before.

    Raises:
        CancellationNotRequested: nobody asked the activity to stop.
        ActivityAlreadyClosed: it closed otherwise before (another report with other details included).
        StaleToken: the token's attempt is over.
    """
    row, lapsed = activities.load(tx, claims, now_ms)
    if row.state == _CANCELLED and row.attempt == claims.attempt and reported(tx, row, details):
        return False
    activities.require_current(row, claims, lapsed)
    return cancel_as_reported(tx, row, details, now_ms)


def cancel_as_reported(tx: Transaction, row: ActivityRow, details: str | None, now_ms: int) -> bool:
    """Close the activity of the open attempt ``row`` as cancelled, as its holder reports.

    Raises:
        CancellationNotRequested: nobody asked the activity to stop.
    """
    if not row.cancel_requested:
        raise CancellationNotRequested(execution_id=row.execution_id, activity_id=row.activity_id)
    _cancel(tx, row, details, now_ms)
    return True


def reported(tx: Transaction, row: ActivityRow, details: str | None) -> bool:
    """Whether the activity's cancellation was reported by its holder with ``details``."""
    for event in reversed(tx.load_events(row.execution_id)):
        if event.type == EventType.ACTIVITY_CANCELLED and event.data["activity_id"] == row.activity_id:
            given = None if details is None else json.loads(details)
            return "reason" not in event.data and event.data.get("details") == given
    return False


def _cancel(tx: Transaction, row: ActivityRow, details: str | None, now_ms: int) -> None:
    data = f'{{"activity_id":{row.activity_id},"attempt":{row.attempt},"details":{details or "null"}}}'
    if observation.observers:
        observation.attempt_closed(row, "cancelled", now_ms)
    activities.close_activity(tx, row, _CANCELLED, EventType.ACTIVITY_CANCELLED, data, now_ms)


def request_cancel(tx: Transaction, execution_id: str, activity_id: int, now_ms: int) -> None:
    """Ask an activity to stop: closed at once if no attempt runs, else flagged for its holder."""
    row = tx.get_activity(execution_id, activity_id)
    if row is None:
        return
    row, _ = activities.apply_passed_deadlines(tx, row, now_ms)
    if row.state in _CLOSED or row.cancel_requested:
        return
    if row.state in (_SCHEDULED, _BACKOFF):
        _cancel(tx, row, None, now_ms)
    else:
        tx.update_activity(execution_id, activity_id, cancel_requested=True)


def close_with_execution(tx: Transaction, execution_id: str, reason: str, now_ms: int) -> None:
    """Close every activity the closing execution still holds, as cancelled, ``reason`` saying why.

    Deadlines that passed are applied first (an activity that timed out before stays timed
    out). Queued attempts and timers go with them; tokens of their attempts are refused from
    now on as ActivityAlreadyClosed. The workflow is not offered a task for these closes.
    """
    for open_row in tx.open_activities(execution_id):
        row, _ = activities.apply_passed_deadlines(tx, open_row, now_ms)
        if row.state in _CLOSED:
            continue
        data = activities.event_data(activity_id=row.activity_id, attempt=row.attempt, details=None, reason=reason)
        if observation.observers:
            observation.attempt_closed(row, "cancelled", now_ms)
        activities.close_activity(tx, row, _CANCELLED, EventType.ACTIVITY_CANCELLED, data, now_ms, offer_task=False)
