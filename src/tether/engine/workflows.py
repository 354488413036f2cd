"""The execution lifecycle: start, workflow tasks and their commands, cancel, close."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tether.engine import activities, workflow_deadline
from tether.errors import ExecutionIdTaken, ExecutionNotFound, InvalidPayload, UsageError
from tether.model import payloads
from tether.model.events import Command, Event, EventType
from tether.model.records import WorkflowStatus
from tether.store.base import ExecutionRow, TimerRow, Transaction


@dataclass(frozen=True, slots=True)
class WorkflowTask:
    """A claimed workflow task: the execution and the events its worker has not seen."""

    execution_id: str
    workflow: str
    events: list[Event]
    """Events after the worker's cached position (the whole history when it has none)."""
    from_seq: int
    """The sequence number after which ``events`` start."""
    execution: ExecutionRow
    """The execution as read when the task was leased."""


NAME_LIMIT = 512
"""The longest execution id or workflow name, in characters."""


def check_name(value: str, what: str) -> None:
    """Refuse an execution id or workflow name that every transport could not carry the same way.

    Raises:
        InvalidPayload: empty, over the limit, holding control characters, or '.' or '..'
            (which URL paths would swallow).
    """
    problem = None
    if not value or len(value) > NAME_LIMIT:
        problem = f"must have 1 to {NAME_LIMIT} characters"
    elif not value.isprintable():
        problem = "must not hold control characters"
    elif value in (".", ".."):
        problem = "must not be '.' or '..'"
    if problem is not None:
        raise InvalidPayload(f"the {what} {problem}", errors=[{"loc": [what], "msg": problem}])


def start(
    tx: Transaction,
    execution_id: str,
    workflow: str,
    args: str,
    now_ms: int,
    *,
    timeout_ms: int | None = None,
    timeout_known: bool = False,
) -> bool:
    """Create an execution; False if one with this id exists already (it is left as it is).

    ``timeout_known`` says the starter knew the workflow's timeout (``timeout_ms``, None for
    none): it is recorded and armed now; else the first workflow task arms the definition's
    (see ``workflow_deadline``).

    Raises:
        InvalidPayload: the id or the workflow name is not one tether accepts.
        ExecutionIdTaken: the id is taken by an execution of another workflow.
    """
    check_name(execution_id, "id")
    check_name(workflow, "workflow")
    created = tx.insert_execution(
        ExecutionRow(
            id=execution_id, workflow=workflow, status=WorkflowStatus.RUNNING.value, input=args, result=None,
            error=None, created_at_ms=now_ms, closed_at_ms=None, cancel_requested=False, task_error=None, last_seq=0,
        )
    )  # fmt: skip
    if not created:
        existing = tx.get_execution(execution_id)
        if existing is not None and existing.workflow != workflow:
            raise ExecutionIdTaken(execution_id, workflow=existing.workflow, requested=workflow)
        return False
    data = f'{{"workflow":{json.dumps(workflow)},"args":{args}}}'
    if timeout_known:
        data = f'{data[:-1]},"timeout_ms":{json.dumps(timeout_ms)}}}'
        if timeout_ms is not None:
            workflow_deadline.arm(tx, execution_id, now_ms + timeout_ms)
    tx.append_events(execution_id, [(EventType.WORKFLOW_STARTED, data)], now_ms)
    tx.enqueue_workflow_task(execution_id, now_ms)
    return True


def current_run(tx: Transaction, execution_id: str) -> ExecutionRow:
    """The run of an execution that calls by its id act on: its latest (a continued run is followed).

    Every client-facing call that names an execution (describe, cancel, terminate, resume,
    delete, result) goes through here; calls by token name a run's own id and do not.

    Raises:
        ExecutionNotFound: no execution has this id.
    """
    execution = tx.get_execution(execution_id)
    if execution is None:
        raise ExecutionNotFound(execution_id)
    return execution


def request_cancel(tx: Transaction, execution_id: str, now_ms: int) -> None:
    """Deliver a cancellation request to the workflow; nothing if it closed or was asked already.

    Raises:
        ExecutionNotFound: no execution has this id.
    """
    execution = tx.get_execution(execution_id)
    if execution is None:
        raise ExecutionNotFound(execution_id)
    if execution.status != WorkflowStatus.RUNNING.value or execution.cancel_requested:
        return
    if workflow_deadline.apply_if_passed(tx, execution_id, now_ms, execution):
        return  # it timed out before the request came
    tx.update_execution(execution_id, cancel_requested=True)
    tx.append_events(execution_id, [(EventType.WORKFLOW_CANCEL_REQUESTED, "{}")], now_ms)
    tx.enqueue_workflow_task(execution_id, now_ms)


def claim_tasks(
    tx: Transaction,
    *,
    owner: str,
    workflows: list[str],
    limit: int,
    now_ms: int,
    lease_ms: int,
    cached_seq: dict[str, int],
) -> list[WorkflowTask]:
    """Lease ready workflow tasks and load the events each worker still needs."""
    ids = tx.claim_workflow_tasks(
        now_ms=now_ms, owner=owner, lease_until_ms=now_ms + lease_ms, workflows=workflows, limit=limit
    )
    tasks = [_load_task(tx, execution_id, owner, cached_seq) for execution_id in ids]
    return [task for task in tasks if task is not None]


def claim_task(
    tx: Transaction,
    execution_id: str,
    *,
    owner: str,
    workflows: frozenset[str],
    now_ms: int,
    lease_ms: int,
    cached_seq: dict[str, int],
) -> WorkflowTask | None:
    """Lease one execution's ready workflow task, if it is free, with the events the worker needs."""
    if not tx.claim_workflow_task(
        execution_id, now_ms=now_ms, owner=owner, lease_until_ms=now_ms + lease_ms, workflows=workflows
    ):
        return None
    return _load_task(tx, execution_id, owner, cached_seq)


def _load_task(tx: Transaction, execution_id: str, owner: str, cached_seq: dict[str, int]) -> WorkflowTask | None:
    execution = tx.get_execution(execution_id)
    if execution is None or execution.status != _RUNNING:
        tx.finish_workflow_task(execution_id, owner)
        return None
    from_seq = cached_seq.get(execution_id, 0)
    if from_seq > execution.last_seq:
        from_seq = 0
    return WorkflowTask(execution_id, execution.workflow, tx.load_events(execution_id, from_seq), from_seq, execution)


def complete_task(
    tx: Transaction,
    *,
    execution_id: str,
    owner: str,
    seen_seq: int,
    task_now_ms: int,
    commands: list[Command],
    now_ms: int,
    claimed: ExecutionRow | None = None,
    deadline_ms: int | None = None,
) -> int | None:
    """Record a workflow task's commands and carry them out; None if the lease was lost or the deadline passed.

    ``claimed`` is the execution as read when the task was leased in this same
    transaction: the lease and the row need no second look. ``deadline_ms`` is a workflow
    deadline to arm (the first task of an execution started without knowing its timeout).
    Returns the sequence number of the last event written.
    """
    # The execution first: a store may read the task's lease along with it.
    execution = claimed or tx.get_execution(execution_id)
    if claimed is None and not tx.holds_workflow_task(execution_id, owner):
        return None
    if execution is None or execution.status != _RUNNING:
        tx.finish_workflow_task(execution_id, owner)
        return None
    if deadline_ms is not None:
        workflow_deadline.arm(tx, execution_id, deadline_ms)
    if workflow_deadline.apply_if_passed(tx, execution_id, now_ms, execution):
        tx.finish_workflow_task(execution_id, owner)
        return None
    closing: Command | None = None
    for index, command in enumerate(commands):
        if command.type in _CLOSING:
            # Nothing a workflow emits after it closed takes effect.
            commands, closing = commands[:index], command
            break
    count = len(commands) + (closing is not None)
    marker = f'{{"seen":{int(seen_seq)},"now_ms":{int(task_now_ms)},"commands":{count}}}'
    records = [(EventType.WORKFLOW_TASK_COMPLETED, marker)]
    records.extend((c.type, _text(c)) for c in commands)
    last_seq = tx.append_events(execution_id, records, now_ms)
    if execution.task_error is not None:
        tx.update_execution(execution_id, task_error=None)
    for command in commands:
        _apply(tx, execution_id, command, now_ms)
    if closing is not None:
        last_seq = _close(tx, execution_id, closing, now_ms)
    tx.finish_workflow_task(execution_id, owner)
    return last_seq


def _text(command: Command) -> str:
    return payloads.json_text(command.data) if command.text is None else command.text


_RUNNING = WorkflowStatus.RUNNING.value
_CLOSING = frozenset({EventType.WORKFLOW_COMPLETED, EventType.WORKFLOW_FAILED, EventType.WORKFLOW_CANCELLED})


def _apply(tx: Transaction, execution_id: str, command: Command, now_ms: int) -> None:
    data, parts = command.data, command.parts or {}
    match command.type:
        case EventType.ACTIVITY_SCHEDULED:
            args = parts.get("args") or payloads.json_text(data["args"])
            options = parts.get("options") or payloads.json_text(data["options"])
            activities.schedule(tx, execution_id, data["activity_id"], data["name"], args, options, now_ms)
        case EventType.TIMER_STARTED:
            tx.arm_timer(TimerRow(execution_id, "sleep", data["timer_id"], 0, data["due_at_ms"]))
        case EventType.TIMER_CANCELLED:
            tx.delete_timer(execution_id, "sleep", data["timer_id"])
        case EventType.ACTIVITY_CANCEL_REQUESTED:
            activities.request_cancel(tx, execution_id, data["activity_id"], now_ms)
        case EventType.HEARTBEAT_WATCH_STARTED:
            activities.watch_heartbeats(tx, execution_id, data["activity_id"])
        case _:
            raise UsageError(f"a workflow task cannot emit {command.type}")


_CLOSED_BY = {
    EventType.WORKFLOW_COMPLETED: (WorkflowStatus.COMPLETED, "its workflow completed"),
    EventType.WORKFLOW_FAILED: (WorkflowStatus.FAILED, "its workflow failed"),
    EventType.WORKFLOW_CANCELLED: (WorkflowStatus.CANCELLED, "its workflow was cancelled"),
}


def _close(tx: Transaction, execution_id: str, command: Command, now_ms: int) -> int:
    """Close the execution with its closing command; returns the closing event's sequence number."""
    status, reason = _CLOSED_BY[command.type]
    fields: dict[str, Any] = {}
    if command.type == EventType.WORKFLOW_COMPLETED:
        fields["result"] = json.dumps(command.data["result"], separators=(",", ":"))
    elif command.type == EventType.WORKFLOW_FAILED:
        fields["error"] = json.dumps(command.data["failure"])
    return close(tx, execution_id, status, (command.type, _text(command)), reason=reason, now_ms=now_ms, **fields)


def close(
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

    Everything the execution still holds closes first, in this same transition: its open
    activities are cancelled with ``reason`` (their tokens refused from now on), their
    queued attempts and every timer dropped. The closing event is the history's last.
    Every way an execution ends (its code, terminate, its deadline, continue-as-new) goes
    through here. ``fields`` are further columns of the execution to set (result, error).
    """
    activities.close_with_execution(tx, execution_id, reason, now_ms)
    tx.delete_execution_timers(execution_id)
    last_seq = tx.append_events(execution_id, [event], now_ms)
    tx.update_execution(execution_id, status=status.value, closed_at_ms=now_ms, **fields)
    tx.closed(execution_id)
    return last_seq


def fail_task(tx: Transaction, *, execution_id: str, owner: str, error: dict[str, Any], now_ms: int) -> None:
    """Record why a workflow task failed; it runs again when new events arrive or a worker restarts."""
    if not tx.holds_workflow_task(execution_id, owner):
        return
    execution = tx.get_execution(execution_id)
    text = json.dumps(error)
    if execution is not None and execution.task_error != text:
        tx.update_execution(execution_id, task_error=text)
        tx.append_events(execution_id, [(EventType.WORKFLOW_TASK_FAILED, text)], now_ms)
    tx.finish_workflow_task(execution_id, owner)


def release_task(tx: Transaction, *, execution_id: str, owner: str, now_ms: int) -> bool:
    """Give back a task's lease so that it is offered again now; False if ``owner`` no longer held it.

    A worker whose task the store failed gives it back instead of holding it to the end of
    its lease. Finishing and offering again is safe whatever the failed commit did.
    """
    if not tx.finish_workflow_task(execution_id, owner):
        return False
    tx.enqueue_workflow_task(execution_id, now_ms)
    return True


def retry_failed_tasks(tx: Transaction, now_ms: int) -> None:
    """Offer every running execution whose last workflow task failed to workers again."""
    for execution_id in tx.executions_with_failed_task():
        tx.enqueue_workflow_task(execution_id, now_ms)
