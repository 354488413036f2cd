"""When an activity's deadlines fall: the facts every transition and the timer pass read alike.

A deadline is a fact of the activity's row, not of its timer: the timer is only how a
deadline is noticed when nobody calls. So a transition that arrives late computes the
same deadlines from the row and applies those that passed, at their own times, before it
acts (see :func:`tether.engine.activities.apply_passed_deadlines`).
"""

from __future__ import annotations

from tether.model.options import ActivityOptions
from tether.model.records import OPEN_ATTEMPT_STATES, ActivityState
from tether.store.rows import ActivityRow

TOTAL, ATTEMPT, HEARTBEAT = "total", "attempt", "heartbeat"
_OPEN_ATTEMPT = frozenset(s.value for s in OPEN_ATTEMPT_STATES)
_CLOSED = frozenset(s.value for s in ActivityState if s.is_closed)


def total_deadline(row: ActivityRow, options: ActivityOptions) -> int | None:
    """When the whole activity runs out of time, if it has a total timeout."""
    return row.scheduled_at_ms + options.timeout_ms if options.timeout_ms is not None else None


def heartbeat_deadline(row: ActivityRow, options: ActivityOptions) -> int | None:
    """When the open attempt runs out of time without a heartbeat (heartbeats only move its base)."""
    if options.heartbeat_ms is None or row.state not in _OPEN_ATTEMPT:
        return None
    base = row.last_heartbeat_at_ms or row.attempt_started_at_ms
    return None if base is None else base + options.heartbeat_ms


def attempt_deadline(row: ActivityRow, options: ActivityOptions) -> int | None:
    """When the open attempt runs out of time, if attempts have a timeout."""
    if options.attempt_timeout_ms is None or row.state not in _OPEN_ATTEMPT or row.attempt_started_at_ms is None:
        return None
    return row.attempt_started_at_ms + options.attempt_timeout_ms


def first_passed(row: ActivityRow, options: ActivityOptions, now_ms: int) -> tuple[int, str] | None:
    """The earliest deadline of the activity that has passed at ``now_ms``: (its time, its kind), or None.

    At equal times the total deadline comes first: the activity is over, whatever its attempt.
    """
    if row.state in _CLOSED:
        return None
    passed = [
        (due, order, kind)
        for order, (kind, due) in enumerate(
            (
                (TOTAL, total_deadline(row, options)),
                (ATTEMPT, attempt_deadline(row, options)),
                (HEARTBEAT, heartbeat_deadline(row, options)),
            )
        )
        if due is not None and due <= now_ms
    ]
    if not passed:
        return None
    due, _, kind = min(passed)
    return due, kind
