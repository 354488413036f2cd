"""PostgreSQL queries of schedules and of the record of their fires.

Several workers fire schedules: a claim locks the due rows with ``FOR UPDATE SKIP LOCKED``,
and the transition that starts an occurrence's execution moves ``next_fire_at_ms`` on
before it commits, so an occurrence is fired by exactly one worker; a worker that passed
over a locked row finds it no longer due once the other commits.
"""

from __future__ import annotations

from tether.errors import UsageError
from tether.store.postgres.locks import PostgresLocks
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


class PostgresSchedules(PostgresLocks):
    """The schedule queries of a PostgreSQL transaction."""

    def insert_schedule(self, row: ScheduleRow) -> bool:  # noqa: D102
        inserted = self._one(
            f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT (schedule_id) DO NOTHING RETURNING 1",
            (
                row.schedule_id, row.workflow, row.args, row.cron, row.timezone, row.overlap, row.catch_up,
                row.paused, row.next_fire_at_ms, row.last_execution_id, row.buffered_at_ms, row.created_at_ms,
                row.updated_at_ms,
            ),
        )  # fmt: skip
        if inserted is not None:
            self.topics.add(_TOPIC)
        return inserted is not None

    def get_schedule(self, schedule_id: str) -> ScheduleRow | None:  # noqa: D102
        lock = " FOR UPDATE" if self.locking else ""
        row = self._one(f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE schedule_id = %s{lock}", (schedule_id,))
        return None if row is None else schedule_row(row)

    def list_schedules(self, workflow: str | None) -> list[ScheduleRow]:  # noqa: D102
        if workflow is None:
            rows = self._all(f'SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY schedule_id COLLATE "C"')
        else:
            rows = self._all(
                f'SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE workflow = %s ORDER BY schedule_id COLLATE "C"',
                (workflow,),
            )
        return [schedule_row(r) for r in rows]

    def update_schedule(self, schedule_id: str, **fields: object) -> None:  # noqa: D102
        unknown = set(fields) - SCHEDULE_FIELDS
        if unknown:
            raise UsageError(f"unknown columns for schedules: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = %s" for name in fields)
        self._send(f"UPDATE schedules SET {assignments} WHERE schedule_id = %s", (*fields.values(), schedule_id))
        self.topics.add(_TOPIC)

    def delete_schedule(self, schedule_id: str) -> None:  # noqa: D102
        self._send("DELETE FROM schedule_fires WHERE schedule_id = %s", (schedule_id,))
        self._send("DELETE FROM schedules WHERE schedule_id = %s", (schedule_id,))
        self.topics.add(_TOPIC)

    def claim_due_schedules(self, now_ms: int, limit: int) -> list[ScheduleRow]:  # noqa: D102
        rows = self._all(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE NOT paused "
            "AND (next_fire_at_ms <= %s OR buffered_at_ms IS NOT NULL) ORDER BY next_fire_at_ms LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            (now_ms, limit),
        )
        return [schedule_row(r) for r in rows]

    def schedule_wakeups(self) -> tuple[int | None, list[str]]:  # noqa: D102
        due = self._one("SELECT min(next_fire_at_ms) FROM schedules WHERE NOT paused")
        waits = self._all(
            "SELECT last_execution_id FROM schedules WHERE NOT paused AND buffered_at_ms IS NOT NULL "
            "AND last_execution_id IS NOT NULL"
        )
        return (None if due is None or due[0] is None else int(due[0])), [r[0] for r in waits]

    def insert_schedule_fire(self, row: ScheduleFireRow) -> None:  # noqa: D102
        self._send(
            f"INSERT INTO schedule_fires ({FIRE_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s)",
            (row.schedule_id, row.nominal_at_ms, row.fired_at_ms, row.outcome, row.execution_id, row.manual),
        )
        self._send(
            "DELETE FROM schedule_fires WHERE schedule_id = %s AND fire_id <= ("
            "  SELECT fire_id FROM schedule_fires WHERE schedule_id = %s ORDER BY fire_id DESC LIMIT 1 OFFSET %s)",
            (row.schedule_id, row.schedule_id, KEPT_FIRES),
        )

    def schedule_fires(self, schedule_id: str, limit: int) -> list[ScheduleFireRow]:  # noqa: D102
        rows = self._all(
            f"SELECT {FIRE_COLUMNS} FROM schedule_fires WHERE schedule_id = %s ORDER BY fire_id DESC LIMIT %s",
            (schedule_id, limit),
        )
        return [fire_row(r) for r in rows]
