"""SQLite queries of the two task queues: workflow tasks and activity attempts.

Both are mostly held back within a transition (see :mod:`sqlite_pending`): a task queued and
taken again by the same transition never reaches the database.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable

from tether.store.rows import ActivityTaskRow, ExecutionRow, QueueGauges
from tether.store.sqlite import pending as sqlite_pending
from tether.store.sqlite.pending import HeldWorkflowTask, WorkflowTaskState


class QueueQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about the task queues."""

    _conn: sqlite3.Connection
    pending: sqlite_pending.PendingWrites
    topics: set[str]
    enqueued_workflows: list[str]
    enqueued_activities: list[ActivityTaskRow]
    _write: Callable[[], None]
    get_execution: Callable[[str], ExecutionRow | None]

    # workflow tasks

    def enqueue_workflow_task(self, execution_id: str, ready_at_ms: int) -> None:  # noqa: D102
        # A task already leased by a worker is marked dirty so that it is offered again
        # when that worker finishes: the events appended now were not part of its run.
        self.enqueued_workflows.append(execution_id)
        execution = self.get_execution(execution_id)
        if execution is None or execution.status != "running":
            return
        held = self.pending.workflow_tasks.get(execution_id)
        if held is None:
            if execution_id in self.pending.stored_tasks:
                stored = self.pending.stored_tasks[execution_id]
            else:
                row = self._conn.execute(
                    "SELECT workflow, ready_at_ms, leased_until_ms, owner, dirty, priority FROM workflow_tasks "
                    "WHERE execution_id = ?",
                    (execution_id,),
                ).fetchone()
                stored = (
                    None if row is None else WorkflowTaskState(row[0], row[1], row[2], row[3], bool(row[4]), row[5])
                )
            held = HeldWorkflowTask(stored is not None, stored)
        state = held.state
        if state is None:
            state = WorkflowTaskState(execution.workflow, ready_at_ms, 0, None, False, execution.priority)
        else:
            # Built directly: NamedTuple._replace costs several times as much, on every step.
            state = WorkflowTaskState(
                state.workflow,
                min(state.ready_at_ms, ready_at_ms),
                state.leased_until_ms,
                state.owner,
                True,
                state.priority,
            )
        self.pending.workflow_tasks[execution_id] = HeldWorkflowTask(held.stored, state)

    def claim_workflow_tasks(  # noqa: D102
        self, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str], limit: int
    ) -> list[str]:
        self.pending.flush_workflow_tasks()
        self._write()
        self.pending.stored_tasks.clear()
        rows = self._conn.execute(
            "SELECT execution_id FROM workflow_tasks WHERE leased_until_ms <= ? AND ready_at_ms <= ? "
            "AND workflow IN (SELECT value FROM json_each(?)) ORDER BY priority DESC, ready_at_ms LIMIT ?",
            (now_ms, now_ms, json.dumps(sorted(workflows)), limit),
        ).fetchall()
        ids = [r[0] for r in rows]
        self._conn.executemany(
            "UPDATE workflow_tasks SET leased_until_ms = ?, owner = ?, dirty = 0 WHERE execution_id = ?",
            [(lease_until_ms, owner, i) for i in ids],
        )
        return ids

    def claim_workflow_task(  # noqa: D102
        self, execution_id: str, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str]
    ) -> bool:
        names = workflows if isinstance(workflows, frozenset) else frozenset(workflows)
        held = self.pending.workflow_tasks.get(execution_id)
        if held is not None:
            state = held.state
            if state is None or state.leased_until_ms > now_ms or state.ready_at_ms > now_ms:
                return False
            if state.workflow not in names:
                return False
            leased = WorkflowTaskState(state.workflow, state.ready_at_ms, lease_until_ms, owner, False, state.priority)
            self.pending.workflow_tasks[execution_id] = HeldWorkflowTask(held.stored, leased)
            return True
        self._write()
        self.pending.stored_tasks.clear()
        return bool(
            self._conn.execute(
                "UPDATE workflow_tasks SET leased_until_ms = ?, owner = ?, dirty = 0 "
                "WHERE execution_id = ? AND leased_until_ms <= ? AND ready_at_ms <= ? "
                "AND workflow IN (SELECT value FROM json_each(?))",
                (lease_until_ms, owner, execution_id, now_ms, now_ms, _names_json(names)),
            ).rowcount
        )

    def claim_activity_task(self, task: ActivityTaskRow) -> bool:  # noqa: D102
        key = (task.execution_id, task.activity_id)
        held = self.pending.activity_tasks.get(key)
        if held is not None:
            if held.attempt != task.attempt:
                return False
            del self.pending.activity_tasks[key]
            return True
        self._write()
        cursor = self._conn.execute(
            "DELETE FROM activity_tasks WHERE execution_id = ? AND activity_id = ? AND attempt = ?",
            (task.execution_id, task.activity_id, task.attempt),
        )
        return cursor.rowcount > 0

    def finish_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:  # noqa: D102
        held = self.pending.workflow_tasks.get(execution_id)
        if held is not None:
            state = held.state
            if state is None or state.owner != owner or state.leased_until_ms != leased_until_ms:
                return False
            if state.dirty:
                offered = WorkflowTaskState(state.workflow, state.ready_at_ms, 0, None, False, state.priority)
                self.pending.workflow_tasks[execution_id] = HeldWorkflowTask(held.stored, offered)
                self.topics.add("workflows")
            else:
                self.pending.workflow_tasks[execution_id] = HeldWorkflowTask(held.stored, None)
            return True
        self._write()
        self.pending.stored_tasks.clear()
        lease = (execution_id, owner, leased_until_ms)
        deleted = self._conn.execute(
            "DELETE FROM workflow_tasks WHERE execution_id = ? AND owner = ? AND leased_until_ms = ? AND dirty = 0",
            lease,
        ).rowcount
        if deleted:
            return True
        requeued = self._conn.execute(
            "UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL, dirty = 0 "
            "WHERE execution_id = ? AND owner = ? AND leased_until_ms = ? AND dirty = 1",
            lease,
        ).rowcount
        if requeued:
            self.topics.add("workflows")
        return bool(requeued)

    def holds_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:  # noqa: D102
        held = self.pending.workflow_tasks.get(execution_id)
        if held is not None:
            state = held.state
            return state is not None and state.owner == owner and state.leased_until_ms == leased_until_ms
        if execution_id in self.pending.stored_tasks:  # read along with the execution
            stored = self.pending.stored_tasks[execution_id]
            return stored is not None and stored.owner == owner and stored.leased_until_ms == leased_until_ms
        row = self._conn.execute(
            "SELECT owner, leased_until_ms FROM workflow_tasks WHERE execution_id = ?", (execution_id,)
        ).fetchone()
        return row is not None and row[0] == owner and row[1] == leased_until_ms

    def release_workflow_tasks(self, owner: str) -> None:  # noqa: D102
        self._write()
        self.pending.flush_workflow_tasks()
        self.pending.stored_tasks.clear()
        self._conn.execute("UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL WHERE owner = ?", (owner,))
        self.topics.add("workflows")

    def next_lease_expiry_ms(self, now_ms: int) -> int | None:  # noqa: D102
        self.pending.flush_workflow_tasks()
        (due,) = self._conn.execute(
            "SELECT min(leased_until_ms) FROM workflow_tasks WHERE leased_until_ms > ?", (now_ms,)
        ).fetchone()
        return int(due) if due is not None else None

    def has_ready_work(self, now_ms: int, workflows: Iterable[str], activities: Iterable[str]) -> bool:  # noqa: D102
        self.pending.flush_workflow_tasks()
        self.pending.flush_activity_tasks()
        row = self._conn.execute(
            "SELECT 1 FROM workflow_tasks WHERE leased_until_ms <= ? AND ready_at_ms <= ? "
            "AND workflow IN (SELECT value FROM json_each(?)) "
            "UNION ALL SELECT 1 FROM activity_tasks WHERE name IN (SELECT value FROM json_each(?)) LIMIT 1",
            (now_ms, now_ms, json.dumps(sorted(workflows)), json.dumps(sorted(activities))),
        ).fetchone()
        return row is not None

    # activity tasks

    def enqueue_activity_task(self, task: ActivityTaskRow) -> None:  # noqa: D102
        key = (task.execution_id, task.activity_id)
        held = self.pending.activity_tasks
        held.pop(key, None)  # queued again: it goes to the back, as a replaced row would
        held[key] = task
        self.enqueued_activities.append(task)

    def delete_activity_task(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self.pending.activity_tasks.pop((execution_id, activity_id), None)
        self._write()
        self._conn.execute(
            "DELETE FROM activity_tasks WHERE execution_id = ? AND activity_id = ?", (execution_id, activity_id)
        )

    def claim_activity_tasks(self, *, activities: Iterable[str], limit: int) -> list[ActivityTaskRow]:  # noqa: D102
        self._write()
        self.pending.flush_activity_tasks()
        rows = self._conn.execute(
            _CLAIM_ACTIVITY_TASKS, {"names": json.dumps(sorted(activities)), "limit": limit}
        ).fetchall()
        self._conn.executemany("DELETE FROM activity_tasks WHERE id = ?", [(r[0],) for r in rows])
        return [ActivityTaskRow(r[1], r[2], r[3], r[4], r[5]) for r in rows]

    # flow control: the single writer serialises claimers, so the limiter needs no row of its own

    def lock_activity_limit(self, name: str) -> None:  # noqa: D102
        self._write()

    def running_attempts(self, name: str) -> int:  # noqa: D102
        self.pending.flush_activities()
        (count,) = self._conn.execute(
            "SELECT count(*) FROM activities WHERE state = 'running' AND name = ?", (name,)
        ).fetchone()
        return int(count)

    def attempt_starts_since(self, name: str, since_ms: int) -> tuple[int, int | None]:  # noqa: D102
        count, earliest = self._conn.execute(
            "SELECT count(*), min(started_at_ms) FROM activity_starts WHERE name = ? AND started_at_ms > ?",
            (name, since_ms),
        ).fetchone()
        return int(count), earliest

    def record_attempt_starts(self, name: str, at_ms: int, count: int, forget_until_ms: int) -> None:  # noqa: D102
        self._write()
        self._conn.execute("DELETE FROM activity_starts WHERE name = ? AND started_at_ms <= ?", (name, forget_until_ms))
        self._conn.executemany(
            "INSERT INTO activity_starts (name, started_at_ms) VALUES (?, ?)", [(name, at_ms)] * count
        )

    def queue_gauges(self, now_ms: int) -> QueueGauges:  # noqa: D102
        # The waiting activities come from the index of those in their async state (migration 5).
        return QueueGauges.from_rows(self._conn.execute(_GAUGES, {"now": now_ms}).fetchall())


def _claim_arm(where: str, order: str) -> str:
    return (
        "SELECT * FROM (SELECT id, execution_id, activity_id, attempt, name, priority FROM activity_tasks "
        f"WHERE {where} AND name IN (SELECT value FROM json_each(:names)) ORDER BY {order} LIMIT :limit)"
    )


_CLAIM_ACTIVITY_TASKS = (
    f"{_claim_arm('priority <> 0 AND priority > 0', 'priority DESC, id')} "
    f"UNION ALL {_claim_arm('priority = 0', 'id')} "
    f"UNION ALL {_claim_arm('priority <> 0 AND priority < 0', 'priority DESC, id')} LIMIT :limit"
)
"""Queued attempts by priority (highest first), then in the order they were queued (migration 18).

Only attempts of a priority other than 0 are in the priority index, so queueing one of
priority 0 (nearly all) maintains no index but the queue's own: those come from the table in
its id order, after the higher priorities found in the index and before the lower ones.
``priority <> 0`` is written out in the other arms because SQLite uses a partial index only
when the query repeats its condition.
"""

_GAUGES = (
    "SELECT 'workflow_tasks', NULL, count(*), NULL FROM workflow_tasks "
    "WHERE leased_until_ms <= :now AND ready_at_ms <= :now "
    "UNION ALL SELECT 'attempts', NULL, count(*), NULL FROM activity_tasks "
    "UNION ALL SELECT 'timers', NULL, count(*), NULL FROM timers WHERE due_at_ms <= :now "
    "UNION ALL SELECT 'waiting', name, count(*), min(attempt_started_at_ms) FROM activities "
    "WHERE state = 'async' GROUP BY name"
)


@functools.lru_cache(maxsize=64)
def _names_json(names: frozenset[str]) -> str:
    return json.dumps(sorted(names))
