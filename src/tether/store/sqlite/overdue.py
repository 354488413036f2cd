"""SQLite queries of the overdue view: activities waiting for their token too long or near a deadline."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from tether.store import overdue
from tether.store.base import ActivityRow
from tether.store.sqlite import pending as sqlite_pending
from tether.store.sqlite.pending import PendingWrites

_OWN_LIMIT = "json_extract(a.options, '$.overdue_after_ms')"
"""An activity's own waiting age limit; ``a.attempt_started_at_ms + _OWN_LIMIT`` is indexed (migration 17)."""
_SELECT = (
    f"SELECT {', '.join(f'a.{c}' for c in sqlite_pending.ACTIVITY_COLUMNS.split(', '))}, e.workflow, w.due_at_ms "
    "FROM {source} JOIN executions e ON e.id = a.execution_id "
    "LEFT JOIN timers w ON w.execution_id = a.execution_id AND w.kind = 'workflow' AND w.ref = 0 "
    "WHERE a.state = 'async' AND {criterion}{filters} "
    "ORDER BY a.attempt_started_at_ms, a.execution_id, a.activity_id LIMIT :limit"
)
_PARTS = {
    # Its own limit passed: a range on the expression index.
    "own": ("activities a", f"a.attempt_started_at_ms + {_OWN_LIMIT} <= :now"),
    # No limit of its own, and waiting since the default's cut: a range on activities_waiting.
    "default": ("activities a", f"a.attempt_started_at_ms <= :cut AND {_OWN_LIMIT} IS NULL"),
    # An activity deadline within the horizon: a range on timers_by_due. A heartbeat timer may
    # be due before the heartbeat deadline (heartbeats move only the row), so the row decides.
    "activity deadline": (
        "timers t JOIN activities a ON a.execution_id = t.execution_id AND a.activity_id = t.ref",
        "t.due_at_ms <= :horizon AND t.kind IN ('total', 'attempt', 'heartbeat') "
        "AND (t.kind = 'total' OR t.attempt = a.attempt) AND (t.kind != 'heartbeat' OR "
        "COALESCE(a.last_heartbeat_at_ms, a.attempt_started_at_ms) "
        "+ json_extract(a.options, '$.heartbeat_ms') <= :horizon)",
    ),
    # Its workflow's deadline within the horizon: the same range, then the execution's activities.
    "workflow deadline": (
        "timers t JOIN activities a ON a.execution_id = t.execution_id",
        "t.due_at_ms <= :horizon AND t.kind = 'workflow' AND t.ref = 0",
    ),
}


class OverdueQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about the overdue view."""

    _conn: sqlite3.Connection
    pending: PendingWrites

    def overdue_activities(  # noqa: D102
        self,
        *,
        now_ms: int,
        default_cut_ms: int | None,
        horizon_ms: int | None,
        limit: int,
        workflow_patterns: Sequence[str] | None = None,
        workflow: str | None = None,
        name: str | None = None,
    ) -> list[overdue.Overdue]:
        filters = ""
        params: dict[str, object] = {"now": now_ms, "cut": default_cut_ms, "horizon": horizon_ms, "limit": limit}
        for column, key, value in (("e.workflow", "workflow", workflow), ("a.name", "name", name)):
            if value is not None:
                filters += f" AND {column} = :{key}"
                params[key] = value
        if workflow_patterns is not None:
            globs = [f"e.workflow GLOB :pattern{i}" for i in range(len(workflow_patterns))]
            filters += f" AND ({' OR '.join(globs) or '0'})"
            params.update({f"pattern{i}": pattern for i, pattern in enumerate(workflow_patterns)})
        self.pending.flush_activities()
        select = _SELECT.replace("{filters}", filters)

        def run(sql: str) -> list[overdue.Overdue]:
            return [(_row(r), r[-2], r[-1]) for r in self._conn.execute(sql, params).fetchall()]

        return overdue.read(run, select, _PARTS, default_cut_ms=default_cut_ms, horizon_ms=horizon_ms, limit=limit)


def _row(r: Sequence[Any]) -> ActivityRow:
    """The activity row of a result row (its two flags are integers in SQLite)."""
    return ActivityRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], bool(r[13]), bool(r[14]),
        r[15], r[16],
    )  # fmt: skip
