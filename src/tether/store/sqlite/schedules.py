"""SQLite queries of schedules and of the record of their fires."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tether.errors import UsageError
from tether.store.schedule_columns import (
    FIRE_COLUMNS,
    KEPT_FIRES,
    SCHEDULE_COLUMNS,
    SCHEDULE_FIELDS,
    ScheduleFireRow,
    ScheduleRow,
    fire_row,
    schedule_row,
)

_TOPIC = "schedules"


class ScheduleQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about schedules.

    SQLite has one writer at a time: a claim needs no lock to keep two workers off one occurrence.
    """

    _conn: sqlite3.Connection
    _write: Callable[[], None]
    topics: set[str]

    def insert_schedule(self, row: ScheduleRow) -> bool:  # noqa: D102
        self._write()
        inserted = self._conn.execute(
            f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (schedule_id) DO NOTHING",
            (
                row.schedule_id, row.workflow, row.args, row.cron, row.timezone, row.overlap, row.catch_up,
                int(row.paused), row.next_fire_at_ms, row.last_execution_id, row.buffered_at_ms, row.created_at_ms,
                row.updated_at_ms,
            ),
        ).rowcount  # fmt: skip
        if inserted:
            self.topics.add(_TOPIC)
        return bool(inserted)

    def get_schedule(self, schedule_id: str) -> ScheduleRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE schedule_id = ?", (schedule_id,)
        ).fetchone()
        return None if row is None else schedule_row(row)

    def list_schedules(self, workflow: str | None) -> list[ScheduleRow]:  # noqa: D102
        if workflow is None:
            rows = self._conn.execute(f"SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY schedule_id").fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE workflow = ? ORDER BY schedule_id", (workflow,)
            ).fetchall()
        return [schedule_row(r) for r in rows]

    def update_schedule(self, schedule_id: str, **fields: object) -> None:  # noqa: D102
        unknown = set(fields) - SCHEDULE_FIELDS
        if unknown:
            raise UsageError(f"unknown columns for schedules: {sorted(unknown)}")
        self._write()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self._conn.execute(f"UPDATE schedules SET {assignments} WHERE schedule_id = ?", (*fields.values(), schedule_id))
        self.topics.add(_TOPIC)

    def delete_schedule(self, schedule_id: str) -> None:  # noqa: D102
        self._write()
        self._conn.execute("DELETE FROM schedule_fires WHERE schedule_id = ?", (schedule_id,))
        self._conn.execute("DELETE FROM schedules WHERE schedule_id = ?", (schedule_id,))
        self.topics.add(_TOPIC)

    def claim_due_schedules(self, now_ms: int, limit: int) -> list[ScheduleRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE paused = 0 "
            "AND (next_fire_at_ms <= ? OR buffered_at_ms IS NOT NULL) ORDER BY next_fire_at_ms LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [schedule_row(r) for r in rows]

    def schedule_wakeups(self) -> tuple[int | None, list[str]]:  # noqa: D102
        due = self._conn.execute("SELECT min(next_fire_at_ms) FROM schedules WHERE paused = 0").fetchone()
        waits = self._conn.execute(
            "SELECT last_execution_id FROM schedules WHERE paused = 0 AND buffered_at_ms IS NOT NULL "
            "AND last_execution_id IS NOT NULL"
        ).fetchall()
        return (None if due is None else due[0]), [r[0] for r in waits]

    def insert_schedule_fire(self, row: ScheduleFireRow) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            f"INSERT INTO schedule_fires ({FIRE_COLUMNS}) VALUES (?,?,?,?,?,?)",
            (row.schedule_id, row.nominal_at_ms, row.fired_at_ms, row.outcome, row.execution_id, int(row.manual)),
        )
        self._conn.execute(
            "DELETE FROM schedule_fires WHERE schedule_id = ? AND fire_id <= ("
            "  SELECT fire_id FROM schedule_fires WHERE schedule_id = ? ORDER BY fire_id DESC LIMIT 1 OFFSET ?)",
            (row.schedule_id, row.schedule_id, KEPT_FIRES),
        )

    def schedule_fires(self, schedule_id: str, limit: int) -> list[ScheduleFireRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {FIRE_COLUMNS} FROM schedule_fires WHERE schedule_id = ? ORDER BY fire_id DESC LIMIT ?",
            (schedule_id, limit),
        ).fetchall()
        return [fire_row(r) for r in rows]
