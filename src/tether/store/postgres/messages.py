"""PostgreSQL queries of the messages and requests sent to executions, and of the schemas of their payloads.

Messages are read and written under the lock of the execution that holds them (the
transition locked it first), so what is read is what the transition acts on.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.store.postgres.locks import PostgresLocks
from tether.store.rows import MessageRow

_COLUMNS = "message_id, execution_id, chain_id, kind, name, payload, key, state, answer, sent_at_ms, updated_at_ms"


class PostgresMessages(PostgresLocks):
    """The message queries of a PostgreSQL transaction."""

    def insert_message(self, row: MessageRow) -> int | None:  # noqa: D102
        found = self._one(
            "INSERT INTO messages (execution_id, chain_id, kind, name, payload, key, state, sent_at_ms) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING message_id",
            (row.execution_id, row.chain_id, row.kind, row.name, row.payload, row.key, row.state, row.sent_at_ms),
        )
        return int(found[0]) if found is not None else None

    def get_message(self, message_id: int) -> MessageRow | None:  # noqa: D102
        row = self._one(f"SELECT {_COLUMNS} FROM messages WHERE message_id = %s", (message_id,))
        return MessageRow(*row) if row is not None else None

    def message_by_key(self, chain_id: str, key: str) -> MessageRow | None:  # noqa: D102
        row = self._one(f"SELECT {_COLUMNS} FROM messages WHERE chain_id = %s AND key = %s", (chain_id, key))
        return MessageRow(*row) if row is not None else None

    def messages_of(  # noqa: D102
        self, execution_id: str, *, unanswered: bool = False, limit: int | None = None
    ) -> list[MessageRow]:
        which = " AND (state = 'pending' OR (kind = 'request' AND state = 'received'))" if unanswered else ""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM messages WHERE execution_id = %s{which} ORDER BY message_id DESC LIMIT %s",
            (execution_id, limit),
        )
        return [MessageRow(*row) for row in reversed(rows)]

    def update_message(self, message_id: int, *, state: str, at_ms: int, answer: str | None = None) -> None:  # noqa: D102
        self._send(
            "UPDATE messages SET state = %s, answer = %s, updated_at_ms = %s WHERE message_id = %s",
            (state, answer, at_ms, message_id),
        )

    def move_messages(self, message_ids: Sequence[int], execution_id: str) -> None:  # noqa: D102
        self._send(
            "UPDATE messages SET execution_id = %s, state = 'pending', updated_at_ms = NULL WHERE message_id = ANY(%s)",
            (execution_id, list(message_ids)),
        )

    def register_message_schemas(self, workflow: str, schemas: dict[str, str]) -> None:  # noqa: D102
        self._send("DELETE FROM message_schemas WHERE workflow = %s", (workflow,))
        for name, schema in schemas.items():
            self._send(
                "INSERT INTO message_schemas (workflow, name, schema) VALUES (%s, %s, %s) "
                "ON CONFLICT (workflow, name) DO UPDATE SET schema = excluded.schema",
                (workflow, name, schema),
            )

    def message_schema(self, workflow: str, name: str) -> str | None:  # noqa: D102
        row = self._one("SELECT schema FROM message_schemas WHERE workflow = %s AND name = %s", (workflow, name))
        return str(row[0]) if row is not None else None
