"""PostgreSQL transactions: every query of the PostgreSQL store, run on its connection's thread.

Concurrency is the point of this backend, so every query that a transition bases a
decision on runs under a lock that makes concurrent transitions of one execution take
turns. The lock is the execution's row: a writing transition locks it (``FOR UPDATE``)
before it reads or writes any row of that execution (activity, timer, task, event), and
holds it until commit. A second transition on the same execution (a completion by token
in another process, a timer firing, a workflow task finishing) waits for the first to
commit and then reads what it wrote: the first closing call wins, the second sees it.

Claims never wait: workflow tasks, activity tasks and due timers are claimed with
``FOR UPDATE OF <task>, <execution> SKIP LOCKED``, so a worker passes over executions that
another transaction holds (it is woken again when that one commits). Locking the task row
too makes the claim re-check it against the latest committed version: a timer another
worker fired (deleted) or a task another worker leased just before is not taken twice.

Reads (``Store.read``) take no locks.

Most statements are sent without waiting for their results (see
:mod:`tether.store.postgres.statements`), and what a transition read or wrote of an
execution it holds is answered again from memory (see :mod:`tether.store.postgres.held`):
a transition waits for the server only where it needs an answer it cannot know.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from tether.errors import UsageError
from tether.model.events import Event, EventType
from tether.store.base import ActivityRow, ActivityTaskRow, ApiKeyRow, ExecutionRow, TimerRow, Transaction
from tether.store.postgres.held import (
    ACTIVITY_COLUMNS,
    API_KEY_COLUMNS,
    EXECUTION_COLUMNS,
    TIMER_COLUMNS,
    activity_row,
    execution_row,
)
from tether.store.postgres.lifecycle import PostgresLifecycle
from tether.store.postgres.links import PostgresLinks
from tether.store.postgres.listings import PostgresListings
from tether.store.postgres.messages import PostgresMessages
from tether.store.postgres.outbox import PostgresOutbox
from tether.store.postgres.pending import WorkflowTask
from tether.store.postgres.published import PostgresPublished
from tether.store.postgres.schedules import PostgresSchedules

_EXECUTION_FIELDS = frozenset(EXECUTION_COLUMNS.split(", "))
_ACTIVITY_FIELDS = frozenset([*ACTIVITY_COLUMNS.split(", "), "worker", "inbox", "inbox_note"])
_BOOLEAN_FIELDS = frozenset({"cancel_requested", "watch_heartbeats", "inbox"})
_ACTIVITY_COLUMN_NAMES = ACTIVITY_COLUMNS.split(", ")


class PostgresTransaction(
    PostgresListings,
    PostgresLinks,
    PostgresMessages,
    PostgresLifecycle,
    PostgresPublished,
    PostgresOutbox,
    PostgresSchedules,
    Transaction,
):
    """Transaction methods over one connection; used only on the store's thread."""

    def get_execution(self, execution_id: str) -> ExecutionRow | None:  # noqa: D102
        known = self.known.execution(execution_id)
        if known is not None:
            return known
        held = self._holds(execution_id)
        if not self.locking or held:
            row = self._one(f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = %s", (execution_id,))
            if row is None:
                return None
            if held:
                self.known.learn_execution(row)
            return execution_row(row)
        # Locked, and what the transition may ask of it next read behind the lock, in one round trip.
        row, _ = self._lock_and_read(execution_id)
        return None if row is None else execution_row(row)

    def insert_execution(self, row: ExecutionRow) -> bool:  # noqa: D102
        inserted = self._one(
            f"INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT (id) DO NOTHING RETURNING 1",
            (
                row.id, row.workflow, row.status, row.input, row.result, row.error, row.created_at_ms,
                row.closed_at_ms, row.cancel_requested, row.task_error, row.last_seq, row.priority,
            ),
        )  # fmt: skip
        if inserted is None:
            return False
        if self.locking:
            self._locked.add(row.id)  # a row this transaction inserted is its own until commit
            self.known.learn_execution(row)
            self.known.learn_workflow_task(row.id, None)
        return True

    def update_execution(self, execution_id: str, **fields: object) -> None:  # noqa: D102
        self._lock(execution_id)
        values = self._update("executions", "id = %s", (execution_id,), _EXECUTION_FIELDS, fields)
        self.known.update_execution(execution_id, values)

    def append_events(self, execution_id: str, events: Sequence[tuple[EventType, str]], at_ms: int) -> int:  # noqa: D102
        self._lock(execution_id)
        known = self.known.last_seq(execution_id)
        if known is None and self._holds(execution_id) and self.get_execution(execution_id) is not None:
            known = self.known.last_seq(execution_id)
        if known is None:
            row = self._one(
                "UPDATE executions SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq",
                (len(events), execution_id),
            )
            if row is None:
                raise UsageError(f"no execution {execution_id!r} to append events to")
            last = int(row[0])
            rows = [(execution_id, last - len(events) + 1 + i, str(k), at_ms, d) for i, (k, d) in enumerate(events)]
            for event in rows:
                self._send("INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES (%s,%s,%s,%s,%s)", event)
            return last
        # The row is locked and known: the numbers follow from it, and the events (with the
        # new last_seq) go out later, together with those of the rest of the transition.
        last = known + len(events)
        rows = [(execution_id, known + 1 + i, str(kind), at_ms, data) for i, (kind, data) in enumerate(events)]
        self._hold_back_events(rows)
        self.known.appended(execution_id, [(seq, kind, at, data) for _, seq, kind, at, data in rows])
        return last

    def load_events(self, execution_id: str, after_seq: int = 0) -> list[Event]:  # noqa: D102
        self._lock(execution_id)
        known = self.known.events_after(execution_id, after_seq)
        if known is not None:
            return known
        self._send_held_back()
        rows = self._all(
            "SELECT seq, type, at_ms, data FROM events WHERE execution_id = %s AND seq > %s ORDER BY seq",
            (execution_id, after_seq),
        )
        return [Event(seq, EventType(kind), at_ms, json.loads(data)) for seq, kind, at_ms, data in rows]

    def first_event(self, execution_id: str) -> Event | None:  # noqa: D102
        # Held back (this transition started the execution) or stored: read without sending the held part.
        row = next((r[2:] for r in self._pending.events() if r[0] == execution_id and r[1] == 1), None)
        if row is None:
            row = self._one("SELECT type, at_ms, data FROM events WHERE execution_id = %s AND seq = 1", (execution_id,))
        return None if row is None else Event(1, EventType(row[0]), row[1], json.loads(row[2]))

    def events_of_type(self, execution_id: str, kind: EventType) -> list[Event]:  # noqa: D102
        self._send_held_back()
        rows = self._all(
            "SELECT seq, at_ms, data FROM events WHERE execution_id = %s AND type = %s ORDER BY seq",
            (execution_id, str(kind)),
        )
        return [Event(seq, kind, at_ms, json.loads(data)) for seq, at_ms, data in rows]

    def executions_with_failed_task(self) -> list[str]:  # noqa: D102
        rows = self._all("SELECT id FROM executions WHERE task_error IS NOT NULL AND status = 'running'")
        return [r[0] for r in rows]

    # activities

    def get_activity(self, execution_id: str, activity_id: int) -> ActivityRow | None:  # noqa: D102
        known = self.known.activity(execution_id, activity_id)
        if known is not None:
            return known
        held = self._holds(execution_id)
        if not self.locking or held:
            row = self._one(
                f"SELECT {ACTIVITY_COLUMNS} FROM activities WHERE execution_id = %s AND activity_id = %s",
                (execution_id, activity_id),
            )
            if row is None:
                return None
            if held:
                self.known.learn_activity(row)
            return activity_row(row)
        # One round trip: lock the execution (and learn its row), then read the activity as
        # committed once the lock is held.
        _, row = self._lock_and_read(execution_id, activity_id)
        if row is None:
            return None
        self.known.learn_activity(row)
        return activity_row(row)

    def insert_activity(self, row: ActivityRow) -> None:  # noqa: D102
        self._lock(row.execution_id)
        values = (
            row.execution_id, row.activity_id, row.name, row.state, row.attempt, row.args, row.options,
            row.scheduled_at_ms, row.attempt_started_at_ms, row.last_heartbeat_at_ms, row.heartbeat_details,
            row.checkpoint, row.last_failure, row.cancel_requested, row.watch_heartbeats,
            row.result, row.closed_at_ms,
        )  # fmt: skip
        # Held back: sent with the transition's other writes (see tether.store.postgres.pending).
        self._pending.insert_activity(
            (row.execution_id, row.activity_id), dict(zip(_ACTIVITY_COLUMN_NAMES, values, strict=True))
        )
        if self._holds(row.execution_id):
            self.known.learn_activity(row)

    def update_activity(self, execution_id: str, activity_id: int, **fields: object) -> None:  # noqa: D102
        self._lock(execution_id)
        values = _checked("activities", _ACTIVITY_FIELDS, fields)
        self._pending.update_activity((execution_id, activity_id), values)
        self.known.update_activity(execution_id, activity_id, values)

    def open_activities(self, execution_id: str) -> list[ActivityRow]:  # noqa: D102
        self._lock(execution_id)
        rows = self._all(
            f"SELECT {ACTIVITY_COLUMNS} FROM activities WHERE execution_id = %s AND closed_at_ms IS NULL "
            "ORDER BY activity_id",
            (execution_id,),
        )
        if self._holds(execution_id):
            for row in rows:
                self.known.learn_activity(row)
        return [activity_row(r) for r in rows]

    # timers

    def arm_timer(self, timer: TimerRow) -> None:  # noqa: D102
        self._lock(timer.execution_id)
        self._send(
            f"INSERT INTO timers ({TIMER_COLUMNS}) VALUES (%s,%s,%s,%s,%s) ON CONFLICT (execution_id, kind, ref) "
            "DO UPDATE SET attempt = excluded.attempt, due_at_ms = excluded.due_at_ms",
            (timer.execution_id, timer.kind, timer.ref, timer.attempt, timer.due_at_ms),
        )
        if timer.kind == "workflow":
            self.deadlines[timer.execution_id] = timer.due_at_ms
        # The timer loop sleeps until the earliest due time it knew; it must look again.
        self.topics.add("timers")

    def delete_timer(self, execution_id: str, kind: str, ref: int) -> None:  # noqa: D102
        self._lock(execution_id)
        self._send("DELETE FROM timers WHERE execution_id = %s AND kind = %s AND ref = %s", (execution_id, kind, ref))
        if kind == "workflow":
            self.deadlines[execution_id] = None

    def delete_activity_timers(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._lock(execution_id)
        self._send(
            "DELETE FROM timers WHERE execution_id = %s AND ref = %s AND kind != 'sleep'", (execution_id, activity_id)
        )

    def delete_execution_timers(self, execution_id: str) -> None:  # noqa: D102
        self._lock(execution_id)
        self._send("DELETE FROM timers WHERE execution_id = %s", (execution_id,))
        self.deadlines[execution_id] = None

    def workflow_deadline_ms(self, execution_id: str) -> int | None:  # noqa: D102
        if execution_id in self.deadlines:
            return self.deadlines[execution_id]
        self._lock(execution_id)
        row = self._one(
            "SELECT due_at_ms FROM timers WHERE execution_id = %s AND kind = 'workflow' AND ref = 0", (execution_id,)
        )
        due = None if row is None else int(row[0])
        if self.locking and self._holds(execution_id):
            # Under the execution's lock nobody else arms or drops its timers: the answer stays true.
            self.deadlines[execution_id] = due
        return due

    def timers_of(self, execution_id: str) -> list[TimerRow]:  # noqa: D102
        self._lock(execution_id)
        rows = self._all(f"SELECT {TIMER_COLUMNS} FROM timers WHERE execution_id = %s", (execution_id,))
        return [TimerRow(*r) for r in rows]

    def due_timers(self, now_ms: int, limit: int) -> list[TimerRow]:  # noqa: D102
        if not self.locking:
            rows = self._all(
                f"SELECT {TIMER_COLUMNS} FROM timers WHERE due_at_ms <= %s ORDER BY due_at_ms LIMIT %s",
                (now_ms, limit),
            )
            return [TimerRow(*r) for r in rows]
        # Claimed: a timer another worker is firing (or has fired) is not returned.
        columns = ", ".join(f"t.{c}" for c in TIMER_COLUMNS.split(", "))
        rows = self._all(
            f"SELECT {columns} FROM timers t JOIN executions e ON e.id = t.execution_id "
            "WHERE t.due_at_ms <= %s ORDER BY t.due_at_ms LIMIT %s FOR UPDATE OF t, e SKIP LOCKED",
            (now_ms, limit),
        )
        timers = [TimerRow(*r) for r in rows]
        self._locked.update(t.execution_id for t in timers)
        return timers

    def next_timer_due_ms(self) -> int | None:  # noqa: D102
        row = self._one("SELECT min(due_at_ms) FROM timers")
        return int(row[0]) if row is not None and row[0] is not None else None

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
        rows = self._all(
            "UPDATE workflow_tasks w SET leased_until_ms = %s, owner = %s, dirty = false FROM ("
            "  SELECT t.execution_id, t.ready_at_ms FROM workflow_tasks t JOIN executions e ON e.id = t.execution_id"
            "  WHERE t.leased_until_ms <= %s AND t.ready_at_ms <= %s AND t.workflow = ANY(%s)"
            "  ORDER BY t.priority DESC, t.ready_at_ms LIMIT %s FOR UPDATE OF t, e SKIP LOCKED"
            ") c WHERE w.execution_id = c.execution_id RETURNING w.execution_id, c.ready_at_ms, w.priority, w.workflow",
            (lease_until_ms, owner, now_ms, now_ms, sorted(workflows), limit),
        )
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

    def finish_workflow_task(self, execution_id: str, owner: str) -> bool:  # noqa: D102
        self._lock(execution_id)
        if self._knows_workflow_task(execution_id):
            task = self.known.workflow_task(execution_id)
            if task is None or task.owner != owner:
                return False
            if task.dirty:
                self._set_workflow_task(execution_id, task, task._replace(leased_until_ms=0, owner=None, dirty=False))
                self.topics.add("workflows")
            else:
                self._set_workflow_task(execution_id, task, None)
            return True
        deleted = self._count(
            "DELETE FROM workflow_tasks WHERE execution_id = %s AND owner = %s AND NOT dirty", (execution_id, owner)
        )
        if deleted:
            return True
        requeued = self._count(
            "UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL, dirty = false "
            "WHERE execution_id = %s AND owner = %s AND dirty",
            (execution_id, owner),
        )
        if requeued:
            self.topics.add("workflows")
        return bool(requeued)

    def holds_workflow_task(self, execution_id: str, owner: str) -> bool:  # noqa: D102
        self._lock(execution_id)
        if self._knows_workflow_task(execution_id):
            task = self.known.workflow_task(execution_id)
            return task is not None and task.owner == owner
        row = self._one("SELECT owner FROM workflow_tasks WHERE execution_id = %s", (execution_id,))
        return row is not None and row[0] == owner

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
        rows = self._all(
            "DELETE FROM activity_tasks d USING ("
            "  SELECT t.id FROM activity_tasks t JOIN executions e ON e.id = t.execution_id"
            "  WHERE t.name = ANY(%s) ORDER BY t.priority DESC, t.id LIMIT %s FOR UPDATE OF t, e SKIP LOCKED"
            ") c WHERE d.id = c.id RETURNING d.id, d.execution_id, d.activity_id, d.attempt, d.name, d.priority",
            (sorted(activities), limit),
        )
        rows.sort(key=lambda r: (-int(r[5]), int(r[0])))
        self._locked.update(r[1] for r in rows)
        for row in rows:
            self.known.dequeued(row[1], row[2])
        return [ActivityTaskRow(r[1], r[2], r[3], r[4], r[5]) for r in rows]

    # flow control across workers

    def lock_activity_limit(self, name: str) -> None:  # noqa: D102
        # One statement creates the limiter row if need be and locks it either way; claimers of
        # the same activity wait here for each other, and read what they count only afterwards.
        self._one(
            "INSERT INTO activity_limits (name) VALUES (%s) "
            "ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING name",
            (name,),
        )

    def running_attempts(self, name: str) -> int:  # noqa: D102
        row = self._one("SELECT count(*) FROM activities WHERE state = 'running' AND name = %s", (name,))
        return int(row[0]) if row is not None else 0

    def attempt_starts_since(self, name: str, since_ms: int) -> tuple[int, int | None]:  # noqa: D102
        row = self._one(
            "SELECT count(*), min(started_at_ms) FROM activity_starts WHERE name = %s AND started_at_ms > %s",
            (name, since_ms),
        )
        if row is None:
            return 0, None
        return int(row[0]), None if row[1] is None else int(row[1])

    def record_attempt_starts(self, name: str, at_ms: int, count: int, forget_until_ms: int) -> None:  # noqa: D102
        self._send("DELETE FROM activity_starts WHERE name = %s AND started_at_ms <= %s", (name, forget_until_ms))
        for _ in range(count):
            self._send("INSERT INTO activity_starts (name, started_at_ms) VALUES (%s, %s)", (name, at_ms))

    # worker liveness

    def renew_worker(self, owner: str, lease_until_ms: int) -> None:  # noqa: D102
        self._send(
            "INSERT INTO workers (owner, lease_until_ms) VALUES (%s, %s) "
            "ON CONFLICT (owner) DO UPDATE SET lease_until_ms = excluded.lease_until_ms",
            (owner, lease_until_ms),
        )

    def remove_worker(self, owner: str) -> None:  # noqa: D102
        self._send("DELETE FROM workers WHERE owner = %s", (owner,))

    def attempts_of_lost_workers(self, now_ms: int, alive: str, limit: int) -> list[tuple[str, int, int]]:  # noqa: D102
        rows = self._all(
            "SELECT a.execution_id, a.activity_id, a.attempt FROM activities a "
            "LEFT JOIN workers w ON w.owner = a.worker "
            "WHERE a.state = 'running' AND a.worker IS NOT NULL AND a.worker != %s "
            "AND (w.owner IS NULL OR w.lease_until_ms <= %s) LIMIT %s",
            (alive, now_ms, limit),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def attempts_of_worker(self, owner: str) -> list[tuple[str, int, int]]:  # noqa: D102
        rows = self._all(
            "SELECT execution_id, activity_id, attempt FROM activities WHERE state = 'running' AND worker = %s",
            (owner,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def next_worker_expiry_ms(self, now_ms: int, alive: str) -> int | None:  # noqa: D102
        row = self._one(
            "SELECT min(w.lease_until_ms) FROM workers w WHERE w.owner != %s AND w.lease_until_ms > %s "
            "AND EXISTS (SELECT 1 FROM activities a WHERE a.state = 'running' AND a.worker = w.owner)",
            (alive, now_ms),
        )
        return int(row[0]) if row is not None and row[0] is not None else None

    # registry and keys

    def register_workflows(self, names: Iterable[str]) -> None:  # noqa: D102
        for name in sorted(names):
            self._send("INSERT INTO known_workflows (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))

    def is_known_workflow(self, name: str) -> bool:  # noqa: D102
        return self._one("SELECT 1 FROM known_workflows WHERE name = %s", (name,)) is not None

    def signing_keys(self) -> dict[int, bytes]:  # noqa: D102
        return {int(k): bytes(s) for k, s in self._all("SELECT key_id, secret FROM signing_keys")}

    def insert_signing_key(self, key_id: int, secret: bytes, created_at_ms: int) -> None:  # noqa: D102
        self._send(
            "INSERT INTO signing_keys (key_id, secret, created_at_ms) VALUES (%s,%s,%s) ON CONFLICT DO NOTHING",
            (key_id, secret, created_at_ms),
        )

    # API keys

    def insert_api_key(self, row: ApiKeyRow) -> None:  # noqa: D102
        self._send(
            f"INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s)",
            (row.key_id, row.name, row.secret_hash, row.scopes, row.created_at_ms, row.revoked_at_ms, row.sigv4_secret),
        )

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:  # noqa: D102
        row = self._one(f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_id = %s", (key_id,))
        return ApiKeyRow(*row) if row is not None else None

    def list_api_keys(self) -> list[ApiKeyRow]:  # noqa: D102
        rows = self._all(f"SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at_ms, key_id")
        return [ApiKeyRow(*r) for r in rows]

    def revoke_api_key(self, key_id: str, at_ms: int) -> bool:  # noqa: D102
        return (
            self._count(
                "UPDATE api_keys SET revoked_at_ms = %s WHERE key_id = %s AND revoked_at_ms IS NULL", (at_ms, key_id)
            )
            > 0
        )

    def has_active_api_keys(self) -> bool:  # noqa: D102
        return self._one("SELECT 1 FROM api_keys WHERE revoked_at_ms IS NULL LIMIT 1") is not None

    def set_api_key_sigv4(self, key_id: str, sealed: str) -> bool:  # noqa: D102
        return (
            self._count(
                "UPDATE api_keys SET sigv4_secret = %s WHERE key_id = %s AND revoked_at_ms IS NULL", (sealed, key_id)
            )
            > 0
        )

    # helpers

    def _knows_workflow_task(self, execution_id: str) -> bool:
        """Whether the execution's workflow task is known: it is held, and nobody else touches the task meanwhile."""
        return self.locking and self._holds(execution_id) and self.known.knows_workflow_task(execution_id)

    def _set_workflow_task(self, execution_id: str, before: WorkflowTask | None, after: WorkflowTask | None) -> None:
        """Hold back a change of the workflow task, known to be ``before`` (see tether.store.postgres.pending)."""
        self._pending.set_workflow_task(execution_id, before, after)
        self.known.learn_workflow_task(execution_id, after)

    def _update(
        self, table: str, where: str, key: tuple[object, ...], allowed: frozenset[str], fields: dict[str, object]
    ) -> dict[str, object]:
        """Send an update of some columns of one row; returns the values set, by column."""
        values = _checked(table, allowed, fields)
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self._send(f"UPDATE {table} SET {assignments} WHERE {where}", (*values.values(), *key))
        return values


def _checked(table: str, allowed: frozenset[str], fields: dict[str, object]) -> dict[str, object]:
    """The values to set, by column (booleans as booleans), once each column is known to be the table's."""
    unknown = set(fields) - allowed
    if unknown:
        raise UsageError(f"unknown columns for {table}: {sorted(unknown)}")
    return {name: bool(v) if name in _BOOLEAN_FIELDS else v for name, v in fields.items()}
