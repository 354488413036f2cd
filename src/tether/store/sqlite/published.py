"""SQLite queries of published values: the last value of each name an execution published."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tether.store.rows import PublishedRow

_COLUMNS = "name, value, version, published_at_ms"


class PublishedQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about published values."""

    _conn: sqlite3.Connection
    _write: Callable[[], None]

    def publish_value(self, execution_id: str, name: str, value: str, at_ms: int) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "INSERT INTO published_values (execution_id, name, value, version, published_at_ms) "
            "VALUES (?, ?, ?, 1, ?) ON CONFLICT (execution_id, name) DO UPDATE SET value = excluded.value, "
            "version = published_values.version + 1, published_at_ms = excluded.published_at_ms",
            (execution_id, name, value, at_ms),
        )

    def published_value(self, execution_id: str, name: str) -> PublishedRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM published_values WHERE execution_id = ? AND name = ?", (execution_id, name)
        ).fetchone()
        return PublishedRow(*row) if row is not None else None

    def published_values(self, execution_id: str) -> list[PublishedRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM published_values WHERE execution_id = ? ORDER BY name", (execution_id,)
        ).fetchall()
        return [PublishedRow(*row) for row in rows]

    def copy_published_values(self, from_id: str, to_id: str) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "INSERT INTO published_values (execution_id, name, value, version, published_at_ms) "
            "SELECT ?, name, value, version, published_at_ms FROM published_values WHERE execution_id = ?",
            (to_id, from_id),
        )
