"""SQLite queries of the overdue view: activities waiting for their token too long or near a deadline."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tether.store import overdue
from tether.store.sqlite import pending as sqlite_pending
from tether.store.sqlite import rows as sqlite_rows
from tether.store.sqlite.pending import PendingWrites

_OWN_LIMIT = "json_extract(a.options, '$.overdue_after_ms')"
"""An activity's own waiting age limit; ``a.attempt_started_at_ms + _OWN_LIMIT`` is indexed (migration 17)."""
_HAS_OWN = "instr(a.options, '\"overdue_after_ms\"') > 0"
"""Whether its options may hold a limit of their own: a text search, cheaper than reading the JSON of each row
(most declare none); the JSON decides when the text is there."""
_ORDER = "a.attempt_started_at_ms, a.execution_id, a.activity_id"
_PART = (
    "SELECT * FROM (SELECT a.execution_id, a.activity_id FROM {source} {executions} "
    f"WHERE a.state = 'async' AND {{criterion}}{{filters}} ORDER BY {_ORDER} LIMIT :first)"
)
_PARTS = overdue.Parts(
    # Its own limit passed: a range on the expression index, named, since without statistics the
    # planner would rather walk activities_waiting in the page's order and test every row.
    own=(
        "activities a INDEXED BY activities_overdue",
        f"a.attempt_started_at_ms + {_OWN_LIMIT} <= :now AND {_HAS_OWN}",
    ),
    # No limit of its own, and waiting since the default's cut: a range on activities_waiting.
    default=("activities a", f"a.attempt_started_at_ms <= :cut AND (NOT {_HAS_OWN} OR {_OWN_LIMIT} IS NULL)"),
    # A deadline within the horizon: a range on timers_by_due first (CROSS JOIN keeps that order),
    # so the cost is that of the timers due soon, not of every waiting activity. A heartbeat timer
    # may be due before the heartbeat deadline (heartbeats move only the row), so the row decides.
    activity_deadline=(
        "timers t CROSS JOIN activities a ON a.execution_id = t.execution_id AND a.activity_id = t.ref",
        "t.due_at_ms <= :horizon AND t.kind IN ('total', 'attempt', 'heartbeat') "
        "AND (t.kind = 'total' OR t.attempt = a.attempt) AND (t.kind != 'heartbeat' OR "
        "COALESCE(a.last_heartbeat_at_ms, a.attempt_started_at_ms) "
        "+ json_extract(a.options, '$.heartbeat_ms') <= :horizon)",
    ),
    workflow_deadline=(
        "timers t CROSS JOIN activities a ON a.execution_id = t.execution_id",
        "t.due_at_ms <= :horizon AND t.kind = 'workflow' AND t.ref = 0",
    ),
)
_PAGE = (
    f"SELECT {', '.join(f'a.{c}' for c in sqlite_pending.ACTIVITY_COLUMNS.split(', '))}, e.workflow, w.due_at_ms "
    "FROM ({parts}) p JOIN activities a ON a.execution_id = p.execution_id AND a.activity_id = p.activity_id "
    "JOIN executions e ON e.id = a.execution_id "
    "LEFT JOIN timers w ON w.execution_id = a.execution_id AND w.kind = 'workflow' AND w.ref = 0 "
    f"ORDER BY {_ORDER} LIMIT :limit OFFSET :offset"
)


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
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
        workflow: str | None = None,
        name: str | None = None,
    ) -> list[overdue.Overdue]:
        if workflow_patterns is not None and not workflow_patterns:
            return []  # no workflow's activities may be listed (and a constant false leaves the index unusable)
        filters = ""
        params: dict[str, object] = {
            "now": now_ms, "cut": default_cut_ms, "horizon": horizon_ms, "first": offset + limit, "limit": limit,
            "offset": offset,
        }  # fmt: skip
        for column, key, value in (("e.workflow", "workflow", workflow), ("a.name", "name", name)):
            if value is not None:
                filters += f" AND {column} = :{key}"
                params[key] = value
        if workflow_patterns is not None:
            globs = [f"e.workflow GLOB :pattern{i}" for i in range(len(workflow_patterns))]
            filters += f" AND ({' OR '.join(globs)})"
            params.update({f"pattern{i}": pattern for i, pattern in enumerate(workflow_patterns)})
        self.pending.flush_activities()
        sql = overdue.statement(_PAGE, _PART, _PARTS, filters, default_cut_ms=default_cut_ms, horizon_ms=horizon_ms)
        return [(sqlite_rows.activity_row(r), r[-2], r[-1]) for r in self._conn.execute(sql, params).fetchall()]
