"""Retrying an activity now: an activity in retry back-off starts its next attempt at once, without the clock moving."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, of_type, only_pending, post_context, result_of, snapshot
from tether.errors import ActivityNotFound, ActivityNotInBackoff, ExecutionNotFound
from tether.testing import TestEnvironment

BACK_OFF = timedelta(hours=1)


@tether.activity(retry=tether.RetryPolicy(max_attempts=3, initial_interval=BACK_OFF, max_interval=BACK_OFF))
async def rn_flaky(job: str) -> str:
    ctx = post_context()
    if ctx.attempt == 1:
        raise ConnectionError("the first attempt lost its connection")
    return f"{job} on attempt {ctx.attempt}"


@tether.activity
async def rn_remote(job: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow
async def rn_flaky_job(job: str) -> str:
    return await rn_flaky(job)


@tether.workflow
async def rn_remote_job(job: str) -> str:
    return await rn_remote(job)


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[rn_flaky_job, rn_remote_job], activities=[rn_flaky, rn_remote])


async def test_retry_now_during_back_off_runs_the_next_attempt_without_advancing_the_clock() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(rn_flaky_job, "sync", id=mailbox.id)
        assert (await mailbox.context()).attempt == 1
        await env.wait_for_idle()
        pending = only_pending(await env.client.describe(mailbox.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.BACKOFF, 1)
        failed_at = env.clock.now()

        attempt = await env.client.retry_activity_now(mailbox.id, 1)

        assert attempt == 2
        assert (await mailbox.context()).attempt == 2
        assert await result_of(handle) == "sync on attempt 2"
        assert env.clock.now() == failed_at
        history = await env.client.history(mailbox.id)
        started = of_type(history, "ActivityAttemptStarted")
        assert [(e.data["attempt"], e.at) for e in started] == [(1, failed_at), (2, failed_at)]
        assert await env.engine.store.read(lambda tx: tx.timers_of(mailbox.id)) == []


@pytest.mark.parametrize("state", ["async", "completed"])
async def test_retry_now_of_an_activity_not_in_back_off_is_refused_naming_its_state(state: str) -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(rn_remote_job, "remote", id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()
        if state == "completed":
            await env.client.complete_activity(ctx.token, "done")
            await result_of(handle)
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(ActivityNotInBackoff) as refused:
            await env.client.retry_activity_now(mailbox.id, 1)

        assert (refused.value.state, refused.value.activity_id, refused.value.execution_id) == (state, 1, mailbox.id)
        assert await snapshot(env.client, mailbox.id) == before


async def test_retry_now_of_an_activity_whose_execution_was_terminated_is_refused_as_cancelled() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        await env.client.start_workflow(rn_flaky_job, "terminated", id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()
        await env.client.terminate(mailbox.id)

        with pytest.raises(ActivityNotInBackoff) as refused:
            await env.client.retry_activity_now(mailbox.id, 1)

        assert refused.value.state == "cancelled"


async def test_retry_now_of_an_unknown_activity_or_execution_is_not_found() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        await env.client.start_workflow(rn_remote_job, "remote", id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()

        with pytest.raises(ActivityNotFound) as missing:
            await env.client.retry_activity_now(mailbox.id, 7)
        with pytest.raises(ExecutionNotFound):
            await env.client.retry_activity_now("no-such-execution", 1)

        assert (missing.value.execution_id, missing.value.activity_id) == (mailbox.id, 7)
        assert isinstance(missing.value, ExecutionNotFound)


@pytest.mark.parametrize("activity_id", [0, -1, True])
async def test_retry_now_of_an_activity_id_that_is_no_id_is_invalid(activity_id: int) -> None:
    async with environment() as env:
        with pytest.raises(tether.errors.InvalidPayload):
            await env.client.retry_activity_now("any", activity_id)
