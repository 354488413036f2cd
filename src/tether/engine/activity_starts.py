"""Starting activity attempts: claim queued ones for a worker, mark them running, arm deadlines, sign tokens.

Transition bodies, as in :mod:`tether.engine.activities`: each runs inside one store
transaction. An attempt whose activity or execution is past a deadline, or that is no
longer the one queued, is not started; what the worker gets is an :class:`AttemptStart`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tether.engine import activities, observation, workflow_deadline
from tether.model.events import EventType
from tether.model.records import ActivityState
from tether.model.tokens import Claims, TokenClaims
from tether.store.base import Transaction
from tether.store.rows import ActivityTaskRow, TimerRow

Signer = Callable[[Transaction, Claims, int], str]
"""Signs the token of an attempt as it starts (``Keys.sign``: the current key, read through the transaction)."""
_SCHEDULED, _RUNNING = ActivityState.SCHEDULED.value, ActivityState.RUNNING.value


@dataclass(frozen=True, slots=True)
class AttemptStart:
    """What a worker needs to run one attempt."""

    execution_id: str
    activity_id: int
    attempt: int
    name: str
    args: str
    checkpoint: str | None
    token: str
    heartbeat_ms: int | None


def start_attempts(
    tx: Transaction, names: list[str], limit: int, now_ms: int, sign: Signer, worker: str
) -> list[AttemptStart]:
    """Claim queued attempts for a worker and mark them running."""
    started = []
    for task in tx.claim_activity_tasks(activities=names, limit=limit):
        start = start_attempt(tx, task, now_ms, sign, worker)
        if start is not None:
            started.append(start)
    return started


def start_attempt(
    tx: Transaction, task: ActivityTaskRow, now_ms: int, sign: Signer, worker: str
) -> AttemptStart | None:
    """Mark a claimed attempt running on ``worker``, arm its deadlines and sign its token.

    The worker renews a lease while it lives; if it stops (killed, cut off), its running
    attempts are failed as WorkerLost and retried, even without heartbeat or attempt timeouts.
    """
    row = tx.get_activity(task.execution_id, task.activity_id)
    if row is None or workflow_deadline.apply_if_passed(tx, task.execution_id, now_ms):
        return None  # an execution past its deadline starts nothing: it timed out then
    row, _ = activities.apply_passed_deadlines(tx, row, now_ms)  # an activity past its total deadline starts no attempt
    if row.state != _SCHEDULED or row.attempt != task.attempt:
        return None
    options = activities.options_of(row.options)
    if observation.observers:
        observation.attempt_started(row, now_ms)
    tx.update_activity(
        row.execution_id,
        row.activity_id,
        state=_RUNNING,
        attempt_started_at_ms=now_ms,
        last_heartbeat_at_ms=None,
        checkpoint=row.heartbeat_details,
        worker=worker,
    )
    if options.attempt_timeout_ms is not None:
        due = now_ms + options.attempt_timeout_ms
        tx.arm_timer(TimerRow(row.execution_id, "attempt", row.activity_id, row.attempt, due))
    if options.heartbeat_ms is not None:
        due = now_ms + options.heartbeat_ms
        tx.arm_timer(TimerRow(row.execution_id, "heartbeat", row.activity_id, row.attempt, due))
    tx.append_events(
        row.execution_id,
        [(EventType.ACTIVITY_ATTEMPT_STARTED, f'{{"activity_id":{row.activity_id},"attempt":{row.attempt}}}')],
        now_ms,
    )
    token = sign(tx, TokenClaims(row.execution_id, row.activity_id, row.attempt), now_ms)
    return AttemptStart(
        row.execution_id,
        row.activity_id,
        row.attempt,
        row.name,
        row.args,
        row.heartbeat_details,
        token,
        options.heartbeat_ms,
    )
