"""PostgreSQL queries that remove executions: deleting one by hand, and retention finding the expired."""

from __future__ import annotations

from collections.abc import Sequence

from tether.store.postgres.locks import PostgresLocks

_OWNED_TABLES = ("events", "activities", "timers", "workflow_tasks", "activity_tasks", "messages", "published_values")

_NOT_A_CHAIN_HEAD = (
    "(status != 'continued' OR EXISTS "
    "(SELECT 1 FROM execution_links l WHERE l.id = executions.id AND l.chain_id IS NOT NULL))"
)
"""A first run that continued as new stays while its chain goes on: its id is how clients name the chain."""
"""Tables whose rows belong to one execution (by ``execution_id``); the inbox notes are activities' columns."""


class PostgresLifecycle(PostgresLocks):
    """The queries of a PostgreSQL transaction that delete executions."""

    def delete_executions(self, execution_ids: Sequence[str]) -> None:  # noqa: D102
        ids = list(dict.fromkeys(execution_ids))
        for execution_id in ids:
            self._lock(execution_id)
        # Events held back (of any execution) go first: none of these may be written after the delete.
        self._send_held_back()
        for table in _OWNED_TABLES:
            self._send(f"DELETE FROM {table} WHERE execution_id = ANY(%s)", (ids,))
        # Notifications still due stay to be delivered (the deliverer removes them once done).
        self._send("DELETE FROM outbox WHERE execution_id = ANY(%s) AND state NOT IN ('pending', 'retrying')", (ids,))
        self._send("DELETE FROM execution_links WHERE id = ANY(%s)", (ids,))
        self._send("DELETE FROM executions WHERE id = ANY(%s)", (ids,))
        self.known.forget(set(ids))

    def expired_executions(self, closed_before_ms: int, limit: int) -> list[str]:  # noqa: D102
        sql = (
            "SELECT id FROM executions WHERE closed_at_ms IS NOT NULL AND closed_at_ms < %s "
            f"AND {_NOT_A_CHAIN_HEAD} ORDER BY closed_at_ms LIMIT %s"
        )
        if not self.locking:
            return [r[0] for r in self._all(sql, (closed_before_ms, limit))]
        # Locked as they are chosen, passing over those another process holds (perhaps deleting them).
        ids = [r[0] for r in self._all(f"{sql} FOR UPDATE SKIP LOCKED", (closed_before_ms, limit))]
        self._locked.update(ids)
        return ids
