"""How an execution ends, whatever ends it, and what its end does to its children and its parent.

Closing an execution closes everything it still holds in the same transition: its open
activities are cancelled (their tokens refused from then on), their queued attempts and
its timers dropped, and its running children are asked to cancel (unless they were started
with ``parent_close="abandon"``). When a child closes (for good: not a run that continues
as new), its parent, if still running, gets a ChildWorkflowClosed event and a workflow task.
"""

from __future__ import annotations

import json
from typing import Any

from tether.engine import activity_cancels, notifier, observation, workflow_deadline
from tether.model.events import EventType
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow, LinkRow

_RUNNING = WorkflowStatus.RUNNING.value


def close_execution(
    tx: Transaction,
    execution_id: str,
    status: WorkflowStatus,
    event: tuple[EventType, str],
    *,
    reason: str,
    now_ms: int,
    **fields: Any,
) -> int:
    """Close a running execution with ``event`` (type, JSON data); returns its sequence number.

    ``fields`` are further columns of the execution to set (result, error). The closing
    event is the history's last.
    """
    activity_cancels.close_with_execution(tx, execution_id, reason, now_ms)
    tx.delete_execution_timers(execution_id)
    link = tx.get_link(execution_id)
    for child in tx.children_of(execution_id) if link is not None and link.has_children else ():
        if child.parent_close == "abandon":
            continue
        row = tx.get_execution(child.id)
        if row is not None and row.status == _RUNNING:
            request_cancel(tx, row, now_ms)
    last_seq = tx.append_events(execution_id, [event], now_ms)
    tx.update_execution(execution_id, status=status.value, closed_at_ms=now_ms, **fields)
    tx.closed(execution_id)
    if observation.observers and observation.listening():
        closed = tx.get_execution(execution_id)
        if closed is not None:
            observation.note(observation.ExecutionClosed(execution_id, closed.workflow, status.value))
    tx.wake(notifier.MESSAGES)  # callers waiting for a reply to a request it held learn that none comes
    if status != WorkflowStatus.CONTINUED and link is not None:
        _tell_parent(tx, execution_id, link, status, fields, now_ms)
    return last_seq


def request_cancel(tx: Transaction, execution: ExecutionRow, now_ms: int) -> None:
    """Deliver a cancellation request to a run; nothing if it closed, was asked already, or timed out.

    A workflow deadline that passed is applied first: the run then closed before the request came.
    """
    if execution.status != _RUNNING or execution.cancel_requested:
        return
    if workflow_deadline.apply_if_passed(tx, execution.id, now_ms, execution):
        return
    tx.update_execution(execution.id, cancel_requested=True)
    tx.append_events(execution.id, [(EventType.WORKFLOW_CANCEL_REQUESTED, "{}")], now_ms)
    tx.enqueue_workflow_task(execution.id, now_ms)


def _tell_parent(
    tx: Transaction, execution_id: str, link: LinkRow, status: WorkflowStatus, fields: dict[str, Any], now_ms: int
) -> None:
    if link.parent_id is None or link.parent_ref is None:
        return
    outcome = outcome_of(status.value, fields.get("result"), fields.get("error"))
    deliver_child_outcome(tx, link.parent_id, link.parent_ref, link.chain_id or execution_id, outcome, now_ms)


def outcome_of(status: str, result: str | None, error: str | None) -> dict[str, Any]:
    """What a parent hears of its closed child: its status, and its result or failure (stored as JSON)."""
    outcome: dict[str, Any] = {"status": status}
    if result is not None:
        outcome["result"] = json.loads(result)
    if error is not None:
        outcome["failure"] = json.loads(error)
    return outcome


def deliver_child_outcome(
    tx: Transaction, parent_id: str, child_ref: int, child_id: str, outcome: dict[str, Any], now_ms: int
) -> None:
    """Tell a running parent that its child ``child_ref`` closed (``outcome``: status, result or failure)."""
    parent = tx.get_execution(parent_id)
    if parent is None or parent.status != _RUNNING:
        return  # closed means closed: a parent that ended hears nothing more
    data = json.dumps({"child_ref": child_ref, "id": child_id, **outcome}, separators=(",", ":"))
    tx.append_events(parent_id, [(EventType.CHILD_WORKFLOW_CLOSED, data)], now_ms)
    tx.enqueue_workflow_task(parent_id, now_ms)
