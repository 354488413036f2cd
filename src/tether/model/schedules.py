"""What a schedule is made of and how it reads back: its policies, its description and its recent fires."""

# Annotations stay evaluated (no `from __future__ import annotations`): these classes are
# re-exported with __module__ "tether" and read and written as HTTP bodies by pydantic.
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tether.model.payloads import JSONValue


class Overlap(StrEnum):
    """What an occurrence does while the execution the schedule started last still runs."""

    SKIP = "skip"
    """Start nothing: the occurrence is recorded as skipped."""
    BUFFER_ONE = "buffer_one"
    """Hold it back and start it when the running execution closes; at most one is held, later ones are skipped."""
    ALLOW = "allow"
    """Start it anyway: executions of the schedule may run side by side."""


class CatchUp(StrEnum):
    """Which occurrences that fell due while no worker ran (or while workers were late) are fired."""

    ONE = "one"
    """Only the latest of them, once."""
    ALL = "all"
    """Each of them, oldest first (each obeys the overlap policy)."""
    NONE = "none"
    """None of them: only an occurrence less than a minute late still fires."""


@dataclass(frozen=True, slots=True)
class ScheduleFire:
    """One occurrence a schedule handled."""

    nominal_at: datetime
    """The time the cron expression named (the time of the trigger, for a trigger)."""
    fired_at: datetime
    """When a worker handled it (later than ``nominal_at`` after downtime, or for a buffered one)."""
    outcome: str
    """``started``, ``skipped`` (overlap, or catch-up ``none``) or ``buffered`` (held back, started later)."""
    execution_id: str | None
    """The execution it started (for a started one), or would have started."""
    manual: bool = False
    """Started by ``trigger_schedule`` rather than by the cron expression."""


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as listed and described: its definition, where it stands, and its latest fires."""

    schedule_id: str
    workflow: str
    args: list[JSONValue]
    cron: str
    timezone: str
    overlap: Overlap
    catch_up: CatchUp
    paused: bool
    next_fire_at: datetime | None
    """The next occurrence due (while paused: the one due when it was paused); None if the expression has no more."""
    last_execution_id: str | None
    """The execution the schedule started last."""
    buffered_at: datetime | None
    """The occurrence held back until the last execution closes (``buffer_one``), if any."""
    created_at: datetime
    updated_at: datetime
    recent: list[ScheduleFire] = field(default_factory=list)
    """The latest fires, newest first (``describe_schedule`` fills it; listings leave it empty)."""
