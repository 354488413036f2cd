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
:mod:`tether.store.postgres.statements`), writes to the rows of executions it holds are
held back and sent together as one statement (see :mod:`tether.store.postgres.pending`),
and what a transition read or wrote of an execution it holds is answered again from memory
(see :mod:`tether.store.postgres.held`): a transition waits for the server only where it
needs an answer it cannot know.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tether.errors import UsageError
from tether.model import payloads
from tether.model.events import Event, EventType
from tether.store.base import Transaction
from tether.store.postgres.held import (
    ACTIVITY_COLUMNS,
    ANY_ACTIVE_API_KEY,
    API_KEY_BY_ID,
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
from tether.store.postgres.published import PostgresPublished
from tether.store.postgres.schedules import PostgresSchedules
from tether.store.postgres.tasks import PostgresTasks
from tether.store.rows import ActivityRow, ApiKeyRow, ExecutionRow, TimerRow

_EXECUTION_FIELDS = frozenset(EXECUTION_COLUMNS.split(", "))
_ACTIVITY_FIELDS = frozenset([*ACTIVITY_COLUMNS.split(", "), "worker", "inbox", "inbox_note"])
_BOOLEAN_FIELDS = frozenset({"cancel_requested", "watch_heartbeats", "inbox"})
_ACTIVITY_COLUMN_NAMES = ACTIVITY_COLUMNS.split(", ")


_INSERT_EXECUTION = f"INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
_INSERT_EXECUTION_IF_FREE = f"{_INSERT_EXECUTION} ON CONFLICT (id) DO NOTHING RETURNING 1"


class PostgresTransaction(
    PostgresListings,
    PostgresLinks,
    PostgresMessages,
    PostgresLifecycle,
    PostgresPublished,
    PostgresOutbox,
    PostgresSchedules,
    PostgresTasks,
    Transaction,
):
    """Transaction methods over one connection; used only on the store's thread."""

    def get_execution(self, execution_id: str) -> ExecutionRow | None:  # noqa: D102
        known = self.known.execution(execution_id)
        if known is not None:
            return known
        held = self._holds(execution_id)
        if not self.locking and not held:
            ahead = self._read_rows.get(execution_id)
            if ahead is not None:
                return execution_row(ahead)
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

    def read_ahead(self, execution_ids: list[str]) -> None:
        """Read executions that reads of this batch will ask for, in one round trip.

        A read answered from these reads the execution as it was when the batch began, which
        is after the read was asked for. An execution the batch holds is answered as the batch
        left it instead, and one not found here is looked for again: an earlier transition of
        the batch may have started it.
        """
        rows = self._all(
            f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ANY(%s)", (sorted(set(execution_ids)),)
        )
        self._read_rows = {row[0]: row for row in rows}

    def insert_execution(self, row: ExecutionRow, *, new: bool = False) -> bool:  # noqa: D102
        values = (
            row.id, row.workflow, row.status, row.input, row.result, row.error, row.created_at_ms,
            row.closed_at_ms, row.cancel_requested, row.task_error, row.last_seq, row.priority,
        )  # fmt: skip
        if new:
            # Sent without waiting: an id made just now is not taken (if it were, the
            # statement fails and the transaction with it, changing nothing).
            self._send(_INSERT_EXECUTION, values)
        elif self._one(_INSERT_EXECUTION_IF_FREE, values) is None:
            return False
        if self.locking:
            self._locked.add(row.id)  # a row this transaction inserted is its own until commit
            self.known.learn_execution(row)
            self.known.learn_workflow_task(row.id, None)
        return True

    def update_execution(self, execution_id: str, **fields: object) -> None:  # noqa: D102
        self._lock(execution_id)
        if self._holds(execution_id):
            values = _checked("executions", _EXECUTION_FIELDS, fields)
            self._pending.update_execution(execution_id, values)  # held back, sent with the other writes
        else:
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
            self.first_appended.setdefault(execution_id, last - len(events) + 1)
            rows = [(execution_id, last - len(events) + 1 + i, str(k), at_ms, d) for i, (k, d) in enumerate(events)]
            for event in rows:
                self._send("INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES (%s,%s,%s,%s,%s)", event)
            return last
        # The row is locked and known: the numbers follow from it, and the events (with the
        # new last_seq) go out later, together with those of the rest of the transition.
        last = known + len(events)
        self.first_appended.setdefault(execution_id, known + 1)
        rows = [(execution_id, known + 1 + i, str(kind), at_ms, data) for i, (kind, data) in enumerate(events)]
        self._hold_back_events(rows)
        self.known.appended(execution_id, [(seq, kind, at, data) for _, seq, kind, at, data in rows])
        return last

    def expect_events(self, execution_id: str, after_seq: int) -> None:  # noqa: D102
        if not self._holds(execution_id):
            self._expected[execution_id] = after_seq  # read behind its lock, in the same round trip

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
        return [Event(seq, EventType(kind), at_ms, payloads.parse(data)) for seq, kind, at_ms, data in rows]

    def first_event(self, execution_id: str) -> Event | None:  # noqa: D102
        # Held back (this transition started the execution) or stored: read without sending the held part.
        row = next((r[2:] for r in self._pending.events() if r[0] == execution_id and r[1] == 1), None)
        if row is None:
            row = self._one("SELECT type, at_ms, data FROM events WHERE execution_id = %s AND seq = 1", (execution_id,))
        return None if row is None else Event(1, EventType(row[0]), row[1], payloads.parse(row[2]))

    def events_of_type(self, execution_id: str, kind: EventType) -> list[Event]:  # noqa: D102
        self._send_held_back()
        rows = self._all(
            "SELECT seq, at_ms, data FROM events WHERE execution_id = %s AND type = %s ORDER BY seq",
            (execution_id, str(kind)),
        )
        return [Event(seq, kind, at_ms, payloads.parse(data)) for seq, at_ms, data in rows]

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
        known = self.known.open_activities(execution_id)
        if known is not None:
            return known
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
        if self._holds(execution_id):
            self._pending.delete_timers(execution_id)  # held back: timers are read or written only after it
        else:
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
        row = self._one(API_KEY_BY_ID, (key_id,))
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
        return self._one(ANY_ACTIVE_API_KEY) is not None

    def set_api_key_sigv4(self, key_id: str, sealed: str) -> bool:  # noqa: D102
        return (
            self._count(
                "UPDATE api_keys SET sigv4_secret = %s WHERE key_id = %s AND revoked_at_ms IS NULL", (sealed, key_id)
            )
            > 0
        )

    # helpers

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
