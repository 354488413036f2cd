"""Schedules under true concurrency on PostgreSQL: two workers fire each occurrence exactly once.

As in test_concurrent_stores, the race is forced into its worst order: the first engine's
fire pass has locked the due schedule and started its execution but not committed when the
second engine's pass runs; the second must pass over the row at once (SKIP LOCKED) and,
once the first commits, find the occurrence no longer due.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.store import test_concurrent_stores
from tests.store.test_concurrent_stores import Racers

pytestmark = pytest.mark.postgres
racers = test_concurrent_stores.racers  # the fixture: two engines on one database, the first one's next transition held


async def test_two_workers_racing_for_a_due_occurrence_start_one_execution(racers: Racers) -> None:
    await racers.second.create_schedule(
        "race", "cs.nightly", '["n"]', cron="0 9 * * *", timezone="UTC", overlap="allow", catch_up="one"
    )
    racers.clock.advance(timedelta(hours=9))  # 2026-01-01 09:00: the first occurrence is due

    racers.held.hold_next()
    first = asyncio.ensure_future(racers.first.fire_due_schedules())
    await racers.wait_until_holding()
    # The row is locked by the first pass, not committed: the second passes over it at once.
    assert await racers.second.fire_due_schedules() == 0
    racers.held.release.set()
    assert await first == 1
    # Committed: the occurrence is no longer due for anyone.
    assert await racers.second.fire_due_schedules() == 0
    assert await racers.first.fire_due_schedules() == 0

    started = await racers.second.list_workflows(status=None, workflow=None, limit=10, offset=0, id_prefix="race-")
    assert [s.id for s in started] == ["race-2026-01-01T09:00:00Z"]
    info = await racers.second.describe_schedule("race")
    assert [(f.outcome, f.execution_id) for f in info.recent] == [("started", "race-2026-01-01T09:00:00Z")]
    assert info.next_fire_at == datetime(2026, 1, 2, 9, tzinfo=UTC)
