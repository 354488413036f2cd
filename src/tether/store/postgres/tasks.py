"""PostgreSQL queries of the task queues: workflow tasks and queued activity attempts.

An execution's workflow task changes only under the execution's lock (claims lock it too,
see :mod:`tether.store.postgres.transaction`): once read behind the lock it is known, and
queueing, claiming, finishing and asking who holds it are answered from memory, their
writes held back (see :mod:`tether.store.postgres.pending`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tether.store.postgres.locks import PostgresLocks
from tether.store.postgres.pending import WorkflowTask
from tether.store.rows import ActivityTaskRow

_CLAIM_ACTIVITY_TASKS = (
    "WITH c AS (DELETE FROM activity_tasks d USING ("
    "  SELECT t.id FROM activity_tasks t JOIN executions e ON e.id = t.execution_id"
    "  WHERE t.name = ANY(%s) ORDER BY t.priority DESC, t.id LIMIT %s FOR UPDATE OF t, e SKIP LOCKED"
    ") k WHERE d.id = k.id RETURNING d.id, d.execution_id, d.activity_id, d.attempt, d.name, d.priority), "
    "s AS (SELECT set_config('tether.claimed', coalesce((SELECT json_agg(json_build_object("
    "'e', execution_id, 'a', activity_id)) FROM c)::text, '[]'), true) AS v) "
    "SELECT c.id, c.execution_id, c.activity_id, c.attempt, c.name, c.priority FROM s LEFT JOIN c ON true"
)
"""Take queued attempts (their tasks deleted), naming them in ``tether.claimed`` (see ``_claim_and_read``);
one row of NULLs when it took none."""

_CLAIM_WORKFLOW_TASKS = (
    "WITH c AS (UPDATE workflow_tasks w SET leased_until_ms = %s, owner = %s, dirty = false FROM ("
    "  SELECT t.execution_id, t.ready_at_ms FROM workflow_tasks t JOIN executions e ON e.id = t.execution_id"
    "  WHERE t.leased_until_ms <= %s AND t.ready_at_ms <= %s AND t.workflow = ANY(%s)"
    "  ORDER BY t.priority DESC, t.ready_at_ms LIMIT %s FOR UPDATE OF t, e SKIP LOCKED"
    ") k WHERE w.execution_id = k.execution_id RETURNING w.execution_id, k.ready_at_ms, w.priority, w.workflow), "
    "s AS (SELECT set_config('tether.claimed', coalesce((SELECT json_agg(json_build_object("
    "'e', execution_id, 'a', NULL)) FROM c)::text, '[]'), true) AS v) "
    "SELECT c.execution_id, c.ready_at_ms, c.priority, c.workflow FROM s LEFT JOIN c ON true"
)
"""Lease ready workflow tasks, naming their executions in ``tether.claimed`` (see ``_claim_and_read``);
one row of NULLs when it leased none."""


class PostgresTasks(PostgresLocks):
    """The queries of a PostgreSQL transaction on workflow tasks and queued attempts."""

    # workflow tasks

    def enqueue_workflow_task(self, execution_id: str, ready_at_ms: int) -> None:  # noqa: D102
        self._lock(execution_id)
        execution = self.known.execution(execution_id)
        if execution is not None and self._knows_workflow_task(execution_id):
            before = self.known.workflow_task(execution_id)
            if execution.status == "running":
                if before is None:
                    after = WorkflowTask(execution.workflow, ready_at_ms, 0, None, False, execution.priority)
                else:
                    after = before._replace(dirty=True, ready_at_ms=min(before.ready_at_ms, ready_at_ms))
                self._set_workflow_task(execution_id, before, after)
            self.enqueued_workflows.append(execution_id)
            return
        # A task already leased by a worker is marked dirty so that it is offered again
        # when that worker finishes: the events appended now were not part of its run.
        self._send(
            "INSERT INTO workflow_tasks (execution_id, workflow, ready_at_ms, priority) "
            "SELECT id, workflow, %s, priority FROM executions WHERE id = %s AND status = 'running' "
            "ON CONFLICT (execution_id) DO UPDATE "
            "SET dirty = true, ready_at_ms = least(workflow_tasks.ready_at_ms, excluded.ready_at_ms)",
            (ready_at_ms, execution_id),
        )
        self.enqueued_workflows.append(execution_id)

    def claim_workflow_tasks(  # noqa: D102
        self, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str], limit: int
    ) -> list[str]:
        # What running the tasks reads of their executions (the row, the deadline, the link)
        # comes back in the same round trip, read behind the claim's locks.
        rows = self._claim_and_read(
            _CLAIM_WORKFLOW_TASKS, (lease_until_ms, owner, now_ms, now_ms, sorted(workflows), limit)
        )
        rows = [row for row in rows if row[0] is not None]
        ids = [r[0] for r in sorted(rows, key=lambda r: (-r[2], r[1], r[0]))]
        self._locked.update(ids)
        for execution_id, ready_at_ms, priority, workflow in rows:
            self.known.learn_workflow_task(
                execution_id, WorkflowTask(workflow, ready_at_ms, lease_until_ms, owner, False, priority)
            )
        return ids

    def claim_workflow_task(  # noqa: D102
        self, execution_id: str, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str]
    ) -> bool:
        self._lock(execution_id)
        if self._knows_workflow_task(execution_id):
            task = self.known.workflow_task(execution_id)
            if (
                task is None
                or task.leased_until_ms > now_ms
                or task.ready_at_ms > now_ms
                or task.workflow not in set(workflows)
            ):
                return False
            self._set_workflow_task(
                execution_id, task, task._replace(leased_until_ms=lease_until_ms, owner=owner, dirty=False)
            )
            return True
        return bool(
            self._count(
                "UPDATE workflow_tasks SET leased_until_ms = %s, owner = %s, dirty = false "
                "WHERE execution_id = %s AND leased_until_ms <= %s AND ready_at_ms <= %s AND workflow = ANY(%s)",
                (lease_until_ms, owner, execution_id, now_ms, now_ms, sorted(workflows)),
            )
        )

    def claim_activity_task(self, task: ActivityTaskRow) -> bool:  # noqa: D102
        self._lock(task.execution_id)
        sql = "DELETE FROM activity_tasks WHERE execution_id = %s AND activity_id = %s AND attempt = %s"
        params = (task.execution_id, task.activity_id, task.attempt)
        if self.known.queued_here(task.execution_id, task.activity_id, task.attempt):
            # Queued by this transaction, which holds the execution: nobody else can have taken it.
            self._pending.delete_attempt((task.execution_id, task.activity_id), task.attempt)
            taken = True
        else:
            taken = self._count(sql, params) > 0
        self.known.dequeued(task.execution_id, task.activity_id)
        return taken

    def finish_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:  # noqa: D102
        self._lock(execution_id)
        if self._knows_workflow_task(execution_id):
            task = self.known.workflow_task(execution_id)
            if task is None or task.owner != owner or task.leased_until_ms != leased_until_ms:
                return False
            if task.dirty:
                self._set_workflow_task(execution_id, task, task._replace(leased_until_ms=0, owner=None, dirty=False))
                self.topics.add("workflows")
            else:
                self._set_workflow_task(execution_id, task, None)
            return True
        lease = (execution_id, owner, leased_until_ms)
        deleted = self._count(
            "DELETE FROM workflow_tasks WHERE execution_id = %s AND owner = %s AND leased_until_ms = %s AND NOT dirty",
            lease,
        )
        if deleted:
            return True
        requeued = self._count(
            "UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL, dirty = false "
            "WHERE execution_id = %s AND owner = %s AND leased_until_ms = %s AND dirty",
            lease,
        )
        if requeued:
            self.topics.add("workflows")
        return bool(requeued)

    def holds_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:  # noqa: D102
        self._lock(execution_id)
        if self._knows_workflow_task(execution_id):
            task = self.known.workflow_task(execution_id)
            return task is not None and task.owner == owner and task.leased_until_ms == leased_until_ms
        row = self._one("SELECT owner, leased_until_ms FROM workflow_tasks WHERE execution_id = %s", (execution_id,))
        return row is not None and row[0] == owner and row[1] == leased_until_ms

    def release_workflow_tasks(self, owner: str) -> None:  # noqa: D102
        if self.locking:
            for (execution_id,) in self._all(
                "SELECT e.id FROM workflow_tasks t JOIN executions e ON e.id = t.execution_id "
                "WHERE t.owner = %s ORDER BY e.id FOR UPDATE OF e",
                (owner,),
            ):
                self._locked.add(execution_id)
        self._send("UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL WHERE owner = %s", (owner,))
        self.known.forget_workflow_tasks()
        self.topics.add("workflows")

    def next_lease_expiry_ms(self, now_ms: int) -> int | None:  # noqa: D102
        row = self._one("SELECT min(leased_until_ms) FROM workflow_tasks WHERE leased_until_ms > %s", (now_ms,))
        return int(row[0]) if row is not None and row[0] is not None else None

    def has_ready_work(self, now_ms: int, workflows: Iterable[str], activities: Iterable[str]) -> bool:  # noqa: D102
        row = self._one(
            "SELECT EXISTS (SELECT 1 FROM workflow_tasks WHERE leased_until_ms <= %s AND ready_at_ms <= %s "
            "AND workflow = ANY(%s)) OR EXISTS (SELECT 1 FROM activity_tasks WHERE name = ANY(%s))",
            (now_ms, now_ms, sorted(workflows), sorted(activities)),
        )
        return bool(row and row[0])

    # activity tasks

    def enqueue_activity_task(self, task: ActivityTaskRow) -> None:  # noqa: D102
        self._lock(task.execution_id)
        # A replaced task goes to the back of the queue, as a new row would.
        self._pending.queue_attempt(task)
        self.known.queued(task.execution_id, task.activity_id, task.attempt)
        self.enqueued_activities.append(task)

    def delete_activity_task(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._lock(execution_id)
        self._pending.delete_attempt((execution_id, activity_id), None)
        self.known.dequeued(execution_id, activity_id)

    def claim_activity_tasks(self, *, activities: Iterable[str], limit: int) -> list[ActivityTaskRow]:  # noqa: D102
        # What starting the attempts reads (the activity, the execution, its deadline) comes
        # back in the same round trip, read behind the claim's locks.
        rows = self._claim_and_read(_CLAIM_ACTIVITY_TASKS, (sorted(activities), limit))
        rows = [row for row in rows if row[0] is not None]
        rows.sort(key=lambda r: (-int(r[5]), int(r[0])))
        self._locked.update(r[1] for r in rows)
        for row in rows:
            self.known.dequeued(row[1], row[2])
        return [ActivityTaskRow(r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def _knows_workflow_task(self, execution_id: str) -> bool:
        """Whether the execution's workflow task is known: it is held, and nobody else touches the task meanwhile."""
        return self.locking and self._holds(execution_id) and self.known.knows_workflow_task(execution_id)

    def _set_workflow_task(self, execution_id: str, before: WorkflowTask | None, after: WorkflowTask | None) -> None:
        """Hold back a change of the workflow task, known to be ``before`` (see tether.store.postgres.pending)."""
        self._pending.set_workflow_task(execution_id, before, after)
        self.known.learn_workflow_task(execution_id, after)
