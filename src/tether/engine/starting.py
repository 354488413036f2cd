"""Creating an execution: the row, its WorkflowStarted event and its first workflow task, in one transition.

Whoever starts an execution (a client, a parent workflow's task starting a child, a run
that continues as new) goes through :func:`create`.
"""

from __future__ import annotations

import json

from tether.engine import observation
from tether.errors import ExecutionIdTaken, InvalidPayload
from tether.model.events import EventType
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow

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


def create(
    tx: Transaction,
    execution_id: str,
    workflow: str,
    args: str,
    now_ms: int,
    *,
    started: str = "",
    priority: int = 0,
    new_id: bool = False,
) -> bool:
    """Create an execution; False if one with this id exists already (it is left as it is).

    ``args`` is the JSON list of arguments; ``started`` more members of the WorkflowStarted
    event's data, as JSON text that begins with a comma. ``priority`` orders its ready work
    (recorded in that event when not 0). ``new_id``: the id was made just now for this
    execution, so it cannot be taken (see ``Transaction.insert_execution``).

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
            priority=priority,
        ),
        new=new_id,
    )  # fmt: skip
    if not created:
        existing = tx.get_execution(execution_id)
        if existing is not None and existing.workflow != workflow:
            raise ExecutionIdTaken(execution_id, workflow=existing.workflow, requested=workflow)
        return False
    if priority:
        started = f'{started},"priority":{priority}'
    data = f'{{"workflow":{json.dumps(workflow)},"args":{args}{started}}}'
    tx.append_events(execution_id, [(EventType.WORKFLOW_STARTED, data)], now_ms)
    tx.enqueue_workflow_task(execution_id, now_ms)
    if observation.observers:
        observation.execution_started(execution_id, workflow)
    return True
