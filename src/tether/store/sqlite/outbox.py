"""SQLite queries of notifications out: the sinks they go to and the outbox they are delivered from."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Sequence

from tether.errors import UsageError
from tether.model import notifications
from tether.store.outbox_columns import OUTBOX_COLUMNS, OUTBOX_FIELDS, SINK_COLUMNS, SINK_FIELDS, sink_row
from tether.store.rows import OutboxRow, SinkRow
from tether.store.sqlite import nulls as sqlite_nulls


class OutboxQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about notifications out."""

    _conn: sqlite3.Connection
    _write: Callable[[], None]
    topics: set[str]
    told_waiting: dict[tuple[str, int], bool]

    def insert_outbox(self, rows: Sequence[OutboxRow]) -> None:  # noqa: D102
        self._write()
        self._conn.executemany(
            f"INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r.delivery_id, r.execution_id, r.activity_id, r.attempt, r.event, r.url, r.payload, r.state,
                    r.tries, r.next_try_at_ms, r.last_error, r.created_at_ms, r.updated_at_ms, r.owner,
                    r.leased_until_ms,
                )
                for r in rows
            ],
        )  # fmt: skip
        told = self.told_waiting
        for r in rows:
            if r.event == notifications.WAITING:
                told[(r.execution_id, r.activity_id)] = True
        self.topics.add("outbox")

    def outbox_urls(self, execution_id: str, activity_id: int, event: str) -> list[str]:  # noqa: D102
        if event == notifications.WAITING and self.told_waiting.get((execution_id, activity_id)) is False:
            return []  # read with the activity: none
        rows = self._conn.execute(
            "SELECT DISTINCT url FROM outbox WHERE execution_id = ? AND activity_id = ? AND event = ? ORDER BY url",
            (execution_id, activity_id, event),
        ).fetchall()
        return [r[0] for r in rows]

    def outbox_of(self, execution_id: str) -> list[OutboxRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE execution_id = ? ORDER BY created_at_ms, activity_id, event "
            "DESC, url",
            (execution_id,),
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def get_outbox(self, delivery_id: str) -> OutboxRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        return OutboxRow(*row) if row is not None else None

    def claim_outbox(  # noqa: D102
        self, *, now_ms: int, owner: str, lease_until_ms: int, limit: int, exclude_urls: Sequence[str] = ()
    ) -> list[OutboxRow]:
        # One writer at a time: the rows chosen here are leased before anyone else looks.
        excluded = f"AND url NOT IN ({','.join('?' * len(exclude_urls))})" if exclude_urls else ""
        rows = self._conn.execute(
            f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state IN ('pending', 'retrying') AND next_try_at_ms <= ? "
            f"AND leased_until_ms <= ? {excluded} ORDER BY next_try_at_ms LIMIT ?",
            (now_ms, now_ms, *exclude_urls, limit),
        ).fetchall()
        if not rows:
            return []
        self._write()
        ids = [r[0] for r in rows]
        self._conn.execute(
            f"UPDATE outbox SET owner = ?, leased_until_ms = ? WHERE delivery_id IN ({','.join('?' * len(ids))})",
            (owner, lease_until_ms, *ids),
        )
        return [dataclasses.replace(OutboxRow(*r), owner=owner, leased_until_ms=lease_until_ms) for r in rows]

    def update_outbox(self, delivery_id: str, **fields: object) -> None:  # noqa: D102
        if not OUTBOX_FIELDS.issuperset(fields):
            raise UsageError(f"unknown columns for outbox: {sorted(set(fields) - OUTBOX_FIELDS)}")
        self._write()
        sql, params = sqlite_nulls.update_sql("outbox", tuple(fields), list(fields.values()), "delivery_id = ?")
        params.append(delivery_id)
        self._conn.execute(sql, params)
        self.topics.add("outbox")

    def delete_outbox(self, delivery_id: str) -> None:  # noqa: D102
        self._write()
        self._conn.execute("DELETE FROM outbox WHERE delivery_id = ?", (delivery_id,))

    def release_held_outbox(self, url: str, now_ms: int) -> int:  # noqa: D102
        self._write()
        released = self._conn.execute(
            "UPDATE outbox SET state = 'pending', next_try_at_ms = ?, updated_at_ms = ?, last_error = NULL "
            "WHERE state = 'held' AND url = ?",
            (now_ms, now_ms, url),
        ).rowcount
        if released:
            self.topics.add("outbox")
        return int(released)

    def next_outbox_due_ms(self) -> int | None:  # noqa: D102
        (due,) = self._conn.execute(
            "SELECT min(max(next_try_at_ms, leased_until_ms)) FROM outbox WHERE state IN ('pending', 'retrying')"
        ).fetchone()
        return int(due) if due is not None else None

    def insert_sink(self, row: SinkRow) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            f"INSERT INTO notification_sinks ({SINK_COLUMNS}) VALUES (?,?,?,?,?,?)",
            (row.sink_id, row.url, row.secret, int(row.every_inbox_item), row.created_at_ms, row.disabled_at_ms),
        )

    def active_sinks(self) -> list[SinkRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {SINK_COLUMNS} FROM notification_sinks WHERE disabled_at_ms IS NULL "
            "ORDER BY created_at_ms, sink_id"
        ).fetchall()
        return [sink_row(r) for r in rows]

    def list_sinks(self) -> list[SinkRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {SINK_COLUMNS} FROM notification_sinks ORDER BY created_at_ms, sink_id"
        ).fetchall()
        return [sink_row(r) for r in rows]

    def update_sink(self, sink_id: str, **fields: object) -> None:  # noqa: D102
        if not SINK_FIELDS.issuperset(fields):
            raise UsageError(f"unknown columns for notification_sinks: {sorted(set(fields) - SINK_FIELDS)}")
        self._write()
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        sql, params = sqlite_nulls.update_sql("notification_sinks", tuple(fields), values, "sink_id = ?")
        params.append(sink_id)
        self._conn.execute(sql, params)
