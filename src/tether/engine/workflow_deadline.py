"""The workflow deadline: a durable timer that ends an execution as timed out when it falls due.

The deadline is a timer row of kind ``workflow`` (ref 0, attempt 0). Its timer closes the
execution when nobody calls; every transition on the execution applies it first if it has
passed, at the deadline's own time, so that a late call never wins because a timer pass
was slow (as activity deadlines do, see ``activities.apply_passed_deadlines``).

Where a deadline comes from: a start that knows the workflow's timeout (the client holds
the definition, or the caller gave ``timeout=``) arms it with the start and records
``timeout_ms`` (null for none) in ``WorkflowStarted``. A start by name that knows neither
records no ``timeout_ms``; the first workflow task, run by a worker that holds the
definition, then arms the definition's timeout from the execution's start time. A resume
arms a new deadline from the resume only if it is given one.
"""

from __future__ import annotations

import json

from tether.engine import workflows
from tether.model.events import EventType, failure
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow, TimerRow

KIND = "workflow"
"""The timer kind of a workflow deadline (its ref and attempt are 0)."""


def arm(tx: Transaction, execution_id: str, due_at_ms: int) -> None:
    """Arm (or move) the execution's deadline."""
    tx.arm_timer(TimerRow(execution_id, KIND, 0, 0, due_at_ms))


def time_out(tx: Transaction, execution_id: str, due_at_ms: int) -> None:
    """Close the running execution as timed out at its deadline ``due_at_ms``."""
    stamp = json.dumps({"deadline_ms": due_at_ms})
    fault = failure("WorkflowTimedOut", "the workflow passed its deadline")
    workflows.close(
        tx, execution_id, WorkflowStatus.TIMED_OUT, (EventType.WORKFLOW_TIMED_OUT, stamp),
        reason="its workflow timed out", now_ms=due_at_ms, error=json.dumps(fault),
    )  # fmt: skip


def apply_if_passed(tx: Transaction, execution_id: str, now_ms: int, execution: ExecutionRow | None = None) -> bool:
    """Time the execution out at its deadline if that passed by ``now_ms``; True if it did (it is closed now).

    Every transition on a running execution calls this first: what it was about to do
    comes too late and is refused or ignored. ``execution`` is its row if the caller read
    it already.
    """
    if execution is None:
        # Read first: the store reads the deadline along with the row (most transitions need it anyway).
        execution = tx.get_execution(execution_id)
    due = tx.workflow_deadline_ms(execution_id)
    if due is None or due > now_ms:
        return False
    if execution is None or execution.status != _RUNNING:
        return False
    tx.delete_timer(execution_id, KIND, 0)
    time_out(tx, execution_id, due)
    return True


def fire(tx: Transaction, timer: TimerRow) -> None:
    """The deadline's timer came due (it is deleted already): time the execution out if it still runs."""
    execution = tx.get_execution(timer.execution_id)
    if execution is not None and execution.status == _RUNNING:
        time_out(tx, timer.execution_id, timer.due_at_ms)


_RUNNING = WorkflowStatus.RUNNING.value
