"""The overdue view: activities waiting for their token longer than they should, or close to a deadline.

An activity that went async waits for a call that may never come (a lost callback). Nothing
fails then until a deadline falls, and an activity without deadlines waits forever. This
view lists those waiting longer than their waiting age limit (``overdue_after`` of the
activity, else the viewer's default) and those whose nearest deadline falls soon, so that
somebody notices. Only activities waiting for a token are listed: a running attempt is
watched by its worker, its heartbeats and its timeouts.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Final

from tether.engine import deadlines
from tether.engine.core import EngineCore
from tether.model.access import Access, Action
from tether.model.clock import duration_ms, from_ms
from tether.model.options import ActivityOptions
from tether.model.records import OverdueActivity
from tether.store.rows import ActivityRow

DEFAULT_WAITING_LONGER_THAN: Final = timedelta(days=1)
"""The waiting age limit of activities that declare none, unless the viewer gives another."""
DEFAULT_DUE_WITHIN: Final = timedelta(hours=1)
"""How near a deadline must be for the view to list the activity, unless the viewer gives another."""
WAITING, DEADLINE = "waiting", "deadline"


class OverdueCalls(EngineCore):
    """The overdue view of :class:`~tether.engine.engine.Engine`."""

    async def overdue_activities(
        self,
        *,
        waiting_longer_than: timedelta | None,
        due_within: timedelta | None,
        workflow: str | None,
        name: str | None,
        limit: int,
        offset: int,
        access: Access | None = None,
    ) -> list[OverdueActivity]:
        """Overdue activities waiting for their token, longest waiting first; a page of them.

        Listed: those waiting longer than their own ``overdue_after``, or than
        ``waiting_longer_than`` when they declare none (None: only their own counts), and those
        whose nearest deadline falls within ``due_within`` of now (None: deadlines do not count).
        Only those of workflows ``access`` may read (workflows:read) or write activities of
        (activities:write), as the waiting listing. Time is the engine's clock. Read beside the
        transitions (see ``Store.read_aside``): it shows what had committed.
        """
        patterns = None
        if access is not None:
            read, write = access.patterns(Action.READ_WORKFLOWS), access.patterns(Action.WRITE_ACTIVITIES)
            patterns = None if read is None or write is None else [*read, *write]
        now = self.clock.now_ms()
        default_ms = duration_ms(waiting_longer_than) if waiting_longer_than is not None else None
        horizon_ms = duration_ms(due_within) if due_within is not None else None
        rows = await self.store.read_aside(
            lambda tx: tx.overdue_activities(
                now_ms=now, default_cut_ms=now - default_ms if default_ms is not None else None,
                horizon_ms=now + horizon_ms if horizon_ms is not None else None, limit=limit, offset=offset,
                workflow_patterns=patterns, workflow=workflow, name=name,
            )
        )  # fmt: skip
        return [overdue(row, of, deadline, now, default_ms, horizon_ms) for row, of, deadline in rows]


def overdue(
    row: ActivityRow,
    workflow: str,
    workflow_deadline_ms: int | None,
    now_ms: int,
    default_ms: int | None,
    horizon_ms: int | None,
) -> OverdueActivity:
    """The overdue view of a waiting activity: since when it waits, its limit, its nearest deadline, and why."""
    options = ActivityOptions.from_json(json.loads(row.options))
    since = row.attempt_started_at_ms or row.scheduled_at_ms
    limit = options.overdue_after_ms if options.overdue_after_ms is not None else default_ms
    due = [
        (at, kind)
        for kind, at in (
            (deadlines.TOTAL, deadlines.total_deadline(row, options)),
            (deadlines.ATTEMPT, deadlines.attempt_deadline(row, options)),
            (deadlines.HEARTBEAT, deadlines.heartbeat_deadline(row, options)),
            ("workflow", workflow_deadline_ms),
        )
        if at is not None
    ]
    nearest = min(due) if due else None
    reasons = []
    if limit is not None and now_ms - since >= limit:
        reasons.append(WAITING)
    if nearest is not None and horizon_ms is not None and nearest[0] <= now_ms + horizon_ms:
        reasons.append(DEADLINE)
    return OverdueActivity(
        execution_id=row.execution_id,
        workflow=workflow,
        activity_id=row.activity_id,
        name=row.name,
        attempt=row.attempt,
        waiting_since=from_ms(since),
        waited_ms=now_ms - since,
        overdue_after_ms=limit,
        own_overdue_after=options.overdue_after_ms is not None,
        deadline=from_ms(nearest[0]) if nearest is not None else None,
        deadline_kind=nearest[1] if nearest is not None else None,
        reasons=reasons,
    )
