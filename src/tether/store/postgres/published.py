"""PostgreSQL queries of published values: the last value of each name an execution published.

A value is written by the workflow task that published it, under the lock of its execution,
and sent without waiting: the version is counted by the statement itself.
"""

from __future__ import annotations

from tether.store.postgres.locks import PostgresLocks
from tether.store.rows import PublishedRow

_COLUMNS = "name, value, version, published_at_ms"


class PostgresPublished(PostgresLocks):
    """The published-value queries of a PostgreSQL transaction."""

    def publish_value(self, execution_id: str, name: str, value: str, at_ms: int) -> None:  # noqa: D102
        self._lock(execution_id)
        self._send(
            "INSERT INTO published_values (execution_id, name, value, version, published_at_ms) "
            "VALUES (%s, %s, %s, 1, %s) ON CONFLICT (execution_id, name) DO UPDATE SET value = excluded.value, "
            "version = published_values.version + 1, published_at_ms = excluded.published_at_ms",
            (execution_id, name, value, at_ms),
        )

    def published_value(self, execution_id: str, name: str) -> PublishedRow | None:  # noqa: D102
        row = self._one(
            f"SELECT {_COLUMNS} FROM published_values WHERE execution_id = %s AND name = %s", (execution_id, name)
        )
        return PublishedRow(*row) if row is not None else None

    def published_values(self, execution_id: str) -> list[PublishedRow]:  # noqa: D102
        rows = self._all(
            f'SELECT {_COLUMNS} FROM published_values WHERE execution_id = %s ORDER BY name COLLATE "C"',
            (execution_id,),
        )
        return [PublishedRow(*row) for row in rows]

    def copy_published_values(self, from_id: str, to_id: str) -> None:  # noqa: D102
        self._send(
            "INSERT INTO published_values (execution_id, name, value, version, published_at_ms) "
            "SELECT %s, name, value, version, published_at_ms FROM published_values WHERE execution_id = %s",
            (to_id, from_id),
        )
