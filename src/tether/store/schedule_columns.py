"""The rows of schedules and of their fires, and their columns as both backends name and read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A schedule: which workflow it starts, when (a cron expression in a time zone), and where it stands."""

    schedule_id: str
    workflow: str
    args: str
    """The JSON list of arguments every execution it starts gets."""
    cron: str
    timezone: str
    overlap: str
    """``skip``, ``buffer_one`` or ``allow``: what an occurrence does while the last execution still runs."""
    catch_up: str
    """``one``, ``all`` or ``none``: which of the occurrences missed while no worker ran are fired."""
    paused: bool
    next_fire_at_ms: int | None
    """The next occurrence not yet handled (None: the expression has no more)."""
    last_execution_id: str | None
    """The execution the schedule started last (by its cron or by a trigger)."""
    buffered_at_ms: int | None
    """The nominal time of the occurrence held back (``buffer_one``) until the last execution closes."""
    created_at_ms: int
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class ScheduleFireRow:
    """One occurrence a schedule handled: the execution it started, or why it started none."""

    schedule_id: str
    nominal_at_ms: int
    """The time the cron expression named (the trigger's time, for a trigger)."""
    fired_at_ms: int
    outcome: str
    """``started``, ``skipped`` (overlap, or catch-up ``none``) or ``buffered``."""
    execution_id: str | None
    manual: bool
    """Started by a trigger, not by the cron expression."""


SCHEDULE_COLUMNS = (
    "schedule_id, workflow, args, cron, timezone, overlap, catch_up, paused, next_fire_at_ms, last_execution_id, "
    "buffered_at_ms, created_at_ms, updated_at_ms"
)
SCHEDULE_FIELDS = frozenset({"paused", "next_fire_at_ms", "last_execution_id", "buffered_at_ms", "updated_at_ms"})
"""The schedule columns ``update_schedule`` sets."""
FIRE_COLUMNS = "schedule_id, nominal_at_ms, fired_at_ms, outcome, execution_id, manual"
KEPT_FIRES = 100
"""The fires kept per schedule: older ones are deleted as new ones are recorded."""


def schedule_row(row: Sequence[Any]) -> ScheduleRow:
    """A schedule as the database returned it (SQLite's flag is an integer)."""
    return ScheduleRow(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]), row[8], row[9], row[10], row[11], row[12]
    )


def fire_row(row: Sequence[Any]) -> ScheduleFireRow:
    """A fire as the database returned it."""
    return ScheduleFireRow(row[0], row[1], row[2], row[3], row[4], bool(row[5]))
