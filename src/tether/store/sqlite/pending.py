"""Writes a transition holds back until it ends, because its own later statements often undo them.

Within one transition the engine typically queues a task and takes it straight back (the
local worker leases it, runs it and finishes it), appends events several times, and
inserts an activity that it then marks started. Written through, each step costs a
statement and dirties pages that the commit must write and fsync. Held back here, only
the final state is written, once, when the transition ends (or before a statement that
must see it). Nothing here outlives the transition: the commit it joins is the same.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Callable
from typing import Any, NamedTuple

from tether.store.rows import ActivityRow, ActivityTaskRow
from tether.store.sqlite import nulls as sqlite_nulls


class WorkflowTaskState(NamedTuple):
    """A workflow task row as this transition left it (replaced, never changed in place)."""

    workflow: str
    ready_at_ms: int
    leased_until_ms: int
    owner: str | None
    dirty: bool
    priority: int = 0


class HeldWorkflowTask(NamedTuple):
    """One execution's workflow task, read once and then changed in memory."""

    stored: bool
    """Whether the database holds a row for it (as of the transition's start)."""
    state: WorkflowTaskState | None
    """The row now; None when there is none."""


class HeldActivity(NamedTuple):
    """An activity inserted by this transition, as changed since (replaced, never changed in place)."""

    row: ActivityRow
    worker: str | None = None
    inbox: bool = False
    inbox_note: str | None = None


Snapshot = tuple[
    dict[tuple[str, int], ActivityTaskRow],
    dict[str, HeldWorkflowTask],
    list[tuple[str, int, str, int, str]],
    dict[str, int],
    dict[tuple[str, int], HeldActivity],
]


class PendingWrites:
    """What one transition holds back, and the statements that finally write it."""

    def __init__(self, conn: sqlite3.Connection, before_write: Callable[[], None]) -> None:
        self._conn = conn
        self._before_write = before_write
        """Called before any statement here runs (the transaction opens its pending savepoints)."""
        self.activity_tasks: dict[tuple[str, int], ActivityTaskRow] = {}
        """Queued attempts by (execution, activity), in queue order."""
        self.workflow_tasks: dict[str, HeldWorkflowTask] = {}
        self.events: list[tuple[str, int, str, int, str]] = []
        """Appended history rows: execution, seq, type, at_ms, data."""
        self.last_seq: dict[str, int] = {}
        """The last sequence number of each execution this transition appended to."""
        self.first_seq: dict[str, int] = {}
        """The first sequence number this transition appended to each execution (kept past a flush)."""
        self.activities: dict[tuple[str, int], HeldActivity] = {}
        self.stored_tasks: dict[str, WorkflowTaskState | None] = {}
        """Workflow task rows as stored, read along with their executions; forgotten once any is written."""

    def clear(self) -> None:
        """Forget everything (the transition is over, or rolled back)."""
        if self.activity_tasks:
            self.activity_tasks.clear()
        if self.workflow_tasks:
            self.workflow_tasks.clear()
        if self.events:
            self.events = []
        if self.last_seq:
            self.last_seq.clear()
        if self.first_seq:
            self.first_seq.clear()
        if self.activities:
            self.activities.clear()
        if self.stored_tasks:
            self.stored_tasks.clear()

    def snapshot(self) -> Snapshot:
        """What is held now, for a savepoint to restore if its body fails."""
        return (
            dict(self.activity_tasks),
            dict(self.workflow_tasks),
            list(self.events),
            dict(self.last_seq),
            dict(self.activities),
        )

    def restore(self, snapshot: Snapshot) -> None:
        """Go back to a snapshot (the savepoint rolled back the statements of the same span).

        What was flushed since went with those statements, so the snapshot holds it again.
        """
        self.activity_tasks, self.workflow_tasks, self.events, self.last_seq, self.activities = snapshot
        self.stored_tasks.clear()

    def flush(self) -> None:
        """Write everything held back."""
        self.flush_activities()
        self.flush_activity_tasks()
        self.flush_workflow_tasks()
        self.flush_events()

    def flush_activity_tasks(self) -> None:
        """Write the queued attempts."""
        if not self.activity_tasks:
            return
        self._before_write()
        self._conn.executemany(
            "INSERT OR REPLACE INTO activity_tasks (execution_id, activity_id, attempt, name, priority) "
            "VALUES (?,?,?,?,?)",
            [(t.execution_id, t.activity_id, t.attempt, t.name, t.priority) for t in self.activity_tasks.values()],
        )
        self.activity_tasks.clear()

    def flush_workflow_tasks(self) -> None:
        """Write the workflow tasks as this transition left them."""
        self.stored_tasks.clear()
        if not self.workflow_tasks:
            return
        self._before_write()
        for execution_id, held in self.workflow_tasks.items():
            state = held.state
            if state is None:
                if held.stored:
                    self._conn.execute("DELETE FROM workflow_tasks WHERE execution_id = ?", (execution_id,))
                continue
            sqlite_nulls.insert(
                self._conn,
                "INSERT OR REPLACE INTO workflow_tasks "
                "(execution_id, workflow, ready_at_ms, leased_until_ms, owner, dirty, priority)",
                (
                    execution_id, state.workflow, state.ready_at_ms, state.leased_until_ms, state.owner,
                    int(state.dirty), state.priority,
                ),
            )  # fmt: skip
        self.workflow_tasks.clear()

    def flush_events(self) -> None:
        """Write the appended events."""
        if not self.events:
            return
        self._before_write()
        rows = self.events
        # One statement for several rows: executemany steps (and releases the GIL) once a row.
        for start in range(0, len(rows), _EVENTS_PER_INSERT):
            chunk = rows[start : start + _EVENTS_PER_INSERT]
            self._conn.execute(_insert_events_sql(len(chunk)), [*itertools.chain.from_iterable(chunk)])
        self.events = []
        self.last_seq.clear()

    def flush_activities(self) -> None:
        """Insert the activities this transition created, as they are now."""
        if not self.activities:
            return
        self._before_write()
        rows = [
            (*activity_values(held.row), held.worker, int(held.inbox), held.inbox_note)
            for held in self.activities.values()
        ]
        if len(rows) == 1:
            sqlite_nulls.insert(self._conn, _INSERT_ACTIVITY, rows[0])
        else:
            sqlite_nulls.insert_many(self._conn, _INSERT_ACTIVITY, rows)
        self.activities.clear()


_EVENTS_PER_INSERT = 16
"""Rows an INSERT of events carries at most (so that few statement texts recur in SQLite's cache)."""


@functools.lru_cache(maxsize=_EVENTS_PER_INSERT)
def _insert_events_sql(rows: int) -> str:
    values = ",".join(["(?,?,?,?,?)"] * rows)
    return f"INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES {values}"


ACTIVITY_COLUMNS = (
    "execution_id, activity_id, name, state, attempt, args, options, scheduled_at_ms, "
    "attempt_started_at_ms, last_heartbeat_at_ms, heartbeat_details, checkpoint, last_failure, "
    "cancel_requested, watch_heartbeats, result, closed_at_ms"
)


_INSERT_ACTIVITY = f"INSERT INTO activities ({ACTIVITY_COLUMNS}, worker, inbox, inbox_note)"


def activity_values(row: ActivityRow) -> tuple[Any, ...]:
    """The column values of an activity row, in :data:`ACTIVITY_COLUMNS` order."""
    return (
        row.execution_id, row.activity_id, row.name, row.state, row.attempt, row.args, row.options,
        row.scheduled_at_ms, row.attempt_started_at_ms, row.last_heartbeat_at_ms, row.heartbeat_details,
        row.checkpoint, row.last_failure, int(row.cancel_requested), int(row.watch_heartbeats),
        row.result, row.closed_at_ms,
    )  # fmt: skip
