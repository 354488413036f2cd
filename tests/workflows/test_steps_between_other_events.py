"""A workflow stepping through sync activities still sees what other transitions add to its history.

Each step of such a workflow runs inside the transition that records the previous
activity's result, on a worker thread; events that arrive in between from elsewhere (a
completion by token, a cancellation) must reach it all the same.
"""

from __future__ import annotations

import asyncio

import tether
from tests.helpers.activity_tests import Mailbox, post, post_context, result_of
from tether.testing import TestEnvironment


@tether.activity(name="sb.later")
async def sb_later() -> str:
    post_context()
    return tether.make_async()


@tether.activity(name="sb.step")
def sb_step(done: int) -> int:
    if done == 3:
        post("stepping")
    return done + 1


@tether.workflow(name="sb.step_until_completed")
async def sb_step_until_completed() -> list[object]:
    later = tether.start_activity(sb_later)
    done = 0
    while not later.done():
        done = await sb_step(done)
    return [await later, done > 3]


@tether.workflow(name="sb.step_until_cancelled")
async def sb_step_until_cancelled() -> int:
    done = 0
    try:
        while True:
            done = await sb_step(done)
    except asyncio.CancelledError:
        return -1


@tether.workflow(name="sb.step_then_withdraw")
async def sb_step_then_withdraw() -> str:
    await sb_step(0)
    # Scheduled and withdrawn in one task: the activity closes as cancelled at once, in
    # the transition that runs this step.
    handle = tether.start_activity(sb_step, 1)
    handle.cancel()
    try:
        await handle
    except tether.errors.ActivityCancelled:
        return "withdrawn"
    return "ran"


def environment() -> TestEnvironment:
    return TestEnvironment(
        workflows=[sb_step_until_completed, sb_step_until_cancelled, sb_step_then_withdraw],
        activities=[sb_later, sb_step],
    )


async def test_completion_by_token_reaches_a_workflow_busy_stepping_through_sync_activities() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(sb_step_until_completed, id=box.id)
        ctx = await box.context()
        assert await box.get() == "stepping"

        await env.client.complete_activity(ctx.token, "done elsewhere")

        assert await result_of(handle) == ["done elsewhere", True]


async def test_cancellation_reaches_a_workflow_busy_stepping_through_sync_activities() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(sb_step_until_cancelled, id=box.id)
        assert await box.get() == "stepping"

        await env.client.cancel_workflow(box.id)

        assert await result_of(handle) == -1, "the workflow saw the cancellation and returned"


async def test_activity_withdrawn_in_the_step_that_scheduled_it_reports_its_cancellation() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(sb_step_then_withdraw)

        assert await result_of(handle) == "withdrawn"
