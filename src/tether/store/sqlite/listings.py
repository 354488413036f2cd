"""SQLite listings: pages of executions and of waiting activities, and which of some executions are closed.

The SQLite side of :mod:`tether.store.postgres.listings` (its overdue view is
:mod:`tether.store.sqlite.overdue`, its queue gauges are in :mod:`tether.store.sqlite.queues`).
These reads serve the API, the UI and the CLI: a page is ordered newest or longest-waiting
first and includes what this transaction holds back (see :mod:`tether.store.sqlite.pending`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tether.store.rows import ActivityRow, ExecutionRow
from tether.store.sqlite import pending as sqlite_pending
from tether.store.sqlite import rows as sqlite_rows
from tether.store.sqlite.pending import PendingWrites


class ListingQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about listings."""

    _conn: sqlite3.Connection
    pending: PendingWrites

    def list_executions(  # noqa: D102
        self,
        *,
        status: str | None,
        workflow: str | None,
        limit: int,
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
        id_prefix: str | None = None,
    ) -> list[ExecutionRow]:
        clauses: list[str] = []
        params: list[object] = []
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
        if id_prefix:
            # A range on the primary key rather than LIKE: no wildcard to escape, and it uses the index.
            clauses.append("id >= ? AND id < ?")
            params.extend([id_prefix, id_prefix + "\U0010ffff"])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        self.pending.flush_events()
        rows = self._conn.execute(
            f"SELECT {sqlite_rows.EXECUTION_SELECT} FROM executions {where} "
            "ORDER BY created_at_ms DESC, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [sqlite_rows.execution_row(r) for r in rows]

    def inbox_note(self, execution_id: str, activity_id: int) -> str | None:  # noqa: D102
        held = self.pending.activities.get((execution_id, activity_id))
        if held is not None:
            return held.inbox_note
        row = self._conn.execute(
            "SELECT inbox_note FROM activities WHERE execution_id = ? AND activity_id = ?", (execution_id, activity_id)
        ).fetchone()
        return row[0] if row is not None else None

    def waiting_activities(  # noqa: D102
        self,
        *,
        inbox_only: bool,
        limit: int,
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
        workflow: str | None = None,
        name: str | None = None,
    ) -> list[tuple[ActivityRow, str, str | None]]:
        clauses = ["a.state = 'async'"]
        params: list[object] = []
        if inbox_only:
            clauses.append("a.inbox = 1")
        for column, value in (("e.workflow", workflow), ("a.name", name)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if workflow_patterns is not None:
            clauses.append(f"({' OR '.join(['e.workflow GLOB ?'] * len(workflow_patterns)) or '0'})")
            params.extend(workflow_patterns)
        columns = ", ".join(f"a.{c}" for c in sqlite_pending.ACTIVITY_COLUMNS.split(", "))
        self.pending.flush_activities()
        rows = self._conn.execute(
            f"SELECT {columns}, e.workflow, a.inbox_note FROM activities a JOIN executions e ON e.id = a.execution_id "
            f"WHERE {' AND '.join(clauses)} "
            "ORDER BY a.attempt_started_at_ms, a.execution_id, a.activity_id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [(sqlite_rows.activity_row(r[:-2]), r[-2], r[-1]) for r in rows]

    def closed_among(self, execution_ids: Sequence[str]) -> list[str]:  # noqa: D102
        closed: list[str] = []
        for start in range(0, len(execution_ids), 500):  # SQLite bounds the parameters of a statement
            chunk = execution_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT id FROM executions WHERE status != 'running' AND id IN ({marks})", chunk
            ).fetchall()
            closed.extend(r[0] for r in rows)
        return closed
