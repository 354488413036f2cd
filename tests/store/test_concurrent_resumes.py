"""Two resumes of one execution racing on PostgreSQL, forced into their worst order: one resumes it."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tests.helpers.workflows import new_id
from tests.store.test_concurrent_stores import wait_for_lock_waits
from tests.workflows.test_resume import ACTIVITIES, BROKEN, WORKFLOWS, resume_five_steps
from tether import errors
from tether.engine.engine import Engine
from tether.model.clock import VirtualClock
from tether.model.events import EventType
from tether.store.postgres.store import PostgresStore
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres


async def test_two_resumes_queued_behind_one_lock_resume_once(postgres_url: str) -> None:
    execution_id = new_id("cs-resume")
    BROKEN.add(execution_id)
    async with TestEnvironment(url=postgres_url, workflows=WORKFLOWS, activities=ACTIVITIES) as env:
        handle = await env.client.start_workflow(resume_five_steps, id=execution_id)
        with pytest.raises(errors.WorkflowFailed):
            await handle.result()
        clock = VirtualClock(env.clock.now())
    BROKEN.discard(execution_id)
    first_store, second_store = await PostgresStore.open(postgres_url), await PostgresStore.open(postgres_url)
    try:
        first, second = Engine(first_store, clock), Engine(second_store, clock)
        # A third connection holds the execution's row lock: both resumes queue behind it, in this order.
        with psycopg.connect(postgres_url) as holder:
            holder.execute("SELECT 1 FROM tether.executions WHERE id = %s FOR UPDATE", (execution_id,))
            one = asyncio.ensure_future(first.resume(execution_id, None))
            await wait_for_lock_waits(postgres_url, 1)
            two = asyncio.ensure_future(second.resume(execution_id, None))
            await wait_for_lock_waits(postgres_url, 2)
            holder.commit()

        outcomes = await asyncio.gather(one, two, return_exceptions=True)
        assert outcomes[0] is None
        assert isinstance(outcomes[1], errors.ExecutionNotResumable)
        assert outcomes[1].status == "running"
        history = [e.type for e in await second.history(execution_id)]
        assert history.count(EventType.EXECUTION_RESUMED) == 1
        row = await second_store.read(lambda tx: tx.get_activity(execution_id, 3))
        assert row is not None
        assert (row.state, row.attempt) == ("scheduled", 2)
    finally:
        await first_store.close()
        await second_store.close()
    async with TestEnvironment(url=postgres_url, workflows=WORKFLOWS, activities=ACTIVITIES) as env:
        assert await env.client.get_handle(execution_id).result() == [10, 20, 30, 40, 50]
