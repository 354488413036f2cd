"""Acting on an execution from outside its code: terminate it, delete it, retry an activity now, retention.

Every function here is a transition body: it checks the current state first and raises
before writing anything when it refuses.
"""

from __future__ import annotations

import json

from tether.engine import activities, runs, workflows
from tether.errors import ActivityNotFound, ActivityNotInBackoff, ExecutionClosed, ExecutionNotClosed
from tether.model.events import EventType, failure
from tether.model.records import ActivityState, WorkflowStatus
from tether.store.base import Transaction
from tether.store.rows import ExecutionRow

_RUNNING = WorkflowStatus.RUNNING.value
_BACKOFF = ActivityState.BACKOFF.value


def terminate(tx: Transaction, execution: ExecutionRow, reason: str, now_ms: int) -> int:
    """Close a running execution now as terminated, without running its code; returns the closing event's seq.

    Its open activities end cancelled (their tokens refused from now on) and its timers are
    dropped, all in this transition; its result raises WorkflowTerminated with ``reason``.

    Raises:
        ExecutionClosed: it closed already (nothing changes).
    """
    if execution.status != _RUNNING:
        raise ExecutionClosed(execution.id, status=execution.status)
    said = f": {reason}" if reason else ""
    return workflows.close(
        tx,
        execution.id,
        WorkflowStatus.TERMINATED,
        (EventType.WORKFLOW_TERMINATED, json.dumps({"reason": reason})),
        reason=f"its workflow was terminated{said}",
        now_ms=now_ms,
        error=json.dumps(failure("WorkflowTerminated", reason)),
    )


def delete(tx: Transaction, execution: ExecutionRow) -> None:
    """Delete a closed execution and everything it has; its id may then be started again.

    Raises:
        ExecutionNotClosed: it still runs (nothing changes).
    """
    if execution.status == _RUNNING:
        raise ExecutionNotClosed(execution.id)
    delete_execution(tx, execution)


def delete_execution(tx: Transaction, execution: ExecutionRow) -> None:
    """Remove the rows of an execution: every run of its chain when ``execution`` is the last.

    Retention and ``delete`` both come here. A run that continued as new goes alone
    (retention removes old runs of a chain that goes on; never its first, whose id names
    the chain); the chain's last run, closed otherwise, takes all the runs with it.
    """
    chain, run = runs.chain_of(tx, execution)
    if execution.status == WorkflowStatus.CONTINUED.value:
        tx.delete_executions([execution.id])
        return
    tx.delete_executions([runs.run_id(chain, number) for number in range(run, 0, -1)])


def delete_expired(tx: Transaction, closed_before_ms: int, limit: int) -> int:
    """Delete up to ``limit`` executions that closed before ``closed_before_ms``; returns how many.

    Each is read again (locked, on PostgreSQL) before it goes: one that another process
    deleted meanwhile is passed over.
    """
    deleted = 0
    for execution_id in tx.expired_executions(closed_before_ms, limit):
        execution = tx.get_execution(execution_id)
        if execution is None or execution.closed_at_ms is None or execution.closed_at_ms >= closed_before_ms:
            continue
        delete_execution(tx, execution)
        deleted += 1
    return deleted


def retry_activity_now(tx: Transaction, execution: ExecutionRow, activity_id: int, now_ms: int) -> int:
    """Start the next attempt of an activity that waits out its retry back-off now; returns that attempt.

    It is what its retry timer does when it fires: the timer is dropped and the next attempt
    queued. Deadlines that passed are applied first, so an activity whose back-off or total
    deadline already ran out is not in back-off any more.

    Raises:
        ActivityNotFound: the execution has no such activity.
        ActivityNotInBackoff: the activity does not wait for a retry (its state is named).
    """
    row = tx.get_activity(execution.id, activity_id)
    if row is None:
        raise ActivityNotFound(execution.id, activity_id)
    row, lapsed = activities.apply_passed_deadlines(tx, row, now_ms)
    if row.state != _BACKOFF:
        refusal = ActivityNotInBackoff(execution_id=execution.id, activity_id=activity_id, state=row.state)
        if lapsed:
            raise activities.RefusedAfterDeadlines(refusal)
        raise refusal
    tx.delete_timer(row.execution_id, "retry", row.activity_id)
    activities.start_retry(tx, row)
    return row.attempt + 1
