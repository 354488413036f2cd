"""Activity tokens under true concurrency on PostgreSQL: resolved to the current attempt only behind the lock.

As in test_concurrent_stores, each race is forced into its worst order: one transition
(or a bare connection) holds the execution's row lock while the other call waits for it,
then the holder commits. A call by activity token must decide on what the holder left.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest

import tether
from tests.helpers.workflows import TOKENS, new_id
from tests.store import test_concurrent_stores
from tests.store.test_concurrent_stores import HEARTBEAT, Racers, wait_for_lock_waits
from tether.errors import ActivityAlreadyClosed, NoAttemptOpen
from tether.model.clock import VirtualClock
from tether.model.events import EventType
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres
BACK_OFF = timedelta(hours=1)
racers = test_concurrent_stores.racers  # the fixture: two engines on one database, the first one's next transition held


@tether.activity(
    heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=2, initial_interval=BACK_OFF, max_interval=BACK_OFF)
)
async def cat_remote(order: str) -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, f"{ctx.token} {ctx.activity_token}")
    return tether.make_async()


@tether.workflow
async def cat_approve(order: str) -> str:
    return await cat_remote(order)


async def parked(url: str) -> tuple[str, str, str, VirtualClock]:
    """An execution whose activity waits for its token; no worker is left running."""
    async with TestEnvironment(url=url, workflows=[cat_approve], activities=[cat_remote]) as env:
        execution_id = new_id("cat")
        await env.client.start_workflow(cat_approve, "o1", id=execution_id)
        token, activity_token = (await TOKENS.get(execution_id)).split()
        await env.wait_for_idle()
        return execution_id, token, activity_token, VirtualClock(env.clock.now())


@pytest.mark.parametrize("second_result", ['"same"', '"other"'])
@pytest.mark.parametrize("first_kind", ["attempt", "activity"])
async def test_completions_by_both_kinds_of_token_queued_on_the_lock_have_one_winner(
    racers: Racers, first_kind: str, second_result: str
) -> None:
    execution_id, token, activity_token, clock = await parked(racers.url)
    racers.clock.advance_to(clock.now_ms())
    first_token, second_token = (token, activity_token) if first_kind == "attempt" else (activity_token, token)

    with psycopg.connect(racers.url) as holder:
        holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (execution_id,))
        first = asyncio.ensure_future(racers.first.complete_activity(first_token, '"same"'))
        await wait_for_lock_waits(racers.url, 1)
        second = asyncio.ensure_future(racers.second.complete_activity(second_token, second_result))
        await wait_for_lock_waits(racers.url, 2)
        holder.commit()

    assert await first is True
    if second_result == '"same"':
        assert await second is False  # the same completion, by the other kind of token: acknowledged
    else:
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await second
        assert refused.value.final_state == "completed"
    history = await racers.history(execution_id)
    assert history.count(EventType.ACTIVITY_COMPLETED) == 1
    assert (await racers.second.describe(execution_id)).status == tether.WorkflowStatus.RUNNING  # no worker ran


@pytest.mark.parametrize("call", ["heartbeat", "complete"])
async def test_activity_token_waiting_on_a_heartbeat_timeout_acts_on_what_the_timeout_left(
    racers: Racers, call: str
) -> None:
    execution_id, _, activity_token, clock = await parked(racers.url)
    racers.clock.advance_to(clock.now_ms())
    racers.clock.advance(HEARTBEAT + timedelta(seconds=1))

    racers.held.hold_next()
    timeout = asyncio.ensure_future(racers.first.timer_pass("worker-a"))  # attempt 1 times out: a retry is due
    await racers.wait_until_holding()
    by_token: asyncio.Future[object] = asyncio.ensure_future(
        racers.second.heartbeat_activity(activity_token, '{"page": 2}')
        if call == "heartbeat"
        else racers.second.complete_activity(activity_token, '"approved"')
    )
    await racers.wait_for_lock_wait()
    racers.held.release.set()

    fired, _ = await timeout
    assert fired == 1
    (outcome,) = await asyncio.gather(by_token, return_exceptions=True)
    history = await racers.history(execution_id)  # read once the call by token has ended
    if call == "heartbeat":
        assert isinstance(outcome, NoAttemptOpen)
        assert (outcome.state, outcome.next_attempt) == ("backoff", 2)
        assert history[-1] == EventType.ACTIVITY_ATTEMPT_FAILED
        pending = (await racers.second.describe(execution_id)).pending_activities
        assert (pending[0].state, pending[0].heartbeat_details) == (tether.ActivityState.BACKOFF, None)
    else:
        assert outcome is True
        assert history[-2:] == [EventType.ACTIVITY_ATTEMPT_FAILED, EventType.ACTIVITY_COMPLETED]
        timers = await racers.second.store.read(lambda tx: tx.timers_of(execution_id))
        assert timers == []  # the retry went with the close
