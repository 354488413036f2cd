"""PostgreSQL listings: pages of executions, of waiting activities and of overdue ones.

These reads take no locks: a listing shows what has committed, newest or longest-waiting first.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.store import overdue
from tether.store.postgres.held import ACTIVITY_COLUMNS, EXECUTION_COLUMNS, activity_row, execution_row
from tether.store.postgres.locks import PostgresLocks
from tether.store.rows import ActivityRow, ExecutionRow, QueueGauges


class PostgresListings(PostgresLocks):
    """The listing queries of a PostgreSQL transaction."""

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
        if id_prefix:
            # starts_with, not a range: text order follows the database's collation, not code points.
            clauses.append("starts_with(id, %s)")
            params.append(id_prefix)
        if status is not None:
            clauses.append("status = %s")
            params.append(status)
        if workflow is not None:
            clauses.append("workflow = %s")
            params.append(workflow)
        if workflow_patterns is not None:
            clauses.append("workflow LIKE ANY(%s)")
            params.append([_like(pattern) for pattern in workflow_patterns])
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._all(
            f"SELECT {EXECUTION_COLUMNS} FROM executions {where} ORDER BY created_at_ms DESC, id LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        return [execution_row(r) for r in rows]

    def closed_among(self, execution_ids: Sequence[str]) -> list[str]:  # noqa: D102
        rows = self._all("SELECT id FROM executions WHERE id = ANY(%s) AND status != 'running'", (list(execution_ids),))
        return [r[0] for r in rows]

    def inbox_note(self, execution_id: str, activity_id: int) -> str | None:  # noqa: D102
        row = self._one(
            "SELECT inbox_note FROM activities WHERE execution_id = %s AND activity_id = %s",
            (execution_id, activity_id),
        )
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
            clauses.append("a.inbox")
        for column, value in (("e.workflow", workflow), ("a.name", name)):
            if value is not None:
                clauses.append(f"{column} = %s")
                params.append(value)
        if workflow_patterns is not None:
            clauses.append("e.workflow LIKE ANY(%s)")
            params.append([_like(pattern) for pattern in workflow_patterns])
        columns = ", ".join(f"a.{c}" for c in ACTIVITY_COLUMNS.split(", "))
        rows = self._all(
            f"SELECT {columns}, e.workflow, a.inbox_note FROM activities a JOIN executions e ON e.id = a.execution_id "
            f"WHERE {' AND '.join(clauses)} "
            "ORDER BY a.attempt_started_at_ms, a.execution_id, a.activity_id LIMIT %s OFFSET %s",
            (*params, limit, offset),
        )
        return [(activity_row(r[:-2]), r[-2], r[-1]) for r in rows]

    def queue_gauges(self, now_ms: int) -> QueueGauges:  # noqa: D102
        return QueueGauges.from_rows(self._all(_GAUGES, (now_ms, now_ms, now_ms)))

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
        filters = ""
        params: dict[str, object] = {
            "now": now_ms, "cut": default_cut_ms, "horizon": horizon_ms, "first": offset + limit, "limit": limit,
            "offset": offset,
        }  # fmt: skip
        for column, key, value in (("e.workflow", "workflow", workflow), ("a.name", "name", name)):
            if value is not None:
                filters += f" AND {column} = %({key})s"
                params[key] = value
        if workflow_patterns is not None:
            filters += " AND e.workflow LIKE ANY(%(patterns)s)"
            params["patterns"] = [_like(pattern) for pattern in workflow_patterns]
        sql = overdue.statement(
            _OVERDUE_PAGE, _OVERDUE_PART, _OVERDUE_PARTS, filters, default_cut_ms=default_cut_ms, horizon_ms=horizon_ms
        )
        return [(activity_row(r[:-2]), r[-2], r[-1]) for r in self._all(sql, params)]


_OWN_LIMIT = "(a.options::jsonb ->> 'overdue_after_ms')::bigint"
"""An activity's own waiting age limit; ``a.attempt_started_at_ms + _OWN_LIMIT`` is indexed (migration 17)."""
_HAS_OWN = "position('\"overdue_after_ms\"' in a.options) > 0"
"""Whether its options may hold a limit of their own: a text search, much cheaper than parsing each row's
JSON (most declare none); the JSON decides when the text is there."""
_ORDER = "a.attempt_started_at_ms, a.execution_id, a.activity_id"
_OVERDUE_PART = (
    "(SELECT a.execution_id, a.activity_id FROM {source} {executions} "
    f"WHERE a.state = 'async' AND {{criterion}}{{filters}} ORDER BY {_ORDER} LIMIT %(first)s)"
)
_DUE_TIMERS = (
    "(SELECT execution_id, kind, ref, attempt FROM timers WHERE due_at_ms <= %(horizon)s AND {kinds} OFFSET 0) t"
)
"""The timers due within the horizon, read first on timers_by_due (OFFSET 0 keeps the subquery apart),
so that a deadline part costs what is due soon, not a pass over every waiting activity."""
_OVERDUE_PARTS = overdue.Parts(
    # Each criterion on its own index, as in the SQLite store (see tether.store.sqlite.overdue).
    own=("activities a", f"(a.attempt_started_at_ms + {_OWN_LIMIT}) <= %(now)s AND {_HAS_OWN}"),
    default=("activities a", f"a.attempt_started_at_ms <= %(cut)s AND (NOT {_HAS_OWN} OR {_OWN_LIMIT} IS NULL)"),
    activity_deadline=(
        _DUE_TIMERS.format(kinds="kind IN ('total', 'attempt', 'heartbeat')")
        + " JOIN activities a ON a.execution_id = t.execution_id AND a.activity_id = t.ref",
        "(t.kind = 'total' OR t.attempt = a.attempt) AND (t.kind != 'heartbeat' OR "
        "COALESCE(a.last_heartbeat_at_ms, a.attempt_started_at_ms) "
        "+ (a.options::jsonb ->> 'heartbeat_ms')::bigint <= %(horizon)s)",
    ),
    workflow_deadline=(
        _DUE_TIMERS.format(kinds="kind = 'workflow' AND ref = 0")
        + " JOIN activities a ON a.execution_id = t.execution_id",
        "TRUE",
    ),
)
_OVERDUE_PAGE = (
    f"SELECT {', '.join(f'a.{c}' for c in ACTIVITY_COLUMNS.split(', '))}, e.workflow, w.due_at_ms "
    "FROM ({parts}) p JOIN activities a ON a.execution_id = p.execution_id AND a.activity_id = p.activity_id "
    "JOIN executions e ON e.id = a.execution_id "
    "LEFT JOIN timers w ON w.execution_id = a.execution_id AND w.kind = 'workflow' AND w.ref = 0 "
    f"ORDER BY {_ORDER} LIMIT %(limit)s OFFSET %(offset)s"
)


def _like(pattern: str) -> str:
    """A scope's workflow pattern (``*`` its only wildcard) as a LIKE pattern."""
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


_GAUGES = (
    "SELECT 'workflow_tasks', NULL::text, count(*), NULL::bigint FROM workflow_tasks "
    "WHERE leased_until_ms <= %s AND ready_at_ms <= %s "
    "UNION ALL SELECT 'attempts', NULL, count(*), NULL FROM activity_tasks "
    "UNION ALL SELECT 'timers', NULL, count(*), NULL FROM timers WHERE due_at_ms <= %s "
    "UNION ALL SELECT 'waiting', name, count(*), min(attempt_started_at_ms) FROM activities "
    "WHERE state = 'async' GROUP BY name"
)
"""The depths of the queues and who waits for a token, in one statement (see ``Transaction.queue_gauges``)."""
