"""Reading an activity by its token: what a consumer in another language needs before it completes it."""

from __future__ import annotations

from datetime import timedelta

import pydantic
import pytest

import tether
from tests.helpers.activity_tests import Mailbox, post_context, snapshot
from tether.errors import InvalidToken, StaleToken
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)
RETRY = tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1))


class Decision(pydantic.BaseModel):
    approved: bool
    by: str


@tether.activity(heartbeat=HEARTBEAT, timeout=timedelta(hours=1), retry=RETRY)
async def da_decide(order: str) -> Decision:
    post_context()
    return tether.make_async()


@tether.workflow
async def da_order(order: str) -> str:
    decision = await da_decide(order)
    return f"{order}: {decision.approved} by {decision.by}"


async def parked(env: TestEnvironment) -> tuple[Mailbox, tether.WorkflowHandle[str], tether.ActivityContext]:
    box = Mailbox()
    handle = await env.client.start_workflow(da_order, "o-1", id=box.id)
    ctx = await box.context()
    await env.wait_for_idle()
    return box, handle, ctx


async def test_a_token_describes_its_activity_as_it_stands() -> None:
    async with TestEnvironment(workflows=[da_order], activities=[da_decide]) as env:
        box, handle, ctx = await parked(env)
        await env.client.heartbeat_activity(ctx.token, {"read": 2})
        info = await env.client.describe_activity(ctx.token)

        assert (info.execution_id, info.workflow, info.activity_id) == (box.id, da_order.name, 1)
        assert info.name == da_decide.name
        assert (info.state, info.attempt, info.token_attempt, info.current) == ("async", 1, 1, True)
        assert info.heartbeat_details == {"read": 2}
        assert info.last_heartbeat_at == env.clock.now()
        assert info.cancel_requested is False
        assert set(info.deadlines) == {"total", "heartbeat"}
        assert info.deadlines["heartbeat"] == env.clock.now() + HEARTBEAT
        assert info.result_schema is not None
        assert set(info.result_schema["properties"]) == {"approved", "by"}

        assert await env.client.complete_activity(ctx.token, {"approved": True, "by": "ana"})
        closed = await env.client.describe_activity(ctx.token)
        assert (closed.state, closed.current) == ("completed", False)
        assert await handle.result() == "o-1: True by ana"


async def test_a_stale_token_says_which_attempt_is_current_and_a_passed_deadline_counts_first() -> None:
    async with TestEnvironment(workflows=[da_order], activities=[da_decide]) as env:
        box, _, ctx = await parked(env)
        await env.worker.crash()  # no timer fires: only the call can notice the deadline
        env.clock.advance(HEARTBEAT + timedelta(milliseconds=500))

        info = await env.client.describe_activity(ctx.token)

        # The heartbeat deadline passed: the attempt failed at it and the retry waits its back-off.
        assert (info.state, info.attempt, info.token_attempt, info.current) == ("backoff", 2, 1, False)
        assert "retry" in info.deadlines
        with pytest.raises(StaleToken):
            await env.client.complete_activity(ctx.token, {"approved": True, "by": "late"})
        history = [e.type for e in await env.client.history(box.id)]
        assert history.count("ActivityAttemptFailed") == 1


async def test_a_forged_token_is_refused_and_changes_nothing() -> None:
    async with TestEnvironment(workflows=[da_order], activities=[da_decide]) as env:
        box, _, ctx = await parked(env)
        before = await snapshot(env.client, box.id)
        forged = ctx.token[:-3] + ("abc" if not ctx.token.endswith("abc") else "xyz")
        with pytest.raises(InvalidToken):
            await env.client.describe_activity(forged)
        assert await snapshot(env.client, box.id) == before


@tether.activity(retry=RETRY)
async def da_unwatched(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow
async def da_plain(order: str) -> str:
    return await da_unwatched(order)


async def test_a_heartbeat_reply_says_when_the_next_is_due() -> None:
    async with TestEnvironment(workflows=[da_order, da_plain], activities=[da_decide, da_unwatched]) as env:
        _, _, ctx = await parked(env)
        env.clock.advance(timedelta(seconds=4))
        reply = await env.client.heartbeat_activity(ctx.token, {"read": 1})
        assert (reply.cancel_requested, reply.next_heartbeat_due) == (False, env.clock.now() + HEARTBEAT)
        assert (await env.client.describe_activity(ctx.token)).deadlines["heartbeat"] == reply.next_heartbeat_due

        box = Mailbox()
        await env.client.start_workflow(da_plain, "o-2", id=box.id)
        plain = await box.context()
        unwatched = await env.client.heartbeat_activity(plain.token)
        assert (unwatched.cancel_requested, unwatched.next_heartbeat_due) == (False, None)
