"""When occurrences fire: after downtime as the catch-up policy says, and around daylight-saving changes.

Each test runs on SQLite and PostgreSQL; time is a virtual clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import tether
from tests.schedules.test_schedules import sc_job, started_ids
from tether.model.clock import VirtualClock
from tether.testing import TestEnvironment

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("catch_up", "overlap", "started", "outcomes"),
    [
        ("one", "skip", ["03"], ["started"]),
        ("all", "allow", ["01", "02", "03"], ["started", "started", "started"]),
        # Each missed occurrence obeys the overlap policy: the first one started still runs for the others.
        ("all", "skip", ["01"], ["started", "skipped", "skipped"]),
        ("none", "skip", [], ["skipped"]),
    ],
)
async def test_occurrences_due_while_no_worker_ran_fire_on_recovery_as_the_catch_up_policy_says(
    store_url: str, catch_up: str, overlap: str, started: list[str], outcomes: list[str]
) -> None:
    clock = VirtualClock(START)
    async with await tether.Client.connect(store_url, clock=clock) as client:
        await client.create_schedule(
            "daily",
            sc_job,
            "d",
            cron="0 9 * * *",
            catch_up=catch_up,  # type: ignore[arg-type]
            overlap=overlap,  # type: ignore[arg-type]
        )
    # Three days without any worker: 09:00 on the 1st, 2nd and 3rd pass unfired.
    async with TestEnvironment(url=store_url, workflows=[sc_job], start=START + timedelta(days=3)) as env:
        await env.wait_for_idle()
        assert await started_ids(env, "daily") == [f"daily-2026-01-{day}T09:00:00Z" for day in started]
        info = await env.client.describe_schedule("daily")
        assert [f.outcome for f in reversed(info.recent)] == outcomes
        assert info.next_fire_at == datetime(2026, 1, 4, 9, tzinfo=UTC)
        await env.advance(timedelta(hours=10))  # and on from there, on time
        assert len(await started_ids(env, "daily")) == len(started) + 1


@pytest.mark.parametrize(
    ("cron", "start", "fires"),
    [
        # Spring forward (2026-03-08, 02:00 -> 03:00 in New York): 02:30 does not exist that day; it fires at 03:00.
        ("30 2 * * *", datetime(2026, 3, 7, tzinfo=UTC),
         ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]),
        # Fall back (2026-11-01, 02:00 -> 01:00): 01:30 happens twice; it fires once, at the first (daylight) one.
        ("30 1 * * *", datetime(2026, 10, 31, tzinfo=UTC),
         ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]),
    ],
)  # fmt: skip
async def test_daily_occurrences_around_daylight_saving_changes_fire_once_a_day(
    cron: str, start: datetime, fires: list[str]
) -> None:
    async with TestEnvironment(workflows=[sc_job], start=start) as env:
        await env.client.create_schedule("dst", sc_job, "d", cron=cron, timezone="America/New_York")
        await env.advance(timedelta(days=3))
        assert await started_ids(env, "dst") == [f"dst-{at}" for at in fires]
