"""SQLite queries that remove executions: deleting one by hand, and retention finding the expired."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from tether.store.sqlite import pending as sqlite_pending

_OWNED_TABLES = ("events", "activities", "timers", "workflow_tasks", "activity_tasks", "messages", "published_values")
"""Tables whose rows belong to one execution (by ``execution_id``); the inbox notes are activities' columns."""
_CHUNK = 500

_NOT_A_CHAIN_HEAD = (
    "(status != 'continued' OR EXISTS "
    "(SELECT 1 FROM execution_links l WHERE l.id = executions.id AND l.chain_id IS NOT NULL))"
)
"""A first run that continued as new stays while its chain goes on: its id is how clients name the chain."""
"""Ids per statement (SQLite bounds the parameters of a statement)."""


class LifecycleQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` that deletes executions."""

    _conn: sqlite3.Connection
    pending: sqlite_pending.PendingWrites
    _write: Callable[[], None]
    _forget_reads: Callable[[], None]

    def delete_executions(self, execution_ids: Sequence[str]) -> None:  # noqa: D102
        # Whatever this transition holds back is written first, so that nothing of these
        # executions is written after their delete.
        self.pending.flush()
        self._write()
        self._forget_reads()  # rows of these executions, and whatever was read with them
        ids = list(dict.fromkeys(execution_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for table in _OWNED_TABLES:
                self._conn.execute(f"DELETE FROM {table} WHERE execution_id IN ({marks})", chunk)
            # Notifications still due stay to be delivered (the deliverer removes them once done).
            self._conn.execute(
                f"DELETE FROM outbox WHERE execution_id IN ({marks}) AND state NOT IN ('pending', 'retrying')", chunk
            )
            self._conn.execute(f"DELETE FROM execution_links WHERE id IN ({marks})", chunk)
            self._conn.execute(f"DELETE FROM executions WHERE id IN ({marks})", chunk)

    def expired_executions(self, closed_before_ms: int, limit: int) -> list[str]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT id FROM executions WHERE closed_at_ms IS NOT NULL AND closed_at_ms < ? "
            f"AND {_NOT_A_CHAIN_HEAD} ORDER BY closed_at_ms LIMIT ?",
            (closed_before_ms, limit),
        ).fetchall()
        return [r[0] for r in rows]
