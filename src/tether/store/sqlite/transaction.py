"""SQLite transactions: the queries of the embedded store, run by whichever thread runs the batch.

Executions, history, activities and timers are here; the task queues are in
:mod:`sqlite_queues`, workers, names and keys in :mod:`sqlite_registry`, published values in
:mod:`sqlite_published`, notifications out in :mod:`sqlite_outbox`, listings in
:mod:`sqlite_listings`.
"""

from __future__ import annotations

import dataclasses
import operator
import sqlite3
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import pydantic_core

from tether.errors import UsageError
from tether.model import notifications
from tether.model.events import Event, EventType
from tether.store.base import Transaction
from tether.store.rows import ActivityRow, ActivityTaskRow, ExecutionRow, LinkRow
from tether.store.sqlite import lifecycle as sqlite_lifecycle
from tether.store.sqlite import links as sqlite_links
from tether.store.sqlite import listings as sqlite_listings
from tether.store.sqlite import messages as sqlite_messages
from tether.store.sqlite import nulls as sqlite_nulls
from tether.store.sqlite import outbox as sqlite_outbox
from tether.store.sqlite import overdue as sqlite_overdue
from tether.store.sqlite import pending as sqlite_pending
from tether.store.sqlite import published as sqlite_published
from tether.store.sqlite import queues as sqlite_queues
from tether.store.sqlite import registry as sqlite_registry
from tether.store.sqlite import rows as sqlite_rows
from tether.store.sqlite import schedules as sqlite_schedules
from tether.store.sqlite import timers as sqlite_timers
from tether.store.sqlite.pending import HeldActivity, WorkflowTaskState

_EXECUTION_COLUMNS = sqlite_rows.EXECUTION_COLUMNS
_ACTIVITY_COLUMNS = sqlite_pending.ACTIVITY_COLUMNS
_EVENT_TYPES = {str(t): t for t in EventType}
# A workflow task's priority is its execution's (set when it starts, never changed): one
# column less to read with every execution a transition loads.
_EXECUTION_WITH_TASK_COLUMNS = (
    f"{', '.join(f'x.{c}' for c in _EXECUTION_COLUMNS.split(', '))}, "
    "(SELECT coalesce(max(seq), 0) FROM events WHERE execution_id = x.id), "
    "t.workflow, t.ready_at_ms, t.leased_until_ms, t.owner, t.dirty, "
    "(SELECT due_at_ms FROM timers WHERE execution_id = x.id AND kind = 'workflow' AND ref = 0), "
    "EXISTS (SELECT 1 FROM timers WHERE execution_id = x.id), "
    f"{', '.join(f'l.{c}' for c in sqlite_links.LINK_COLUMNS.split(', '))}"
)
_EXECUTION_WITH_TASK_JOINS = (
    "LEFT JOIN workflow_tasks t ON t.execution_id = x.id LEFT JOIN execution_links l ON l.id = x.id"
)
_EXECUTION_WITH_TASK = (
    f"SELECT {_EXECUTION_WITH_TASK_COLUMNS} FROM executions x {_EXECUTION_WITH_TASK_JOINS} WHERE x.id = ?"
)
# Whether the activity's waiting was announced (its close is announced to the same URLs),
# read with it: a call by token that closes it reads no outbox when none was.
_TOLD_WAITING = (
    "EXISTS (SELECT 1 FROM outbox o WHERE o.execution_id = a.execution_id "
    f"AND o.activity_id = a.activity_id AND o.event = '{notifications.WAITING}')"
)
_ACTIVITY_WITH_NOTICES = (
    f"SELECT {_ACTIVITY_COLUMNS}, {_TOLD_WAITING} FROM activities a WHERE a.execution_id = ? AND a.activity_id = ?"
)
# An activity with its execution as get_execution reads it, in one statement: a call by token
# reads both (the execution's status and deadline are checked before the activity is touched).
_ACTIVITY_WITH_EXECUTION = (
    f"SELECT {', '.join(f'a.{c}' for c in _ACTIVITY_COLUMNS.split(', '))}, {_TOLD_WAITING}, "
    f"{_EXECUTION_WITH_TASK_COLUMNS} FROM activities a JOIN executions x ON x.id = a.execution_id "
    f"{_EXECUTION_WITH_TASK_JOINS} WHERE a.execution_id = ? AND a.activity_id = ?"
)
_ACTIVITY_WIDTH = len(_ACTIVITY_COLUMNS.split(", ")) + 1
"""Where the execution's columns begin in a row of _ACTIVITY_WITH_EXECUTION."""
_EXECUTION_FIELDS = frozenset(_EXECUTION_COLUMNS.split(", "))
_INSERT_EXECUTION = f"INSERT INTO executions ({_EXECUTION_COLUMNS})"
_ACTIVITY_EXTRAS = frozenset(["worker", "inbox", "inbox_note"])
"""Columns of activities that are not fields of ActivityRow."""
_ACTIVITY_FIELDS = frozenset([*_ACTIVITY_COLUMNS.split(", "), *_ACTIVITY_EXTRAS])


class TransactionLost(BaseException):  # a signal through user and engine handlers
    """SQLite rolled back the whole transaction by itself; the batch must be failed."""


class SQLiteTransaction(
    sqlite_queues.QueueQueries,
    sqlite_registry.RegistryQueries,
    sqlite_links.LinkQueries,
    sqlite_listings.ListingQueries,
    sqlite_messages.MessageQueries,
    sqlite_lifecycle.LifecycleQueries,
    sqlite_published.PublishedQueries,
    sqlite_outbox.OutboxQueries,
    sqlite_overdue.OverdueQueries,
    sqlite_schedules.ScheduleQueries,
    sqlite_timers.TimerQueries,
    Transaction,
):
    """Transaction methods over the writer connection; used by one thread at a time, the batch's.

    Task queue rows, events and new activities are held back (see :mod:`sqlite_pending`)
    and written by :meth:`flush` when the transition ends, or earlier by a statement that
    must see them.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.pending = sqlite_pending.PendingWrites(conn, self._write)
        self._unopened: list[str] = []
        """Savepoints entered but not yet opened in SQL, outermost first."""
        self._undo: list[tuple[str, dict[str, object], int]] = []
        """Updates of executions made inside savepoints not yet opened, as the statement that undoes
        each (execution, its fields' earlier values) and the rows it changed: such a savepoint's
        body that fails after them runs these instead of a rollback to a savepoint never sent."""
        self._executions: dict[str, ExecutionRow] = {}
        """Execution rows this transition read (their last_seq kept current with held events)."""
        self._deadlines: dict[str, int | None] = {}
        """Workflow deadlines of the executions this transition read, read with them and kept current."""
        self._links: dict[str, LinkRow | None] = {}
        """The links of the executions this transition read (None: it has none), read with them, until changed."""
        self._timed: dict[str, bool] = {}
        """Whether the executions this transition read have timers, read with them: a close with none
        deletes none (True once one is armed; dropped where a rollback leaves it unknown)."""
        self._activities: dict[tuple[str, int], ActivityRow] = {}
        """Activity rows this transition read from the table, until it changes them (a call by token reads its
        activity as it checks the token, then again as it acts on it)."""
        self.told_waiting: dict[tuple[str, int], bool] = {}
        """Whether the activities this transition read were announced as waiting, read with them
        (True once this transition announces one)."""
        self._savepoints = 0
        self.topics: set[str] = set()
        self.closed_ids: set[str] = set()
        self.hooks: list[Callable[[], None]] = []
        self.rollback_hooks: list[Callable[[], None]] = []
        self.enqueued_workflows: list[str] = []
        self.enqueued_activities: list[ActivityTaskRow] = []

    def reset(self) -> None:
        """Forget what the previous transition marked, read and held back."""
        # Each is cleared only if used: most transitions touch few of them.
        self.pending.clear()
        self._forget_reads()
        if self._undo:
            self._undo = []
        if self.topics:
            self.topics = set()
        if self.closed_ids:
            self.closed_ids = set()
        if self.hooks:
            self.hooks = []
        if self.rollback_hooks:
            self.rollback_hooks = []
        if self.enqueued_workflows:
            self.enqueued_workflows = []
        if self.enqueued_activities:
            self.enqueued_activities = []

    def _undoable_since(self, mark: int) -> int:
        """The rows changed by the updates made since ``mark`` in savepoints not opened."""
        return sum(rows for _, _, rows in self._undo[mark:])

    def _undo_since(self, mark: int) -> None:
        """Undo the updates made since ``mark`` in savepoints not opened, latest first."""
        undo = self._undo
        for execution_id, earlier, _ in reversed(undo[mark:]):
            self._send_update("executions", "id = ?", (execution_id,), earlier)
        del undo[mark:]

    def _forget_reads(self) -> None:
        """Forget the rows read and what was read with them: read again, they are read as they now are."""
        if self._executions:
            self._executions.clear()
        if self._deadlines:
            self._deadlines.clear()
        if self._activities:
            self._activities.clear()
        if self._timed:
            self._timed.clear()
        if self._links:
            self._links.clear()
        if self.told_waiting:
            self.told_waiting.clear()

    def flush(self) -> None:
        """Write everything the transition held back; the end of every writing transition."""
        self.pending.flush()

    def savepoint(self) -> _Savepoint:  # noqa: D102
        return _Savepoint(self)

    def _write(self) -> None:
        """Open the savepoints not yet opened in SQL; every statement that writes comes after this."""
        if self._unopened:
            for name in self._unopened:
                self._conn.execute(f"SAVEPOINT {name}")
            self._unopened.clear()

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
        execution = self._executions.get(execution_id)
        if execution is None:
            # The workflow task comes along: queueing one, which usually follows, needs it.
            row = self._conn.execute(_EXECUTION_WITH_TASK, (execution_id,)).fetchone()
            if not row:
                return None
            execution = self._learn_execution(execution_id, row)
        last = self.pending.last_seq.get(execution_id)
        if last is not None:
            execution.last_seq = last
        return execution

    def _learn_execution(self, execution_id: str, row: Sequence[Any]) -> ExecutionRow:
        """Keep an execution read with what comes along (a row of _EXECUTION_WITH_TASK's columns)."""
        execution = self._executions[execution_id] = sqlite_rows.execution_row(row)
        self._deadlines[execution_id] = row[17]
        self._timed[execution_id] = bool(row[18])
        self._links[execution_id] = None if row[19] is None else sqlite_links.link(row[19:])
        self.pending.stored_tasks[execution_id] = (
            None if row[12] is None else WorkflowTaskState(row[12], row[13], row[14], row[15], bool(row[16]), row[10])
        )
        return execution

    def insert_execution(self, row: ExecutionRow, *, new: bool = False) -> bool:  # noqa: D102
        # Learning whether the id is taken costs no round trip here: ``new`` changes nothing.
        self._write()
        self._executions.pop(row.id, None)
        inserted = bool(sqlite_nulls.insert(
            self._conn,
            _INSERT_EXECUTION,
            (
                row.id, row.workflow, row.status, row.input, row.result, row.error, row.created_at_ms,
                row.closed_at_ms, int(row.cancel_requested), row.task_error, row.priority,
            ),
            " ON CONFLICT (id) DO NOTHING",
        ).rowcount)  # fmt: skip
        if inserted:
            # A new execution has no history and no workflow task yet.
            self._executions[row.id] = _copy_execution(row, {"last_seq": 0})
            self._deadlines[row.id] = None  # nor a deadline (a start that has one arms it next)
            self._timed[row.id] = False
            self.pending.stored_tasks[row.id] = None
        return inserted

    def update_execution(self, execution_id: str, **fields: object) -> None:  # noqa: D102
        cached = self._executions.get(execution_id)
        if self._unopened and cached is not None:
            # Inside a savepoint nothing else wrote in yet (a workflow step run inline, closing
            # its workflow): what the row was is known, so the update can be undone without one.
            _check_fields("executions", _EXECUTION_FIELDS, fields)
            earlier = {name: getattr(cached, name) for name in fields}
            changes = self._conn.total_changes
            self._send_update("executions", "id = ?", (execution_id,), fields)
            self._undo.append((execution_id, earlier, self._conn.total_changes - changes))
        else:
            self._update("executions", "id = ?", (execution_id,), _EXECUTION_FIELDS, fields)
        if cached is not None:
            # A new row, not a change in place: whoever holds the one read earlier keeps it as it was.
            self._executions[execution_id] = _copy_execution(cached, fields)

    def append_events(self, execution_id: str, events: Sequence[tuple[EventType, str]], at_ms: int) -> int:  # noqa: D102
        pending = self.pending
        last = pending.last_seq.get(execution_id)
        if last is None:
            execution = self.get_execution(execution_id)
            if execution is None:
                raise UsageError(f"no execution {execution_id!r} to append events to")
            last = execution.last_seq
            pending.first_seq.setdefault(execution_id, last + 1)
        for kind, data in events:
            last += 1
            pending.events.append((execution_id, last, str(kind), at_ms, data))
        pending.last_seq[execution_id] = last
        return last

    def appended_from(self) -> dict[str, int]:  # noqa: D102
        return self.pending.first_seq

    def expect_events(self, execution_id: str, after_seq: int) -> None:  # noqa: D102
        pass  # every read is local: nothing to save

    def load_events(self, execution_id: str, after_seq: int = 0) -> list[Event]:  # noqa: D102
        # Events this transition appended follow every stored one: read the stored part (if
        # any is asked for) and add the held part, without writing it first.
        held = [r[1:] for r in self.pending.events if r[0] == execution_id and r[1] > after_seq]
        rows: list[Any] = []
        if not held or held[0][0] != after_seq + 1:
            rows = self._conn.execute(
                "SELECT seq, type, at_ms, data FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq",
                (execution_id, after_seq),
            ).fetchall()
        rows.extend(held)
        return [Event(seq, _EVENT_TYPES[kind], at_ms, pydantic_core.from_json(data)) for seq, kind, at_ms, data in rows]

    def first_event(self, execution_id: str) -> Event | None:  # noqa: D102
        # Held back (this transition started the execution) or stored: read without writing the held part.
        row = next((r[2:] for r in self.pending.events if r[0] == execution_id and r[1] == 1), None)
        if row is None:
            row = self._conn.execute(
                "SELECT type, at_ms, data FROM events WHERE execution_id = ? AND seq = 1", (execution_id,)
            ).fetchone()
        return None if row is None else Event(1, _EVENT_TYPES[row[0]], row[1], pydantic_core.from_json(row[2]))

    def events_of_type(self, execution_id: str, kind: EventType) -> list[Event]:  # noqa: D102
        self.pending.flush_events()
        rows = self._conn.execute(
            "SELECT seq, at_ms, data FROM events WHERE execution_id = ? AND type = ? ORDER BY seq",
            (execution_id, str(kind)),
        ).fetchall()
        return [Event(seq, kind, at_ms, pydantic_core.from_json(data)) for seq, at_ms, data in rows]

    def executions_with_failed_task(self) -> list[str]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT id FROM executions WHERE task_error IS NOT NULL AND status = 'running'"
        ).fetchall()
        return [r[0] for r in rows]

    # activities

    def get_activity(self, execution_id: str, activity_id: int) -> ActivityRow | None:  # noqa: D102
        key = (execution_id, activity_id)
        held = self.pending.activities.get(key)
        if held is not None:
            return held.row  # held rows are replaced on change, never changed in place
        read = self._activities.get(key)
        if read is not None:
            return read
        unread = execution_id not in self._executions
        row = self._conn.execute(_ACTIVITY_WITH_EXECUTION if unread else _ACTIVITY_WITH_NOTICES, key).fetchone()
        if not row:
            return None
        read = self._activities[key] = sqlite_rows.activity_row(row)
        self.told_waiting[key] = bool(row[17])
        if unread:
            self._learn_execution(execution_id, row[_ACTIVITY_WIDTH:])
        return read

    def insert_activity(self, row: ActivityRow) -> None:  # noqa: D102
        self.pending.activities[(row.execution_id, row.activity_id)] = HeldActivity(row)

    def update_activity(self, execution_id: str, activity_id: int, **fields: object) -> None:  # noqa: D102
        held = self.pending.activities.get((execution_id, activity_id))
        if held is None:
            self._activities.pop((execution_id, activity_id), None)  # read again as it now is
            self._update(
                "activities", "execution_id = ? AND activity_id = ?", (execution_id, activity_id), _ACTIVITY_FIELDS,
                fields,
            )  # fmt: skip
            return
        _check_fields("activities", _ACTIVITY_FIELDS, fields)
        worker = fields.pop("worker", held.worker)
        inbox = bool(fields.pop("inbox", held.inbox))
        note = fields.pop("inbox_note", held.inbox_note)
        row = _copy_activity(held.row, fields) if fields else held.row
        self.pending.activities[(execution_id, activity_id)] = HeldActivity(
            row, worker if worker is None else str(worker), inbox, note if note is None else str(note)
        )

    def open_activities(self, execution_id: str) -> list[ActivityRow]:  # noqa: D102
        self.pending.flush_activities()
        rows = self._conn.execute(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities INDEXED BY activities_open "
            "WHERE execution_id = ? AND closed_at_ms IS NULL ORDER BY activity_id",
            (execution_id,),
        ).fetchall()
        return [sqlite_rows.activity_row(r) for r in rows]

    # helpers

    def _update(
        self, table: str, where: str, key: tuple[object, ...], allowed: frozenset[str], fields: dict[str, object]
    ) -> None:
        _check_fields(table, allowed, fields)
        self._write()
        self._send_update(table, where, key, fields)

    def _send_update(self, table: str, where: str, key: tuple[object, ...], fields: dict[str, object]) -> None:
        values = list(fields.values())
        if bool in set(map(type, values)):  # bound as numbers: the module adapts a bool slowly, as it does None
            values = [int(v) if type(v) is bool else v for v in values]
        sql, params = sqlite_nulls.update_sql(table, tuple(fields), values, where)
        params.extend(key)
        self._conn.execute(sql, params)

    def data_version(self) -> int:
        """SQLite's counter of commits made by other connections."""
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        return int(version)


class _Savepoint:
    """A nested scope of a transaction: a class, not a generator, as one is entered on every workflow step.

    The SQL savepoint is opened only before the first statement that writes inside it
    (see ``SQLiteTransaction._write``): a body whose writes are all held back needs none.
    """

    __slots__ = ("_changes", "_held", "_name", "_tx", "_undo_mark")

    def __init__(self, tx: SQLiteTransaction) -> None:
        self._tx = tx

    def __enter__(self) -> None:
        tx = self._tx
        tx._savepoints += 1
        self._name = name = f"nested{tx._savepoints}"
        tx._unopened.append(name)
        self._held = tx.pending.snapshot()
        self._changes = tx._conn.total_changes
        self._undo_mark = len(tx._undo)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        tx, name, conn = self._tx, self._name, self._tx._conn
        try:
            if exc is None:
                if name not in tx._unopened:
                    conn.execute(f"RELEASE {name}")
                return
            if not conn.in_transaction:
                # SQLite already rolled the whole transaction back (disk full, I/O error):
                # nothing may run on, or it would commit statement by statement.
                raise TransactionLost(str(exc)) from exc
            if name in tx._unopened:
                if conn.total_changes != self._changes + tx._undoable_since(self._undo_mark):
                    # A write went past _write: it cannot be undone alone, so nothing may commit.
                    raise TransactionLost(f"a write inside savepoint {name} was not covered by it") from exc
                tx._undo_since(self._undo_mark)
            else:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                tx._undo_since(self._undo_mark)  # made before it was opened
            tx.pending.restore(self._held)
            tx._forget_reads()
        finally:
            if name in tx._unopened:
                tx._unopened.remove(name)
            tx._savepoints -= 1


# A row's fields in order, read by one C call: dataclasses.replace costs several times as
# much, and an execution or activity row is copied by most transitions.
_ACTIVITY_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(ActivityRow)))
_EXECUTION_VALUES = operator.attrgetter(*(f.name for f in dataclasses.fields(ExecutionRow)))


def _copy_activity(row: ActivityRow, changes: dict[str, object]) -> ActivityRow:
    copied = ActivityRow(*_ACTIVITY_VALUES(row))
    for name, value in changes.items():
        setattr(copied, name, value)  # the names were checked against the columns
    return copied


def _copy_execution(row: ExecutionRow, changes: dict[str, object]) -> ExecutionRow:
    copied = ExecutionRow(*_EXECUTION_VALUES(row))
    for name, value in changes.items():
        setattr(copied, name, value)  # the names were checked against the columns
    return copied


def _check_fields(table: str, allowed: frozenset[str], fields: dict[str, object]) -> None:
    if not allowed.issuperset(fields):
        raise UsageError(f"unknown columns for {table}: {sorted(set(fields) - allowed)}")
