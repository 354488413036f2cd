"""SQLite transactions: every query of the embedded store, run on its writer thread."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from tether.errors import UsageError
from tether.model.events import Event, EventType
from tether.store.base import ActivityRow, ActivityTaskRow, ApiKeyRow, ExecutionRow, TimerRow, Transaction

_EXECUTION_COLUMNS = (
    "id, workflow, status, input, result, error, created_at_ms, closed_at_ms, cancel_requested, task_error, last_seq"
)
_ACTIVITY_COLUMNS = (
    "execution_id, activity_id, name, state, attempt, args, options, scheduled_at_ms, "
    "attempt_started_at_ms, last_heartbeat_at_ms, heartbeat_details, checkpoint, last_failure, "
    "cancel_requested, watch_heartbeats, result, closed_at_ms"
)
_API_KEY_COLUMNS = "key_id, name, secret_hash, scopes, created_at_ms, revoked_at_ms"
_EXECUTION_FIELDS = frozenset(_EXECUTION_COLUMNS.split(", "))
_ACTIVITY_FIELDS = frozenset([*_ACTIVITY_COLUMNS.split(", "), "worker"])


def _execution(row: Sequence[Any]) -> ExecutionRow:
    return ExecutionRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]), row[9], row[10])


def _activity(row: Sequence[Any]) -> ActivityRow:
    return ActivityRow(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
        row[11], row[12], bool(row[13]), bool(row[14]), row[15], row[16],
    )  # fmt: skip


class TransactionLost(BaseException):  # a signal through user and engine handlers
    """SQLite rolled back the whole transaction by itself; the batch must be failed."""


class SQLiteTransaction(Transaction):
    """Transaction methods over the writer connection; used only on the writer thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._savepoints = 0
        self.topics: set[str] = set()
        self.closed_ids: set[str] = set()
        self.hooks: list[Callable[[], None]] = []
        self.rollback_hooks: list[Callable[[], None]] = []
        self.enqueued_workflows: list[str] = []
        self.enqueued_activities: list[ActivityTaskRow] = []

    def reset(self) -> None:
        """Forget what the previous transition marked."""
        self.topics = set()
        self.closed_ids = set()
        self.hooks = []
        self.rollback_hooks = []
        self.enqueued_workflows = []
        self.enqueued_activities = []

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:  # noqa: D102
        self._savepoints += 1
        name = f"nested{self._savepoints}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException as exc:
            if not self._conn.in_transaction:
                # SQLite already rolled the whole transaction back (disk full, I/O error):
                # nothing may run on, or it would commit statement by statement.
                raise TransactionLost(str(exc)) from exc
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        else:
            self._conn.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    def notify(self) -> None:  # noqa: D102
        self.topics.add("*")

    def wake(self, topic: str) -> None:  # noqa: D102
        self.topics.add(topic)

    def closed(self, execution_id: str) -> None:  # noqa: D102
        self.closed_ids.add(execution_id)

    def closed_executions(self) -> set[str]:  # noqa: D102
        return set(self.closed_ids)

    def after_commit(self, callback: Callable[[], None]) -> None:  # noqa: D102
        self.hooks.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:  # noqa: D102
        self.rollback_hooks.append(callback)

    def take_enqueued(self) -> tuple[list[str], list[ActivityTaskRow]]:  # noqa: D102
        workflows, activities = self.enqueued_workflows, self.enqueued_activities
        self.enqueued_workflows, self.enqueued_activities = [], []
        return workflows, activities

    # executions and history

    def get_execution(self, execution_id: str) -> ExecutionRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE id = ?", (execution_id,)
        ).fetchone()
        return _execution(row) if row else None

    def insert_execution(self, row: ExecutionRow) -> bool:  # noqa: D102
        return bool(self._conn.execute(
            f"INSERT INTO executions ({_EXECUTION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
            (
                row.id, row.workflow, row.status, row.input, row.result, row.error, row.created_at_ms,
                row.closed_at_ms, int(row.cancel_requested), row.task_error, row.last_seq,
            ),
        ).rowcount)  # fmt: skip

    def update_execution(self, execution_id: str, **fields: object) -> None:  # noqa: D102
        self._update("executions", "id = ?", (execution_id,), _EXECUTION_FIELDS, fields)

    def append_events(self, execution_id: str, events: Sequence[tuple[EventType, str]], at_ms: int) -> int:  # noqa: D102
        (last,) = self._conn.execute(
            "UPDATE executions SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq", (len(events), execution_id)
        ).fetchone()
        first = last - len(events) + 1
        rows = [(execution_id, first + i, str(kind), at_ms, data) for i, (kind, data) in enumerate(events)]
        if len(rows) == 1:
            self._conn.execute("INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES (?,?,?,?,?)", rows[0])
        else:
            self._conn.executemany("INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES (?,?,?,?,?)", rows)
        return int(last)

    def load_events(self, execution_id: str, after_seq: int = 0) -> list[Event]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT seq, type, at_ms, data FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq",
            (execution_id, after_seq),
        ).fetchall()
        return [Event(seq, EventType(kind), at_ms, json.loads(data)) for seq, kind, at_ms, data in rows]

    def list_executions(  # noqa: D102
        self,
        *,
        status: str | None,
        workflow: str | None,
        limit: int,
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
    ) -> list[ExecutionRow]:
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if workflow is not None:
            clauses.append("workflow = ?")
            params.append(workflow)
        if workflow_patterns is not None:
            # Scope patterns hold no GLOB metacharacter but '*' (model.access checks their characters).
            clauses.append(f"({' OR '.join(['workflow GLOB ?'] * len(workflow_patterns)) or '0'})")
            params.extend(workflow_patterns)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions {where} ORDER BY created_at_ms DESC, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [_execution(r) for r in rows]

    def executions_with_failed_task(self) -> list[str]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT id FROM executions WHERE task_error IS NOT NULL AND status = 'running'"
        ).fetchall()
        return [r[0] for r in rows]

    # activities

    def get_activity(self, execution_id: str, activity_id: int) -> ActivityRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE execution_id = ? AND activity_id = ?",
            (execution_id, activity_id),
        ).fetchone()
        return _activity(row) if row else None

    def insert_activity(self, row: ActivityRow) -> None:  # noqa: D102
        self._conn.execute(
            f"INSERT INTO activities ({_ACTIVITY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.execution_id, row.activity_id, row.name, row.state, row.attempt, row.args, row.options,
                row.scheduled_at_ms, row.attempt_started_at_ms, row.last_heartbeat_at_ms, row.heartbeat_details,
                row.checkpoint, row.last_failure, int(row.cancel_requested), int(row.watch_heartbeats),
                row.result, row.closed_at_ms,
            ),
        )  # fmt: skip

    def update_activity(self, execution_id: str, activity_id: int, **fields: object) -> None:  # noqa: D102
        self._update(
            "activities", "execution_id = ? AND activity_id = ?", (execution_id, activity_id), _ACTIVITY_FIELDS, fields
        )

    def open_activities(self, execution_id: str) -> list[ActivityRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE execution_id = ? AND closed_at_ms IS NULL "
            "ORDER BY activity_id",
            (execution_id,),
        ).fetchall()
        return [_activity(r) for r in rows]

    # timers

    def arm_timer(self, timer: TimerRow) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT OR REPLACE INTO timers (execution_id, kind, ref, attempt, due_at_ms) VALUES (?,?,?,?,?)",
            (timer.execution_id, timer.kind, timer.ref, timer.attempt, timer.due_at_ms),
        )
        # The timer loop sleeps until the earliest due time it knew; it must look again.
        self.topics.add("timers")

    def delete_timer(self, execution_id: str, kind: str, ref: int) -> None:  # noqa: D102
        self._conn.execute(
            "DELETE FROM timers WHERE execution_id = ? AND kind = ? AND ref = ?", (execution_id, kind, ref)
        )

    def delete_activity_timers(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._conn.execute(
            "DELETE FROM timers WHERE execution_id = ? AND ref = ? AND kind != 'sleep'", (execution_id, activity_id)
        )

    def delete_execution_timers(self, execution_id: str) -> None:  # noqa: D102
        self._conn.execute("DELETE FROM timers WHERE execution_id = ?", (execution_id,))

    def timers_of(self, execution_id: str) -> list[TimerRow]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT execution_id, kind, ref, attempt, due_at_ms FROM timers WHERE execution_id = ?", (execution_id,)
        ).fetchall()
        return [TimerRow(*r) for r in rows]

    def due_timers(self, now_ms: int, limit: int) -> list[TimerRow]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT execution_id, kind, ref, attempt, due_at_ms FROM timers WHERE due_at_ms <= ? "
            "ORDER BY due_at_ms LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [TimerRow(*r) for r in rows]

    def next_timer_due_ms(self) -> int | None:  # noqa: D102
        (due,) = self._conn.execute("SELECT min(due_at_ms) FROM timers").fetchone()
        return int(due) if due is not None else None

    # workflow tasks

    def enqueue_workflow_task(self, execution_id: str, ready_at_ms: int) -> None:  # noqa: D102
        # A task already leased by a worker is marked dirty so that it is offered again
        # when that worker finishes: the events appended now were not part of its run.
        self._conn.execute(
            "INSERT INTO workflow_tasks (execution_id, workflow, ready_at_ms) "
            "SELECT id, workflow, ? FROM executions WHERE id = ? AND status = 'running' "
            "ON CONFLICT (execution_id) DO UPDATE SET dirty = 1, ready_at_ms = min(ready_at_ms, excluded.ready_at_ms)",
            (ready_at_ms, execution_id),
        )
        self.enqueued_workflows.append(execution_id)

    def claim_workflow_tasks(  # noqa: D102
        self, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str], limit: int
    ) -> list[str]:
        rows = self._conn.execute(
            "SELECT execution_id FROM workflow_tasks WHERE leased_until_ms <= ? AND ready_at_ms <= ? "
            "AND workflow IN (SELECT value FROM json_each(?)) ORDER BY ready_at_ms LIMIT ?",
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
        return bool(
            self._conn.execute(
                "UPDATE workflow_tasks SET leased_until_ms = ?, owner = ?, dirty = 0 "
                "WHERE execution_id = ? AND leased_until_ms <= ? AND ready_at_ms <= ? "
                "AND workflow IN (SELECT value FROM json_each(?))",
                (lease_until_ms, owner, execution_id, now_ms, now_ms, _names_json(names)),
            ).rowcount
        )

    def claim_activity_task(self, task: ActivityTaskRow) -> bool:  # noqa: D102
        cursor = self._conn.execute(
            "DELETE FROM activity_tasks WHERE execution_id = ? AND activity_id = ? AND attempt = ?",
            (task.execution_id, task.activity_id, task.attempt),
        )
        return cursor.rowcount > 0

    def finish_workflow_task(self, execution_id: str, owner: str) -> bool:  # noqa: D102
        deleted = self._conn.execute(
            "DELETE FROM workflow_tasks WHERE execution_id = ? AND owner = ? AND dirty = 0", (execution_id, owner)
        ).rowcount
        if deleted:
            return True
        requeued = self._conn.execute(
            "UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL, dirty = 0 "
            "WHERE execution_id = ? AND owner = ? AND dirty = 1",
            (execution_id, owner),
        ).rowcount
        if requeued:
            self.topics.add("workflows")
        return bool(requeued)

    def holds_workflow_task(self, execution_id: str, owner: str) -> bool:  # noqa: D102
        row = self._conn.execute("SELECT owner FROM workflow_tasks WHERE execution_id = ?", (execution_id,)).fetchone()
        return row is not None and row[0] == owner

    def release_workflow_tasks(self, owner: str) -> None:  # noqa: D102
        self._conn.execute("UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL WHERE owner = ?", (owner,))
        self.topics.add("workflows")

    def next_lease_expiry_ms(self, now_ms: int) -> int | None:  # noqa: D102
        (due,) = self._conn.execute(
            "SELECT min(leased_until_ms) FROM workflow_tasks WHERE leased_until_ms > ?", (now_ms,)
        ).fetchone()
        return int(due) if due is not None else None

    def has_ready_work(self, now_ms: int, workflows: Iterable[str], activities: Iterable[str]) -> bool:  # noqa: D102
        row = self._conn.execute(
            "SELECT 1 FROM workflow_tasks WHERE leased_until_ms <= ? AND ready_at_ms <= ? "
            "AND workflow IN (SELECT value FROM json_each(?)) "
            "UNION ALL SELECT 1 FROM activity_tasks WHERE name IN (SELECT value FROM json_each(?)) LIMIT 1",
            (now_ms, now_ms, json.dumps(sorted(workflows)), json.dumps(sorted(activities))),
        ).fetchone()
        return row is not None

    # activity tasks

    def enqueue_activity_task(self, task: ActivityTaskRow) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT OR REPLACE INTO activity_tasks (execution_id, activity_id, attempt, name) VALUES (?,?,?,?)",
            (task.execution_id, task.activity_id, task.attempt, task.name),
        )
        self.enqueued_activities.append(task)

    def delete_activity_task(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._conn.execute(
            "DELETE FROM activity_tasks WHERE execution_id = ? AND activity_id = ?", (execution_id, activity_id)
        )

    def claim_activity_tasks(self, *, activities: Iterable[str], limit: int) -> list[ActivityTaskRow]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT id, execution_id, activity_id, attempt, name FROM activity_tasks "
            "WHERE name IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
            (json.dumps(sorted(activities)), limit),
        ).fetchall()
        self._conn.executemany("DELETE FROM activity_tasks WHERE id = ?", [(r[0],) for r in rows])
        return [ActivityTaskRow(r[1], r[2], r[3], r[4]) for r in rows]

    # worker liveness

    def renew_worker(self, owner: str, lease_until_ms: int) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT INTO workers (owner, lease_until_ms) VALUES (?, ?) "
            "ON CONFLICT (owner) DO UPDATE SET lease_until_ms = excluded.lease_until_ms",
            (owner, lease_until_ms),
        )

    def remove_worker(self, owner: str) -> None:  # noqa: D102
        self._conn.execute("DELETE FROM workers WHERE owner = ?", (owner,))

    def attempts_of_lost_workers(self, now_ms: int, alive: str, limit: int) -> list[tuple[str, int, int]]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT a.execution_id, a.activity_id, a.attempt FROM activities a "
            "LEFT JOIN workers w ON w.owner = a.worker "
            "WHERE a.state = 'running' AND a.worker IS NOT NULL AND a.worker != ? "
            "AND (w.owner IS NULL OR w.lease_until_ms <= ?) LIMIT ?",
            (alive, now_ms, limit),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def attempts_of_worker(self, owner: str) -> list[tuple[str, int, int]]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT execution_id, activity_id, attempt FROM activities WHERE state = 'running' AND worker = ?",
            (owner,),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def next_worker_expiry_ms(self, now_ms: int, alive: str) -> int | None:  # noqa: D102
        (due,) = self._conn.execute(
            "SELECT min(w.lease_until_ms) FROM workers w WHERE w.owner != ? AND w.lease_until_ms > ? "
            "AND EXISTS (SELECT 1 FROM activities a WHERE a.state = 'running' AND a.worker = w.owner)",
            (alive, now_ms),
        ).fetchone()
        return int(due) if due is not None else None

    # registry and keys

    def register_workflows(self, names: Iterable[str]) -> None:  # noqa: D102
        self._conn.executemany("INSERT OR IGNORE INTO known_workflows (name) VALUES (?)", [(n,) for n in names])

    def is_known_workflow(self, name: str) -> bool:  # noqa: D102
        return self._conn.execute("SELECT 1 FROM known_workflows WHERE name = ?", (name,)).fetchone() is not None

    def signing_keys(self) -> dict[int, bytes]:  # noqa: D102
        return {k: bytes(s) for k, s in self._conn.execute("SELECT key_id, secret FROM signing_keys")}

    def insert_signing_key(self, key_id: int, secret: bytes, created_at_ms: int) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT OR IGNORE INTO signing_keys (key_id, secret, created_at_ms) VALUES (?,?,?)",
            (key_id, secret, created_at_ms),
        )

    # API keys

    def insert_api_key(self, row: ApiKeyRow) -> None:  # noqa: D102
        self._conn.execute(
            f"INSERT INTO api_keys ({_API_KEY_COLUMNS}) VALUES (?,?,?,?,?,?)",
            (row.key_id, row.name, row.secret_hash, row.scopes, row.created_at_ms, row.revoked_at_ms),
        )

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:  # noqa: D102
        row = self._conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
        return ApiKeyRow(*row) if row is not None else None

    def list_api_keys(self) -> list[ApiKeyRow]:  # noqa: D102
        rows = self._conn.execute(f"SELECT {_API_KEY_COLUMNS} FROM api_keys ORDER BY created_at_ms, key_id")
        return [ApiKeyRow(*r) for r in rows]

    def revoke_api_key(self, key_id: str, at_ms: int) -> bool:  # noqa: D102
        cursor = self._conn.execute(
            "UPDATE api_keys SET revoked_at_ms = ? WHERE key_id = ? AND revoked_at_ms IS NULL", (at_ms, key_id)
        )
        return cursor.rowcount > 0

    def has_active_api_keys(self) -> bool:  # noqa: D102
        return self._conn.execute("SELECT 1 FROM api_keys WHERE revoked_at_ms IS NULL LIMIT 1").fetchone() is not None

    # helpers

    def _update(
        self, table: str, where: str, key: tuple[object, ...], allowed: frozenset[str], fields: dict[str, object]
    ) -> None:
        unknown = set(fields) - allowed
        if unknown:
            raise UsageError(f"unknown columns for {table}: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        self._conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*values, *key))

    def data_version(self) -> int:
        """SQLite's counter of commits made by other connections."""
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        return int(version)


@functools.lru_cache(maxsize=64)
def _names_json(names: frozenset[str]) -> str:
    return json.dumps(sorted(names))
