"""Messages and requests under contention on PostgreSQL: several processes act on one execution at once.

Each race is forced: a third connection holds the execution's row lock while the racing
transitions queue behind it (seen in pg_stat_activity), then lets them go in a known order.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest

import tether
from tests.helpers.workflows import new_id
from tests.store.test_concurrent_stores import wait_for_lock_waits
from tether.engine.engine import Engine
from tether.engine.message_states import MESSAGE, REQUEST
from tether.errors import ExecutionClosed
from tether.model.clock import VirtualClock
from tether.model.events import EventType
from tether.store.postgres.store import PostgresStore
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres


@tether.workflow
async def cm_waits() -> str:
    request = await tether.receive_request("ask", timeout=timedelta(days=1))
    request.reply(f"answered {request.payload}")
    more: str = await tether.receive("more")
    return more


async def _parked(url: str) -> tuple[str, VirtualClock]:
    async with TestEnvironment(url=url, workflows=[cm_waits]) as env:
        execution_id = new_id("cm")
        await env.client.start_workflow(cm_waits, id=execution_id)
        await env.wait_for_idle()
        return execution_id, VirtualClock(env.clock.now())


async def test_two_processes_sending_one_key_at_once_store_one_message(postgres_url: str) -> None:
    execution_id, clock = await _parked(postgres_url)
    first_store, second_store = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        first, second = Engine(first_store, clock), Engine(second_store, clock)
        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (execution_id,))
            one = asyncio.ensure_future(first.send_message(execution_id, MESSAGE, "more", '"x"', key="k"))
            await wait_for_lock_waits(postgres_url, 1)
            two = asyncio.ensure_future(second.send_message(execution_id, MESSAGE, "more", '"x"', key="k"))
            await wait_for_lock_waits(postgres_url, 2)
            holder.commit()
        sent = [await one, await two]
        assert sorted(s.stored for s in sent) == [False, True]
        assert sent[0].message_id == sent[1].message_id
        history = await first.load_events(execution_id)
        assert [e.type for e in history].count(EventType.MESSAGE_SENT) == 1
    finally:
        await first_store.close()
        await second_store.close()


async def test_a_send_queued_behind_a_terminate_is_refused_and_nothing_follows_the_close(postgres_url: str) -> None:
    execution_id, clock = await _parked(postgres_url)
    first_store, second_store = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        first, second = Engine(first_store, clock), Engine(second_store, clock)
        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (execution_id,))
            terminate = asyncio.ensure_future(first.terminate_workflow(execution_id, "stop"))
            await wait_for_lock_waits(postgres_url, 1)
            send = asyncio.ensure_future(second.send_message(execution_id, MESSAGE, "more", '"late"'))
            await wait_for_lock_waits(postgres_url, 2)
            holder.commit()
        await terminate
        with pytest.raises(ExecutionClosed) as refused:
            await send
        assert refused.value.status == "terminated"
        history = await first.load_events(execution_id)
        assert history[-1].type == EventType.WORKFLOW_TERMINATED
        assert EventType.MESSAGE_SENT not in [e.type for e in history]
    finally:
        await first_store.close()
        await second_store.close()


async def test_a_caller_in_another_process_hears_the_reply_to_its_request(postgres_url: str) -> None:
    async with TestEnvironment(url=postgres_url, workflows=[cm_waits]) as env:
        execution_id = new_id("cm")
        await env.client.start_workflow(cm_waits, id=execution_id)
        await env.wait_for_idle()
        caller_store = await PostgresStore.open(postgres_url)
        try:
            caller = Engine(caller_store, env.clock)  # no worker here: the reply comes from the environment's
            sent = await caller.send_message(execution_id, REQUEST, "ask", '"where?"')
            answer = await caller.request_answer(execution_id, sent.message_id, None)
            assert (answer.state, answer.reply) == ("replied", '"answered where?"')
        finally:
            await caller_store.close()
