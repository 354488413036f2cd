"""Read-only views of executions: describe, history and listings."""

from __future__ import annotations

import json

from tether.engine import activities, deadlines, published, runs, workflow_deadline
from tether.errors import ExecutionNotFound
from tether.model.clock import from_ms
from tether.model.events import EventType
from tether.model.records import (
    OPEN_ATTEMPT_STATES,
    ActivityDescription,
    ActivityInfo,
    ActivityState,
    HistoryEvent,
    MessageInfo,
    WaitingActivity,
    WorkflowDescription,
    WorkflowStatus,
    WorkflowSummary,
)
from tether.store.base import Transaction
from tether.store.rows import ActivityRow, ExecutionRow, MessageRow


def _json(text: str | None) -> object:
    return json.loads(text) if text is not None else None


def describe(tx: Transaction, execution_id: str) -> WorkflowDescription:
    """An execution with its pending activities and their deadlines, and the values it published.

    Raises:
        ExecutionNotFound: no execution has this id.
    """
    execution = tx.get_execution(execution_id)
    if execution is None:
        raise ExecutionNotFound(execution_id)
    armed: dict[int, dict[str, object]] = {}
    deadline = None
    for timer in tx.timers_of(execution_id):
        if timer.kind == workflow_deadline.KIND:
            deadline = from_ms(timer.due_at_ms)
        elif timer.kind != "sleep":
            armed.setdefault(timer.ref, {})[timer.kind] = from_ms(timer.due_at_ms)
    rows = tx.open_activities(execution_id)
    for row in rows:
        _heartbeat_as_it_stands(row, armed.get(row.activity_id, {}))
    pending = [
        ActivityDescription(
            activity_id=row.activity_id,
            name=row.name,
            state=ActivityState(row.state),
            attempt=row.attempt,
            scheduled_at=from_ms(row.scheduled_at_ms),
            attempt_started_at=from_ms(row.attempt_started_at_ms) if row.attempt_started_at_ms else None,
            last_heartbeat_at=from_ms(row.last_heartbeat_at_ms) if row.last_heartbeat_at_ms else None,
            heartbeat_details=_json(row.heartbeat_details),
            last_failure=_json(row.last_failure),  # type: ignore[arg-type]  # stored as a JSON object
            cancel_requested=row.cancel_requested,
            deadlines=armed.get(row.activity_id, {}),  # type: ignore[arg-type]  # values are datetimes
        )
        for row in rows
    ]
    link = tx.get_link(execution.id)
    chain, run = (link.chain_id or execution.id, link.run) if link is not None else (execution.id, 1)
    return WorkflowDescription(
        id=chain,
        workflow=execution.workflow,
        status=WorkflowStatus(execution.status),
        input=json.loads(execution.input),
        result=_json(execution.result),
        error=_json(execution.error),  # type: ignore[arg-type]  # stored as a JSON object
        started_at=from_ms(execution.created_at_ms),
        closed_at=from_ms(execution.closed_at_ms) if execution.closed_at_ms else None,
        cancel_requested=execution.cancel_requested,
        task_error=_json(execution.task_error),  # type: ignore[arg-type]  # stored as a JSON object
        pending_activities=pending,
        run=run,
        run_id=execution.id,
        previous_run_id=runs.run_id(chain, run - 1) if run > 1 else None,
        next_run_id=runs.run_id(chain, run + 1) if execution.status == WorkflowStatus.CONTINUED.value else None,
        parent_id=link.parent_id if link is not None else None,
        children=[child.id for child in tx.children_of(execution.id) if child.chain_id is None],
        patches=[str(e.data["name"]) for e in tx.events_of_type(execution_id, EventType.PATCH_RECORDED)],
        deadline=deadline,
        messages=[_message_info(m) for m in tx.messages_of(execution.id, limit=MESSAGES_SHOWN)],
        published=published.described(tx, execution_id),
        priority=execution.priority,
    )


MESSAGES_SHOWN = 100
"""The most messages a description lists (the latest)."""


def _message_info(row: MessageRow) -> MessageInfo:
    return MessageInfo(
        message_id=row.message_id, kind=row.kind, name=row.name, payload=json.loads(row.payload), key=row.key,
        state=row.state, sent_at=from_ms(row.sent_at_ms), answer=_json(row.answer),
        updated_at=from_ms(row.updated_at_ms) if row.updated_at_ms is not None else None,
    )  # fmt: skip


def _heartbeat_as_it_stands(row: ActivityRow, timers: dict[str, object]) -> None:
    if "heartbeat" in timers:
        # The heartbeat timer re-arms lazily; the real deadline follows the last heartbeat.
        due = deadlines.heartbeat_deadline(row, activities.options_of(row.options))
        if due is not None:
            timers["heartbeat"] = from_ms(due)


def activity_info(
    tx: Transaction, execution: ExecutionRow, row: ActivityRow, token_attempt: int | None
) -> ActivityInfo:
    """What the holder of a token of attempt ``token_attempt`` (None: an activity token) may know of ``row``."""
    timers: dict[str, object] = {
        timer.kind: from_ms(timer.due_at_ms)
        for timer in tx.timers_of(execution.id)
        if timer.ref == row.activity_id and timer.kind not in ("sleep", workflow_deadline.KIND)
    }
    _heartbeat_as_it_stands(row, timers)
    state = ActivityState(row.state)
    return ActivityInfo(
        execution_id=execution.id,
        workflow=execution.workflow,
        activity_id=row.activity_id,
        name=row.name,
        state=state,
        attempt=row.attempt + 1 if state == ActivityState.BACKOFF else row.attempt,
        token_attempt=token_attempt,
        current=state in OPEN_ATTEMPT_STATES and token_attempt in (None, row.attempt),
        cancel_requested=row.cancel_requested,
        last_heartbeat_at=from_ms(row.last_heartbeat_at_ms) if row.last_heartbeat_at_ms else None,
        heartbeat_details=_json(row.heartbeat_details),
        deadlines=timers,  # type: ignore[arg-type]  # values are datetimes
        result_schema=json.loads(row.options).get("result_schema"),
    )


def history(tx: Transaction, execution_id: str) -> list[HistoryEvent]:
    """Every event of an execution, in order.

    Raises:
        ExecutionNotFound: no execution has this id.
    """
    if tx.get_execution(execution_id) is None:
        raise ExecutionNotFound(execution_id)
    return [HistoryEvent(e.seq, str(e.type), from_ms(e.at_ms), e.data) for e in tx.load_events(execution_id)]


def summary(row: ExecutionRow) -> WorkflowSummary:
    """The listing row of an execution."""
    return WorkflowSummary(
        id=row.id,
        workflow=row.workflow,
        status=WorkflowStatus(row.status),
        started_at=from_ms(row.created_at_ms),
        closed_at=from_ms(row.closed_at_ms) if row.closed_at_ms else None,
    )


def waiting(
    row: ActivityRow, workflow: str, inbox_note: str | None, activity_token: str | None = None
) -> WaitingActivity:
    """The inbox view of an activity waiting in its async state (with its activity token, if given)."""
    options = json.loads(row.options)
    note = json.loads(inbox_note) if inbox_note else {}
    return WaitingActivity(
        execution_id=row.execution_id,
        workflow=workflow,
        activity_id=row.activity_id,
        name=row.name,
        attempt=row.attempt,
        args=json.loads(row.args),
        waiting_since=from_ms(row.attempt_started_at_ms or row.scheduled_at_ms),
        last_heartbeat_at=from_ms(row.last_heartbeat_at_ms) if row.last_heartbeat_at_ms else None,
        heartbeat_details=_json(row.heartbeat_details),
        result_schema=options.get("result_schema"),
        inbox=bool(options.get("inbox", False)) or bool(note),
        title=note.get("title"),
        description=note.get("description", ""),
        form_schema=note.get("form_schema"),
        activity_token=activity_token,
    )
