"""A long poll on a published value wakes when another process publishes: two stores on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import psycopg
import pytest

import tether
from tests.helpers.workflows import TOKENS, new_id
from tether.model.clock import VirtualClock
from tether.store.postgres.listener import CHANNEL
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres

NOTICE_DEADLINE_S = 30.0


@tether.activity
async def pa_wait() -> str:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow
async def pa_flow() -> str:
    tether.publish("state", "waiting")
    answer = await pa_wait()
    tether.publish("state", answer)
    return answer


async def test_a_long_poll_of_another_process_wakes_when_the_workflow_publishes(postgres_url: str) -> None:
    async with TestEnvironment(url=postgres_url, workflows=[pa_flow], activities=[pa_wait]) as env:
        execution_id = new_id("pa")
        await env.client.start_workflow(pa_flow, id=execution_id)
        token = await TOKENS.get(execution_id)
        # Never advanced: only a wake-up from the other store ends the wait.
        async with await tether.Client.connect(postgres_url, clock=VirtualClock()) as elsewhere:
            assert await elsewhere.published(execution_id, "state") == tether.Published("waiting", 1)
            poll = asyncio.create_task(elsewhere.published(execution_id, "state", after=1, wait=timedelta(hours=1)))
            while elsewhere.engine.notifier.parked_on("messages") == 0:
                assert not poll.done(), poll
                await asyncio.sleep(0)
            with psycopg.connect(postgres_url, autocommit=True) as listening:
                listening.execute(f"LISTEN {CHANNEL}")
                await env.client.complete_activity(token, "approved")
                assert await poll == tether.Published("approved", 2)
                # The commit that published told other processes so, by topic.
                assert "messages" in await topics_heard(listening)


async def topics_heard(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    """The topics named by the notices ``conn`` received, once one names ``messages`` (polled, bounded)."""
    heard: set[str] = set()
    deadline = time.monotonic() + NOTICE_DEADLINE_S
    while "messages" not in heard and time.monotonic() < deadline:
        for notice in conn.notifies(timeout=0.05, stop_after=1):
            heard.update(notice.payload.split(" ")[1:])
        await asyncio.sleep(0)
    return heard
