"""Parts of the :class:`~tether.store.base.Transaction` protocol that belong to one feature each.

Notifications out (sinks and the outbox their deliveries wait in) and schedules have tables
of their own and transitions of their own; the engine's core transitions never touch them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tether.store.rows import OutboxRow, SinkRow
from tether.store.schedule_columns import ScheduleFireRow, ScheduleRow


class NotificationWrites(Protocol):
    """What a transaction does with sinks and the outbox."""

    def insert_outbox(self, rows: Sequence[OutboxRow]) -> None:
        """Add notifications to deliver (written with the transition that caused them)."""
        ...

    def outbox_urls(self, execution_id: str, activity_id: int, event: str) -> list[str]:
        """The URLs that were sent (or are to be sent) ``event`` notifications of one activity."""
        ...

    def outbox_of(self, execution_id: str) -> list[OutboxRow]:
        """The notifications of an execution, oldest first."""
        ...

    def get_outbox(self, delivery_id: str) -> OutboxRow | None:
        """One delivery, or None if there is no such delivery (any more)."""
        ...

    def claim_outbox(
        self, *, now_ms: int, owner: str, lease_until_ms: int, limit: int, exclude_urls: Sequence[str] = ()
    ) -> list[OutboxRow]:
        """Lease up to ``limit`` due notifications (pending or retrying, unleased) to ``owner``, oldest due first.

        Rows of ``exclude_urls`` and rows another transaction holds are passed over.
        """
        ...

    def update_outbox(self, delivery_id: str, **fields: object) -> None:
        """Set columns of a notification.

        They are ``state``, ``tries``, ``next_try_at_ms``, ``last_error``, ``updated_at_ms``, ``owner``
        and ``leased_until_ms``.
        """
        ...

    def delete_outbox(self, delivery_id: str) -> None:
        """Forget a delivery whose execution was deleted while it was being sent."""
        ...

    def release_held_outbox(self, url: str, now_ms: int) -> int:
        """Make the notifications held for ``url`` (no sink was registered for it) due now; returns how many."""
        ...

    def next_outbox_due_ms(self) -> int | None:
        """When the next pending or retrying notification falls due (its lease's end, if leased)."""
        ...

    def insert_sink(self, row: SinkRow) -> None:
        """Register a sink."""
        ...

    def active_sinks(self) -> list[SinkRow]:
        """The sinks not disabled, oldest first."""
        ...

    def list_sinks(self) -> list[SinkRow]:
        """Every sink, disabled ones included, oldest first."""
        ...

    def update_sink(self, sink_id: str, **fields: object) -> None:
        """Set columns of a sink: ``secret``, ``every_inbox_item`` or ``disabled_at_ms``."""
        ...


class ScheduleWrites(Protocol):
    """What a transaction does with schedules and the record of their fires."""

    def insert_schedule(self, row: ScheduleRow) -> bool:
        """Insert a schedule; False (and nothing written) if its id is taken."""
        ...

    def get_schedule(self, schedule_id: str) -> ScheduleRow | None:
        """A schedule; a writing transition holds its row (PostgreSQL: locked) until it commits."""
        ...

    def list_schedules(self, workflow: str | None) -> list[ScheduleRow]:
        """Schedules by id; ``workflow`` keeps those of one workflow."""
        ...

    def update_schedule(self, schedule_id: str, **fields: object) -> None:
        """Set columns of a schedule: those of ``schedule_columns.SCHEDULE_FIELDS``."""
        ...

    def delete_schedule(self, schedule_id: str) -> None:
        """Remove a schedule and the record of its fires (the executions it started stay)."""
        ...

    def claim_due_schedules(self, now_ms: int, limit: int) -> list[ScheduleRow]:
        """Unpaused schedules with an occurrence due by ``now_ms`` or one held back, earliest first.

        On PostgreSQL their rows are locked until the transition commits and rows another
        transaction holds are passed over: each occurrence is fired by one worker.
        """
        ...

    def schedule_wakeups(self) -> tuple[int | None, list[str]]:
        """When the next occurrence of an unpaused schedule falls due, and the executions held-back ones wait for."""
        ...

    def insert_schedule_fire(self, row: ScheduleFireRow) -> None:
        """Record a handled occurrence, keeping the latest ``KEPT_FIRES`` of the schedule."""
        ...

    def schedule_fires(self, schedule_id: str, limit: int) -> list[ScheduleFireRow]:
        """The latest fires of a schedule, newest first."""
        ...
