"""SQLite queries of durable timers: user sleeps, activities' deadlines and retries, workflows' deadlines."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tether.store.rows import TimerRow


class TimerQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about timers.

    A workflow's deadline and whether an execution has timers at all are read with the
    execution (``_deadlines``, ``_timed``) and kept current here, so that a close of an
    execution without timers deletes none.
    """

    _conn: sqlite3.Connection
    _write: Callable[[], None]
    _deadlines: dict[str, int | None]
    _timed: dict[str, bool]
    topics: set[str]

    def arm_timer(self, timer: TimerRow) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "INSERT OR REPLACE INTO timers (execution_id, kind, ref, attempt, due_at_ms) VALUES (?,?,?,?,?)",
            (timer.execution_id, timer.kind, timer.ref, timer.attempt, timer.due_at_ms),
        )
        if timer.kind == "workflow":
            self._deadlines[timer.execution_id] = timer.due_at_ms
        self._timed[timer.execution_id] = True
        # The timer loop sleeps until the earliest due time it knew; it must look again.
        self.topics.add("timers")

    def delete_timer(self, execution_id: str, kind: str, ref: int) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "DELETE FROM timers WHERE execution_id = ? AND kind = ? AND ref = ?", (execution_id, kind, ref)
        )
        if kind == "workflow":
            self._deadlines[execution_id] = None

    def delete_activity_timers(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "DELETE FROM timers WHERE execution_id = ? AND ref = ? AND kind != 'sleep'", (execution_id, activity_id)
        )

    def delete_execution_timers(self, execution_id: str) -> None:  # noqa: D102
        if self._timed.get(execution_id) is not False:  # none, as read with the execution: nothing to delete
            self._write()
            self._conn.execute("DELETE FROM timers WHERE execution_id = ?", (execution_id,))
            self._timed[execution_id] = False
        self._deadlines[execution_id] = None

    def workflow_deadline_ms(self, execution_id: str) -> int | None:  # noqa: D102
        if execution_id in self._deadlines:
            return self._deadlines[execution_id]
        row = self._conn.execute(
            "SELECT due_at_ms FROM timers WHERE execution_id = ? AND kind = 'workflow' AND ref = 0", (execution_id,)
        ).fetchone()
        return None if row is None else int(row[0])

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
