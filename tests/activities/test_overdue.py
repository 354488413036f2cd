"""The overdue view: activities waiting for their token too long, or near a deadline (client.overdue_activities)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, box, post_context
from tether.errors import ActivityTimeout, UsageError
from tether.testing import TestEnvironment

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


@tether.activity(overdue_after=2 * DAY)
async def od_callback(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity
async def od_plain(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(timeout=2 * HOUR)
async def od_timed(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(heartbeat=HOUR)
async def od_beating(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(timeout=2 * HOUR)
async def od_running(order: str) -> str:
    post_context()
    await box().wait_for_gate()
    return "done"


@tether.workflow
async def od_flow(activity: str, order: str) -> str:
    chosen = {a.name: a for a in (od_callback, od_plain, od_timed, od_beating, od_running)}[activity]
    try:
        return await chosen(order)
    except ActivityTimeout:
        return "timed out"


@tether.workflow(timeout=HOUR)
async def od_bounded(order: str) -> str:
    return await od_plain(order)


def environment() -> TestEnvironment:
    return TestEnvironment(
        workflows=[od_flow, od_bounded], activities=[od_callback, od_plain, od_timed, od_beating, od_running]
    )


async def park(env: TestEnvironment, activity: tether.Activity[[str], str], order: str = "o") -> Mailbox:
    """Start an execution whose activity goes async (or runs, for od_running) now; its mailbox."""
    mailbox = Mailbox()
    await env.client.start_workflow(od_flow, activity.name, order, id=mailbox.id)
    await mailbox.context()
    if activity is not od_running:
        await env.wait_for_idle()
    return mailbox


async def ids(env: TestEnvironment, **options: Any) -> list[str]:
    return [o.execution_id for o in await env.client.overdue_activities(**options)]


async def test_an_activity_waiting_longer_than_its_own_overdue_after_is_listed_one_waiting_less_is_not() -> None:
    async with environment() as env:
        started = env.clock.now()
        three_days = await park(env, od_callback)
        await env.advance(2 * DAY)
        one_day = await park(env, od_callback)
        await env.advance(DAY)

        listed = await env.client.overdue_activities(due_within=None)

        assert [o.execution_id for o in listed] == [three_days.id]
        (item,) = listed
        assert (item.workflow, item.name, item.activity_id, item.attempt) == (od_flow.name, od_callback.name, 1, 1)
        assert item.waiting_since == started
        assert (item.overdue_after_ms, item.own_overdue_after, item.reasons) == (2 * 86_400_000, True, ["waiting"])
        assert (item.deadline, item.deadline_kind) == (None, None)
        assert one_day.id not in await ids(env, waiting_longer_than=HOUR)  # its own 2 days hold, not the default


async def test_activities_that_declare_no_overdue_after_are_held_to_the_default_given() -> None:
    async with environment() as env:
        parked = await park(env, od_plain)
        await env.advance(12 * HOUR)

        by_default = await ids(env)  # one day
        by_six_hours = await env.client.overdue_activities(waiting_longer_than=6 * HOUR)
        without_default = await ids(env, waiting_longer_than=None)

        assert by_default == []
        assert [(o.execution_id, o.overdue_after_ms, o.own_overdue_after) for o in by_six_hours] == [
            (parked.id, 6 * 3_600_000, False)
        ]
        assert without_default == []


async def test_a_total_timeout_within_due_within_lists_the_activity_until_it_closes() -> None:
    async with environment() as env:
        started = env.clock.now()
        parked = await park(env, od_timed)
        await env.advance(90 * MINUTE)

        near = await env.client.overdue_activities(due_within=HOUR, waiting_longer_than=None)
        not_near = await ids(env, due_within=10 * MINUTE, waiting_longer_than=None)
        await env.advance(30 * MINUTE)
        await env.wait_for_idle()
        closed = await ids(env, due_within=HOUR, waiting_longer_than=None)

        assert [(o.execution_id, o.deadline_kind, o.deadline, o.reasons) for o in near] == [
            (parked.id, "total", started + 2 * HOUR, ["deadline"])
        ]
        assert not_near == []
        assert await env.client.get_handle(parked.id).result() == "timed out"
        assert closed == []


async def test_a_heartbeat_deadline_counts_from_the_last_heartbeat() -> None:
    async with environment() as env:
        started = env.clock.now()
        parked = await park(env, od_beating)
        at_start = await env.client.overdue_activities(due_within=None)
        await env.advance(50 * MINUTE)
        token = (await env.client.waiting_activities())[0].activity_token
        assert token is not None
        await env.client.heartbeat_activity(token)
        await env.advance(5 * MINUTE)

        # Its heartbeat timer is due at 1h, within 30 minutes, but the deadline moved to 1h50.
        before = await ids(env, due_within=30 * MINUTE, waiting_longer_than=None)
        await env.advance(30 * MINUTE)
        after = await env.client.overdue_activities(due_within=30 * MINUTE, waiting_longer_than=None)

        assert at_start == []
        assert before == []
        assert [(o.execution_id, o.deadline_kind, o.deadline) for o in after] == [
            (parked.id, "heartbeat", started + 110 * MINUTE)
        ]


async def test_the_workflow_deadline_counts_for_its_waiting_activities() -> None:
    async with environment() as env:
        started = env.clock.now()
        mailbox = Mailbox()
        await env.client.start_workflow(od_bounded, "o", id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()
        await env.advance(40 * MINUTE)

        listed = await env.client.overdue_activities(due_within=30 * MINUTE, waiting_longer_than=None)
        near = {"due_within": 30 * MINUTE, "waiting_longer_than": None}
        of_its_workflow = await ids(env, workflow=od_bounded.name, name=od_plain.name, **near)
        of_another = await ids(env, workflow=od_flow.name, **near)
        of_another_name = await ids(env, name=od_timed.name, **near)

        assert [(o.execution_id, o.deadline_kind, o.deadline) for o in listed] == [
            (mailbox.id, "workflow", started + HOUR)
        ]
        assert (of_its_workflow, of_another, of_another_name) == ([mailbox.id], [], [])


async def test_a_running_sync_attempt_waits_for_no_token_and_is_not_listed() -> None:
    async with environment() as env:
        running = await park(env, od_running)
        await env.advance(90 * MINUTE)

        listed = await ids(env, due_within=HOUR, waiting_longer_than=MINUTE)

        running.open_gate()
        await env.wait_for_idle()
        assert listed == []
        assert await env.client.get_handle(running.id).result() == "done"


async def test_overdue_activities_page_longest_waiting_first_across_reasons() -> None:
    async with environment() as env:
        oldest = await park(env, od_plain)
        await env.advance(HOUR)
        middle = await park(env, od_timed)
        await env.advance(HOUR)
        newest = await park(env, od_callback)
        await env.advance(3 * DAY)  # the timed one timed out meanwhile; park another
        timed = await park(env, od_timed)
        await env.advance(90 * MINUTE)

        everything = await ids(env, waiting_longer_than=DAY, due_within=HOUR)
        pages = [await ids(env, waiting_longer_than=DAY, due_within=HOUR, limit=1, offset=n) for n in range(4)]

        assert middle.id not in everything
        assert everything == [oldest.id, newest.id, timed.id]
        assert pages == [[oldest.id], [newest.id], [timed.id], []]


async def test_overdue_after_must_be_positive() -> None:
    with pytest.raises(UsageError, match="overdue_after must be positive"):
        tether.activity(overdue_after=timedelta(0))(od_plain.fn)


@pytest.mark.parametrize("options", [{"limit": 0}, {"offset": -1}, {"due_within": timedelta(0)}])
async def test_a_bad_limit_offset_or_duration_is_a_usage_error(options: dict[str, object]) -> None:
    async with environment() as env:
        with pytest.raises(UsageError):
            await env.client.overdue_activities(**options)  # type: ignore[arg-type]
