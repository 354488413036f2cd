"""Resume: a failed, timed-out or terminated execution runs again from where it stopped.

One transition reopens the execution. What its close undid is named in the
``ExecutionResumed`` event (``undone``: sequence numbers), and replay treats those events as
never having happened (see ``runtime/execution_marks``):

- the closing event (WorkflowFailed, WorkflowTimedOut or WorkflowTerminated);
- for a workflow that failed, the whole workflow task that failed it (its marker, its
  commands and what they and the close wrote), and the failures and timeouts of the
  activities delivered to that task: the workflow code is blocked again where it awaited them;
- the cancellations the close wrote for the activities it still held.

The activities whose closes are undone (and that existed before the failing task) are
reopened with their next attempt number (tokens of earlier attempts stay refused) and a
fresh set of attempts and total time; sleep timers that were open are armed again with
their original due time. Ids a workflow takes for activities and timers continue after
the highest the history used (``next_id``), so that nothing undone is ever named again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tether.engine import activities, closing, runs, workflow_deadline
from tether.errors import ExecutionNotResumable
from tether.model import payloads
from tether.model.events import Event, EventType
from tether.model.options import ActivityOptions
from tether.model.records import ActivityState, WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ActivityTaskRow, ExecutionRow, TimerRow

RESUMABLE = frozenset({WorkflowStatus.FAILED.value, WorkflowStatus.TIMED_OUT.value, WorkflowStatus.TERMINATED.value})
"""Statuses an execution may be resumed from."""
_CLOSES = frozenset({EventType.WORKFLOW_FAILED, EventType.WORKFLOW_TIMED_OUT, EventType.WORKFLOW_TERMINATED})
_FAILURES = frozenset({EventType.ACTIVITY_FAILED, EventType.ACTIVITY_TIMED_OUT})
_ACTIVITY_CLOSES = _FAILURES | {EventType.ACTIVITY_COMPLETED, EventType.ACTIVITY_CANCELLED}


@dataclass(slots=True)
class Plan:
    """What a resume undoes and reopens, read from the history."""

    undone: set[int] = field(default_factory=set)
    """Sequence numbers of the events replay no longer sees."""
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Activities to reopen, with the options they were scheduled with."""
    timers: dict[int, int] = field(default_factory=dict)
    """Sleep timers to arm again: timer id -> due time (UTC ms)."""
    next_id: int = 0
    """The highest activity, timer or child id the history used."""
    children_heard: set[int] = field(default_factory=set)
    """Children whose close the history (what replay still sees of it) delivered."""


def plan(events: list[Event]) -> Plan:
    """What resuming the closed execution whose whole history is ``events`` undoes and reopens."""
    before = {seq for e in events if e.type == EventType.EXECUTION_RESUMED for seq in e.data["undone"]}
    live = [e for e in events if e.seq not in before]
    closing = live[-1]
    assert closing.type in _CLOSES, closing
    result = Plan(undone={closing.seq})
    last_resume = max((e.seq for e in live if e.type == EventType.EXECUTION_RESUMED), default=0)
    task_start = closing.seq
    if closing.type == EventType.WORKFLOW_FAILED:
        # A workflow task failed it: that task, its marker included, is undone whole.
        markers = [i for i, e in enumerate(live) if e.type == EventType.WORKFLOW_TASK_COMPLETED]
        marker = live[markers[-1]]
        task_start = marker.seq
        result.undone.update(e.seq for e in live[markers[-1] :])
        earlier_seen = int(live[markers[-2]].data["seen"]) if len(markers) > 1 else 0
        seen = int(marker.data["seen"])
        result.undone.update(e.seq for e in live if e.type in _FAILURES and earlier_seen < e.seq <= seen)
    for event in live:
        # The cancellations this close wrote for what the execution still held.
        if event.type == EventType.ACTIVITY_CANCELLED and "reason" in event.data and event.seq > last_resume:
            result.undone.add(event.seq)
    scheduled: dict[int, dict[str, Any]] = {}
    started: dict[int, int] = {}
    for event in events:
        data = event.data
        if event.type == EventType.ACTIVITY_SCHEDULED:
            result.next_id = max(result.next_id, int(data["activity_id"]))
            if event.seq < task_start:
                scheduled[int(data["activity_id"])] = data["options"]
        elif event.type == EventType.TIMER_STARTED:
            result.next_id = max(result.next_id, int(data["timer_id"]))
        elif event.type == EventType.CHILD_WORKFLOW_STARTED:
            result.next_id = max(result.next_id, int(data["child_ref"]))
    for event in live:
        if event.seq in result.undone:
            if event.type in _ACTIVITY_CLOSES and int(event.data["activity_id"]) in scheduled:
                activity_id = int(event.data["activity_id"])
                result.activities[activity_id] = scheduled[activity_id]
        elif event.type == EventType.TIMER_STARTED:
            started[int(event.data["timer_id"])] = int(event.data["due_at_ms"])
        elif event.type in (EventType.TIMER_FIRED, EventType.TIMER_CANCELLED):
            started.pop(int(event.data["timer_id"]), None)
        elif event.type == EventType.CHILD_WORKFLOW_CLOSED:
            result.children_heard.add(int(event.data["child_ref"]))
    result.timers = started
    return result


def resume(tx: Transaction, execution: ExecutionRow, now_ms: int, timeout_ms: int | None) -> None:
    """Reopen ``execution`` (read under its lock) where it stopped; a new deadline ``timeout_ms`` from now.

    Raises:
        ExecutionNotResumable: it is not failed, timed out or terminated; nothing changed.
    """
    if execution.status not in RESUMABLE:
        raise ExecutionNotResumable(execution.id, status=execution.status)
    execution_id = execution.id
    found = plan(tx.load_events(execution_id))
    for activity_id, options in sorted(found.activities.items()):
        _reopen(tx, execution_id, activity_id, options, now_ms)
    for timer_id, due_at_ms in sorted(found.timers.items()):
        tx.arm_timer(TimerRow(execution_id, "sleep", timer_id, 0, due_at_ms))
    if timeout_ms is not None:
        workflow_deadline.arm(tx, execution_id, now_ms + timeout_ms)
    tx.update_execution(
        execution_id, status=WorkflowStatus.RUNNING.value, closed_at_ms=None, error=None, task_error=None
    )
    data = {
        "status": execution.status, "undone": sorted(found.undone), "activities": sorted(found.activities),
        "timers": sorted(found.timers), "next_id": found.next_id, "timeout_ms": timeout_ms,
    }  # fmt: skip
    tx.append_events(execution_id, [(EventType.EXECUTION_RESUMED, json.dumps(data, separators=(",", ":")))], now_ms)
    tx.enqueue_workflow_task(execution_id, now_ms)
    _tell_of_children(tx, execution_id, found.children_heard, now_ms)


def _tell_of_children(tx: Transaction, execution_id: str, heard: set[int], now_ms: int) -> None:
    """Deliver the outcomes of children that closed while their parent was closed (it heard nothing then).

    Children still running tell it themselves when they close, now that it runs again.
    """
    for child in tx.children_of(execution_id):
        if child.chain_id is not None or child.parent_ref is None or child.parent_ref in heard:
            continue
        current = runs.current_run(tx, child.id)
        if current.status in (WorkflowStatus.RUNNING.value, WorkflowStatus.CONTINUED.value):
            continue
        outcome = closing.outcome_of(current.status, current.result, current.error)
        closing.deliver_child_outcome(tx, execution_id, child.parent_ref, child.id, outcome, now_ms)


def _reopen(tx: Transaction, execution_id: str, activity_id: int, options: dict[str, Any], now_ms: int) -> None:
    """Queue the next attempt of a closed activity, with as many attempts and as much time as it first had."""
    row = tx.get_activity(execution_id, activity_id)
    assert row is not None
    retry = options["retry"]
    if retry["max_attempts"]:
        # Attempt numbers keep increasing (older tokens stay stale): the budget counts from here.
        retry = {**retry, "max_attempts": row.attempt + retry["max_attempts"]}
    attempt = row.attempt + 1
    tx.update_activity(
        execution_id, activity_id, state=ActivityState.SCHEDULED.value, attempt=attempt,
        options=payloads.json_text({**options, "retry": retry}), scheduled_at_ms=now_ms, closed_at_ms=None,
        cancel_requested=False, result=None, attempt_started_at_ms=None, last_heartbeat_at_ms=None,
    )  # fmt: skip
    priority = activities.task_priority(tx, execution_id, ActivityOptions.from_json(options))
    tx.enqueue_activity_task(ActivityTaskRow(execution_id, activity_id, attempt, row.name, priority))
    if options.get("timeout_ms") is not None:
        tx.arm_timer(TimerRow(execution_id, "total", activity_id, 0, now_ms + int(options["timeout_ms"])))
