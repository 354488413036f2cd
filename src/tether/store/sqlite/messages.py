"""SQLite queries of the messages and requests sent to executions, and of the schemas of their payloads."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from tether.store.rows import MessageRow

_COLUMNS = "message_id, execution_id, chain_id, kind, name, payload, key, state, answer, sent_at_ms, updated_at_ms"


class MessageQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about messages."""

    _conn: sqlite3.Connection
    _write: Callable[[], None]

    def insert_message(self, row: MessageRow) -> int | None:  # noqa: D102
        self._write()
        found = self._conn.execute(
            "INSERT INTO messages (execution_id, chain_id, kind, name, payload, key, state, sent_at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING message_id",
            (row.execution_id, row.chain_id, row.kind, row.name, row.payload, row.key, row.state, row.sent_at_ms),
        ).fetchone()
        return int(found[0]) if found is not None else None

    def get_message(self, message_id: int) -> MessageRow | None:  # noqa: D102
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE message_id = ?", (message_id,)).fetchone()
        return _message(row) if row is not None else None

    def message_by_key(self, chain_id: str, key: str) -> MessageRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE chain_id = ? AND key = ?", (chain_id, key)
        ).fetchone()
        return _message(row) if row is not None else None

    def messages_of(  # noqa: D102
        self, execution_id: str, *, unanswered: bool = False, limit: int | None = None
    ) -> list[MessageRow]:
        which = " AND (state = 'pending' OR (kind = 'request' AND state = 'received'))" if unanswered else ""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM messages WHERE execution_id = ?{which} ORDER BY message_id DESC LIMIT ?",
            (execution_id, -1 if limit is None else limit),
        ).fetchall()
        return [_message(row) for row in reversed(rows)]

    def update_message(self, message_id: int, *, state: str, at_ms: int, answer: str | None = None) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            "UPDATE messages SET state = ?, answer = ?, updated_at_ms = ? WHERE message_id = ?",
            (state, answer, at_ms, message_id),
        )

    def move_messages(self, message_ids: Sequence[int], execution_id: str) -> None:  # noqa: D102
        self._write()
        self._conn.executemany(
            "UPDATE messages SET execution_id = ?, state = 'pending', updated_at_ms = NULL WHERE message_id = ?",
            [(execution_id, message_id) for message_id in message_ids],
        )

    def register_message_schemas(self, workflow: str, schemas: dict[str, str]) -> None:  # noqa: D102
        self._write()
        self._conn.execute("DELETE FROM message_schemas WHERE workflow = ?", (workflow,))
        self._conn.executemany(
            "INSERT INTO message_schemas (workflow, name, schema) VALUES (?, ?, ?)",
            [(workflow, name, schema) for name, schema in schemas.items()],
        )

    def message_schema(self, workflow: str, name: str) -> str | None:  # noqa: D102
        row = self._conn.execute(
            "SELECT schema FROM message_schemas WHERE workflow = ? AND name = ?", (workflow, name)
        ).fetchone()
        return str(row[0]) if row is not None else None


def _message(row: tuple[Any, ...]) -> MessageRow:
    return MessageRow(*row)
