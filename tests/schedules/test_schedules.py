"""Schedules: occurrences start at the cron times in their time zone, once each, as their policies say.

Each test runs on SQLite and PostgreSQL, over the embedded client and over HTTP; time is
the test environment's virtual clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import tether
from tether.errors import ScheduleNotFound
from tether.testing import TestEnvironment

START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


@tether.workflow
async def sc_job(tag: str) -> str:
    return f"ran {tag}"


@tether.workflow
async def sc_long(tag: str) -> str:
    await tether.sleep(timedelta(minutes=90))
    return f"ran {tag}"


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[sc_job, sc_long], start=START)


async def started_ids(env: TestEnvironment, schedule_id: str) -> list[str]:
    listed = await env.client.list_workflows(id_prefix=f"{schedule_id}-", limit=100)
    return sorted(item.id for item in listed)


async def test_occurrences_start_at_the_cron_times_in_the_time_zone() -> None:
    async with environment() as env:
        made = await env.client.create_schedule(
            "weekly", sc_job, "report", cron="0 9 * * MON", timezone="Europe/Berlin"
        )
        assert made.next_fire_at == datetime(2026, 1, 5, 8, tzinfo=UTC)  # 09:00 in Berlin, in winter
        await env.advance(timedelta(days=15))
        ids = await started_ids(env, "weekly")
        assert ids == ["weekly-2026-01-05T08:00:00Z", "weekly-2026-01-12T08:00:00Z"]
        for execution_id in ids:
            assert await env.client.get_handle(execution_id).result() == "ran report"
            described = await env.client.describe(execution_id)
            assert described.workflow == "sc_job"
        info = await env.client.describe_schedule("weekly")
        assert info.next_fire_at == datetime(2026, 1, 19, 8, tzinfo=UTC)
        assert info.last_execution_id == ids[-1]
        assert [(f.outcome, f.execution_id) for f in info.recent] == [("started", i) for i in reversed(ids)]


async def test_pause_stops_occurrences_and_unpause_resumes_from_now_without_a_burst() -> None:
    async with environment() as env:
        await env.client.create_schedule("hourly", sc_job, "h", cron="0 * * * *")
        await env.advance(timedelta(minutes=65))
        assert await started_ids(env, "hourly") == ["hourly-2026-01-01T01:00:00Z"]
        paused = await env.client.pause_schedule("hourly")
        assert paused.paused
        await env.advance(timedelta(hours=3))  # 04:05: 02:00, 03:00 and 04:00 pass while paused
        assert await started_ids(env, "hourly") == ["hourly-2026-01-01T01:00:00Z"]
        resumed = await env.client.unpause_schedule("hourly")
        assert not resumed.paused
        assert resumed.next_fire_at == datetime(2026, 1, 1, 5, tzinfo=UTC)
        await env.advance(timedelta(hours=1))
        assert await started_ids(env, "hourly") == ["hourly-2026-01-01T01:00:00Z", "hourly-2026-01-01T05:00:00Z"]


async def test_trigger_starts_now_even_while_paused_and_leaves_the_next_occurrence() -> None:
    async with environment() as env:
        await env.client.create_schedule("daily", sc_job, "d", cron="0 9 * * *", paused=True)
        await env.advance(timedelta(minutes=30, milliseconds=250))
        handle = await env.client.trigger_schedule("daily")
        assert handle.id == "daily-2026-01-01T00:30:00.250Z"
        assert await handle.result() == "ran d"
        info = await env.client.describe_schedule("daily")
        assert info.paused
        assert info.next_fire_at == datetime(2026, 1, 1, 9, tzinfo=UTC)
        assert info.last_execution_id == handle.id
        assert [(f.outcome, f.manual) for f in info.recent] == [("started", True)]


async def test_a_deleted_schedule_starts_nothing_more_and_its_executions_stay() -> None:
    async with environment() as env:
        await env.client.create_schedule("gone", sc_job, "g", cron="0 * * * *")
        await env.advance(timedelta(minutes=61))
        await env.client.delete_schedule("gone")
        await env.advance(timedelta(hours=5))
        assert await started_ids(env, "gone") == ["gone-2026-01-01T01:00:00Z"]
        assert await env.client.list_schedules() == []
        with pytest.raises(ScheduleNotFound):
            await env.client.describe_schedule("gone")
        with pytest.raises(ScheduleNotFound):
            await env.client.delete_schedule("gone")


@pytest.mark.parametrize(
    ("overlap", "started", "outcomes"),
    [
        # The first execution runs from 01:00 to 02:30, the next from 03:00 (skip) or 02:30 (buffered).
        ("skip", ["01:00", "03:00"], ["started", "skipped", "started"]),
        ("buffer_one", ["01:00", "02:00"], ["started", "buffered", "started", "buffered"]),
        ("allow", ["01:00", "02:00", "03:00"], ["started", "started", "started"]),
    ],
)
async def test_overlap_policy_with_a_long_running_workflow(
    overlap: str, started: list[str], outcomes: list[str]
) -> None:
    async with environment() as env:
        await env.client.create_schedule("long", sc_long, "l", cron="0 * * * *", overlap=overlap)  # type: ignore[arg-type]
        await env.advance(timedelta(hours=3, minutes=10))
        assert await started_ids(env, "long") == [f"long-2026-01-01T{at}:00Z" for at in started]
        info = await env.client.describe_schedule("long")
        assert [f.outcome for f in reversed(info.recent)] == outcomes
        if overlap == "buffer_one":
            buffered = await env.client.describe("long-2026-01-01T02:00:00Z")
            assert buffered.started_at == datetime(2026, 1, 1, 2, 30, tzinfo=UTC)  # when the 01:00 one closed
            assert info.buffered_at == datetime(2026, 1, 1, 3, tzinfo=UTC)
