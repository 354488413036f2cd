"""The execution lifecycle: start, workflow tasks and their commands, cancel, close."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tether.engine import (
    activities,
    activity_cancels,
    children,
    closing,
    message_states,
    observation,
    published,
    runs,
    starting,
    tracing,
    workflow_deadline,
)
from tether.errors import UsageError
from tether.model import payloads
from tether.model.events import Command, Event, EventType
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow, TimerRow


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
    leased_until_ms: int
    """When the lease ends: with the owner, it names this claim of the task, which a claim after
    the lease ran out (even by a worker of the same name) does not share."""
    discard_cached: bool = False
    """The worker's cached instance read further than this history goes: another history, of an
    execution deleted since whose id was started again. It must not be used."""


def start(
    tx: Transaction,
    execution_id: str,
    workflow: str,
    args: str,
    now_ms: int,
    *,
    timeout_ms: int | None = None,
    timeout_known: bool = False,
    priority: int = 0,
    trace: tracing.Carrier | None = None,
    new_id: bool = False,
) -> bool:
    """Create an execution; False if one with this id exists already (it is left as it is).

    ``timeout_known`` says the starter knew the workflow's timeout (``timeout_ms``, None for
    none): it is recorded and armed now; else the first workflow task arms the definition's
    (see ``workflow_deadline``). ``new_id``: the id was made just now for this execution.

    Raises:
        InvalidPayload: the id or the workflow name is not one tether accepts.
        ExecutionIdTaken: the id is taken by an execution of another workflow.
    """
    runs.check_not_reserved(execution_id)
    started = f',"timeout_ms":{json.dumps(timeout_ms)}' if timeout_known else ""
    started += tracing.started_member(trace)
    created = starting.create(
        tx, execution_id, workflow, args, now_ms, started=started, priority=priority, new_id=new_id
    )
    if created and timeout_known and timeout_ms is not None:
        workflow_deadline.arm(tx, execution_id, now_ms + timeout_ms)
    return created


def claim_tasks(
    tx: Transaction,
    *,
    owner: str,
    workflows: list[str],
    limit: int,
    now_ms: int,
    lease_ms: int,
    cached_seq: dict[str, int],
    history_limit: int | None = None,
) -> list[WorkflowTask]:
    """Lease ready workflow tasks and load the events each worker still needs (see :func:`_load_task`)."""
    until = now_ms + lease_ms
    ids = tx.claim_workflow_tasks(now_ms=now_ms, owner=owner, lease_until_ms=until, workflows=workflows, limit=limit)
    tasks = [_load_task(tx, execution_id, owner, until, cached_seq, history_limit, now_ms) for execution_id in ids]
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
    history_limit: int | None = None,
) -> WorkflowTask | None:
    """Lease one execution's ready workflow task, if it is free, with the events the worker needs."""
    until = now_ms + lease_ms
    if not tx.claim_workflow_task(execution_id, now_ms=now_ms, owner=owner, lease_until_ms=until, workflows=workflows):
        return None
    return _load_task(tx, execution_id, owner, until, cached_seq, history_limit, now_ms)


def _load_task(
    tx: Transaction,
    execution_id: str,
    owner: str,
    leased_until_ms: int,
    cached_seq: dict[str, int],
    history_limit: int | None,
    now_ms: int,
) -> WorkflowTask | None:
    """The leased task with the events its worker lacks; none for a run past ``history_limit``.

    The worker refuses the task of such a run (HistoryTooLarge) without its history: there
    is no point in reading the events of a run too large to replay.
    """
    execution = tx.get_execution(execution_id)
    if execution is None or execution.status != _RUNNING:
        tx.finish_workflow_task(execution_id, owner, leased_until_ms)
        return None
    if history_limit is not None and execution.last_seq > history_limit:
        return WorkflowTask(execution_id, execution.workflow, [], execution.last_seq, execution, leased_until_ms)
    from_seq = cached_seq.get(execution_id, 0)
    ahead = from_seq > execution.last_seq
    if ahead:
        from_seq = 0
    events = tx.load_events(execution_id, from_seq)
    if observation.observers:
        observation.resumed(execution_id, events, now_ms)
    return WorkflowTask(
        execution_id, execution.workflow, events, from_seq, execution, leased_until_ms, discard_cached=ahead
    )


def complete_task(
    tx: Transaction,
    *,
    execution_id: str,
    owner: str,
    leased_until_ms: int,
    seen_seq: int,
    task_now_ms: int,
    commands: list[Command],
    now_ms: int,
    claimed: ExecutionRow | None = None,
    deadline_ms: int | None = None,
) -> int | None:
    """Record a workflow task's commands and carry them out; None if it is not recorded.

    It is not when the lease was lost (``owner``'s claim until ``leased_until_ms``: a run that
    outlasted its lease is refused once the task was claimed again, even by a worker of the
    same name), the deadline passed, or the task would close the execution but a message came
    after what it had seen (the task then runs again).

    ``claimed`` is the execution as read when the task was leased in this same
    transaction: the lease and the row need no second look. ``deadline_ms`` is a workflow
    deadline to arm (the first task of an execution started without knowing its timeout).
    Returns the sequence number of the last event written.
    """
    # The execution first: a store may read the task's lease along with it.
    execution = claimed or tx.get_execution(execution_id)
    if claimed is None and not tx.holds_workflow_task(execution_id, owner, leased_until_ms):
        return None
    if execution is None or execution.status != _RUNNING:
        tx.finish_workflow_task(execution_id, owner, leased_until_ms)
        return None
    if deadline_ms is not None:
        workflow_deadline.arm(tx, execution_id, deadline_ms)
    if workflow_deadline.apply_if_passed(tx, execution_id, now_ms, execution):
        tx.finish_workflow_task(execution_id, owner, leased_until_ms)
        return None
    closing_command: Command | None = None
    for index, command in enumerate(commands):
        if command.type in _CLOSING:
            # Nothing a workflow emits after it closed takes effect.
            commands, closing_command = commands[:index], command
            break
    if closing_command is not None and _messages_came(tx, execution, closing_command, seen_seq):
        # The workflow must see them before it may close: the task runs again, from its history.
        tx.finish_workflow_task(execution_id, owner, leased_until_ms)
        return None
    count = len(commands) + (closing_command is not None)
    marker = f'{{"seen":{int(seen_seq)},"now_ms":{int(task_now_ms)},"commands":{count}}}'
    records = [(EventType.WORKFLOW_TASK_COMPLETED, marker)]
    records.extend((c.type, _text(c)) for c in commands)
    last_seq = tx.append_events(execution_id, records, now_ms)
    if execution.task_error is not None:
        tx.update_execution(execution_id, task_error=None)
    for command in commands:
        _apply(tx, execution, command, now_ms)
    if closing_command is not None:
        if closing_command.type == EventType.WORKFLOW_CONTINUED_AS_NEW:
            last_seq = runs.continue_as_new(tx, execution, closing_command, seen_seq, now_ms)
        else:
            last_seq = _close(tx, execution_id, closing_command, now_ms)
    tx.finish_workflow_task(execution_id, owner, leased_until_ms)
    return last_seq


def _messages_came(tx: Transaction, execution: ExecutionRow, closing: Command, seen_seq: int) -> bool:
    """Whether a message or request came after what the closing task had seen (a next run gets those)."""
    if execution.last_seq <= seen_seq or closing.type == EventType.WORKFLOW_CONTINUED_AS_NEW:
        return False
    return any(e.type in _MESSAGE_EVENTS for e in tx.load_events(execution.id, seen_seq))


_MESSAGE_EVENTS = frozenset({EventType.MESSAGE_SENT, EventType.REQUEST_SENT})


def _text(command: Command) -> str:
    return payloads.json_text(command.data) if command.text is None else command.text


_RUNNING = WorkflowStatus.RUNNING.value
_CLOSING = frozenset(
    {
        EventType.WORKFLOW_COMPLETED,
        EventType.WORKFLOW_FAILED,
        EventType.WORKFLOW_CANCELLED,
        EventType.WORKFLOW_CONTINUED_AS_NEW,
    }
)


def closes(commands: list[Command]) -> bool:
    """Whether a workflow task's commands close its execution (if nothing stops them from taking effect)."""
    return any(command.type in _CLOSING for command in commands)


def _apply(tx: Transaction, execution: ExecutionRow, command: Command, now_ms: int) -> None:
    execution_id = execution.id
    data, parts = command.data, command.parts or {}
    match command.type:
        case EventType.ACTIVITY_SCHEDULED:
            args = parts.get("args") or payloads.json_text(data["args"])
            options = parts.get("options") or payloads.json_text(data["options"])
            activities.schedule(tx, execution, data["activity_id"], data["name"], args, options, now_ms)
        case EventType.TIMER_STARTED:
            tx.arm_timer(TimerRow(execution_id, "sleep", data["timer_id"], 0, data["due_at_ms"]))
        case EventType.TIMER_CANCELLED:
            tx.delete_timer(execution_id, "sleep", data["timer_id"])
        case EventType.ACTIVITY_CANCEL_REQUESTED:
            activity_cancels.request_cancel(tx, execution_id, data["activity_id"], now_ms)
        case EventType.HEARTBEAT_WATCH_STARTED:
            activities.watch_heartbeats(tx, execution_id, data["activity_id"])
        case EventType.CHILD_WORKFLOW_STARTED:
            children.start(tx, execution, data, now_ms)
        case EventType.CHILD_WORKFLOW_CANCEL_REQUESTED:
            children.request_cancel(tx, execution, data, now_ms)
        case EventType.MESSAGE_RECEIVED | EventType.REQUEST_RECEIVED | EventType.REQUEST_ANSWERED:
            message_states.apply(tx, execution, command.type, data, now_ms)
        case EventType.PATCH_RECORDED:
            pass  # a marker for replay (tether.patched): its event is all there is to it
        case EventType.VALUE_PUBLISHED:
            published.record(tx, execution_id, data, parts, now_ms)
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
        parts = command.parts  # the result's text as the workflow's code encoded it, unless a codec encoded it since
        fields["result"] = parts["result"] if parts is not None else payloads.json_text(command.data["result"])
    elif command.type == EventType.WORKFLOW_FAILED:
        fields["error"] = json.dumps(command.data["failure"])
    return close(tx, execution_id, status, (command.type, _text(command)), reason=reason, now_ms=now_ms, **fields)


close = closing.close_execution
"""Close a running execution with its closing event: every way an execution ends (its code,
terminate, its deadline, continue-as-new) goes through it (see :mod:`tether.engine.closing`)."""


def fail_task(
    tx: Transaction, *, execution_id: str, owner: str, leased_until_ms: int, error: dict[str, Any], now_ms: int
) -> None:
    """Record why a workflow task failed; it runs again when new events arrive or a worker restarts."""
    if not tx.holds_workflow_task(execution_id, owner, leased_until_ms):
        return
    execution = tx.get_execution(execution_id)
    text = json.dumps(error)
    # An execution closed from outside (terminated) while the task ran: nothing follows its close.
    if execution is not None and execution.status == _RUNNING and execution.task_error != text:
        tx.update_execution(execution_id, task_error=text)
        tx.append_events(execution_id, [(EventType.WORKFLOW_TASK_FAILED, text)], now_ms)
    tx.finish_workflow_task(execution_id, owner, leased_until_ms)


def release_task(tx: Transaction, *, execution_id: str, owner: str, leased_until_ms: int, now_ms: int) -> bool:
    """Give back a task's lease so that it is offered again now; False if ``owner`` no longer held it.

    A worker whose task the store failed gives it back instead of holding it to the end of
    its lease. Finishing and offering again is safe whatever the failed commit did.
    """
    if not tx.finish_workflow_task(execution_id, owner, leased_until_ms):
        return False
    tx.enqueue_workflow_task(execution_id, now_ms)
    return True


def retry_failed_tasks(tx: Transaction, now_ms: int) -> None:
    """Offer every running execution whose last workflow task failed to workers again."""
    for execution_id in tx.executions_with_failed_task():
        tx.enqueue_workflow_task(execution_id, now_ms)
