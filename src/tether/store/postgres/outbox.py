"""PostgreSQL queries of notifications out: the sinks they go to and the outbox they are delivered from.

Several workers share the outbox: a claim leases due rows with ``FOR UPDATE SKIP LOCKED``,
passing over rows another transaction is claiming, and the lease (``owner``,
``leased_until_ms``) keeps every other worker off a row while one tries to deliver it. A
worker that dies mid-delivery leaves the lease to run out; the row is then due again.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.errors import UsageError
from tether.model import notifications
from tether.store.outbox_columns import OUTBOX_COLUMNS, OUTBOX_FIELDS, SINK_COLUMNS, SINK_FIELDS, sink_row
from tether.store.postgres.locks import PostgresLocks
from tether.store.rows import OutboxRow, SinkRow


class PostgresOutbox(PostgresLocks):
    """The notification queries of a PostgreSQL transaction."""

    def insert_outbox(self, rows: Sequence[OutboxRow]) -> None:  # noqa: D102
        for r in rows:
            self._send(
                f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                (
                    r.delivery_id, r.execution_id, r.activity_id, r.attempt, r.event, r.url, r.payload, r.state,
                    r.tries, r.next_try_at_ms, r.last_error, r.created_at_ms, r.updated_at_ms, r.owner,
                    r.leased_until_ms,
                ),
            )  # fmt: skip
            if r.event == notifications.WAITING:
                self.known.learn_told_waiting(r.execution_id, r.activity_id, True)
        self.topics.add("outbox")

    def outbox_urls(self, execution_id: str, activity_id: int, event: str) -> list[str]:  # noqa: D102
        if event == notifications.WAITING and self.known.told_waiting(execution_id, activity_id) is False:
            return []  # read with the activity behind its lock: none
        rows = self._all(
            "SELECT url FROM outbox WHERE execution_id = %s AND activity_id = %s AND event = %s "
            'GROUP BY url ORDER BY url COLLATE "C"',
            (execution_id, activity_id, event),
        )
        return [r[0] for r in rows]

    def outbox_of(self, execution_id: str) -> list[OutboxRow]:  # noqa: D102
        rows = self._all(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE execution_id = %s "
            'ORDER BY created_at_ms, activity_id, event DESC, url COLLATE "C"',
            (execution_id,),
        )
        return [OutboxRow(*r) for r in rows]

    def get_outbox(self, delivery_id: str) -> OutboxRow | None:  # noqa: D102
        row = self._one(f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivery_id = %s", (delivery_id,))
        return OutboxRow(*row) if row is not None else None

    def claim_outbox(  # noqa: D102
        self, *, now_ms: int, owner: str, lease_until_ms: int, limit: int, exclude_urls: Sequence[str] = ()
    ) -> list[OutboxRow]:
        # The lease condition is checked again on the row as locked: a row another worker leased
        # and committed while this statement waited is not taken twice.
        rows = self._all(
            f"UPDATE outbox SET owner = %s, leased_until_ms = %s WHERE delivery_id IN ("
            "  SELECT delivery_id FROM outbox WHERE state IN ('pending', 'retrying') AND next_try_at_ms <= %s"
            "  AND leased_until_ms <= %s AND NOT (url = ANY(%s))"
            "  ORDER BY next_try_at_ms LIMIT %s FOR UPDATE SKIP LOCKED"
            ") AND leased_until_ms <= %s "
            f"RETURNING {OUTBOX_COLUMNS}",
            (owner, lease_until_ms, now_ms, now_ms, list(exclude_urls), limit, now_ms),
        )
        return sorted((OutboxRow(*r) for r in rows), key=lambda r: (r.next_try_at_ms or 0, r.delivery_id))

    def update_outbox(self, delivery_id: str, **fields: object) -> None:  # noqa: D102
        unknown = set(fields) - OUTBOX_FIELDS
        if unknown:
            raise UsageError(f"unknown columns for outbox: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self._send(f"UPDATE outbox SET {assignments} WHERE delivery_id = %s", (*fields.values(), delivery_id))
        self.topics.add("outbox")

    def delete_outbox(self, delivery_id: str) -> None:  # noqa: D102
        self._send("DELETE FROM outbox WHERE delivery_id = %s", (delivery_id,))

    def release_held_outbox(self, url: str, now_ms: int) -> int:  # noqa: D102
        released = self._count(
            "UPDATE outbox SET state = 'pending', next_try_at_ms = %s, updated_at_ms = %s, last_error = NULL "
            "WHERE state = 'held' AND url = %s",
            (now_ms, now_ms, url),
        )
        if released:
            self.topics.add("outbox")
        return released

    def next_outbox_due_ms(self) -> int | None:  # noqa: D102
        row = self._one(
            "SELECT min(greatest(next_try_at_ms, leased_until_ms)) FROM outbox WHERE state IN ('pending', 'retrying')"
        )
        return None if row is None or row[0] is None else int(row[0])

    def insert_sink(self, row: SinkRow) -> None:  # noqa: D102
        self._send(
            f"INSERT INTO notification_sinks ({SINK_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s)",
            (row.sink_id, row.url, row.secret, row.every_inbox_item, row.created_at_ms, row.disabled_at_ms),
        )

    def active_sinks(self) -> list[SinkRow]:  # noqa: D102
        rows = self._all(
            f"SELECT {SINK_COLUMNS} FROM notification_sinks WHERE disabled_at_ms IS NULL "
            "ORDER BY created_at_ms, sink_id"
        )
        return [sink_row(r) for r in rows]

    def list_sinks(self) -> list[SinkRow]:  # noqa: D102
        rows = self._all(f"SELECT {SINK_COLUMNS} FROM notification_sinks ORDER BY created_at_ms, sink_id")
        return [sink_row(r) for r in rows]

    def update_sink(self, sink_id: str, **fields: object) -> None:  # noqa: D102
        unknown = set(fields) - SINK_FIELDS
        if unknown:
            raise UsageError(f"unknown columns for notification_sinks: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self._send(f"UPDATE notification_sinks SET {assignments} WHERE sink_id = %s", (*fields.values(), sink_id))
