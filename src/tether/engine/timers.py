"""Durable timers: user sleeps, workflow and activity deadlines and retry times firing when due."""

from __future__ import annotations

import json
import logging

from tether.engine import activities, deadlines, observation, workflow_deadline
from tether.model.events import EventType
from tether.model.records import ActivityState
from tether.store.base import Transaction
from tether.store.rows import TimerRow

logger = logging.getLogger(__name__)


def fire_due(tx: Transaction, now_ms: int, limit: int) -> int:
    """Fire up to ``limit`` due timers, each in its own savepoint; returns how many fired."""
    due = tx.due_timers(now_ms, limit)
    for timer in due:
        noted = observation.mark() if observation.observers else 0
        try:
            with tx.savepoint():
                _fire(tx, timer, now_ms)
        except Exception:
            observation.drop_since(noted)
            # A timer whose transition keeps failing would otherwise fire forever.
            logger.exception("timer failed; dropped", extra={"execution_id": timer.execution_id, "kind": timer.kind})
            tx.delete_timer(timer.execution_id, timer.kind, timer.ref)
    return len(due)


def _fire(tx: Transaction, timer: TimerRow, now_ms: int) -> None:
    tx.delete_timer(timer.execution_id, timer.kind, timer.ref)
    if timer.kind == "sleep":
        execution = tx.get_execution(timer.execution_id)
        if execution is not None and execution.status == "running":
            data = json.dumps({"timer_id": timer.ref})
            tx.append_events(timer.execution_id, [(EventType.TIMER_FIRED, data)], now_ms)
            tx.enqueue_workflow_task(timer.execution_id, now_ms)
        return
    if timer.kind == workflow_deadline.KIND:
        workflow_deadline.fire(tx, timer)
        return
    row = tx.get_activity(timer.execution_id, timer.ref)
    if row is None or row.closed_at_ms is not None:
        return
    fired_retry = timer.kind == "retry" and row.state == ActivityState.BACKOFF.value and row.attempt == timer.attempt
    row, _ = activities.apply_passed_deadlines(tx, row, now_ms, retry_at=timer.due_at_ms if fired_retry else None)
    if timer.kind == "heartbeat" and row.attempt == timer.attempt:
        deadline = deadlines.heartbeat_deadline(row, activities.options_of(row.options))
        if deadline is not None:
            # Not passed yet: heartbeats only move last_heartbeat_at; the timer re-arms itself here.
            tx.arm_timer(TimerRow(row.execution_id, "heartbeat", row.activity_id, row.attempt, deadline))
