"""What operators read (the metrics' gauges, listings, a history) is answered while a transition holds the store.

At scale these reads take tens of milliseconds (a count of every waiting activity, a deep page,
a history of 20,000 events); read in the order of the transitions, each would hold up every
transition behind it. The transition is held open on the store's own thread by an event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import tether
from tests.helpers.activity_tests import Mailbox, post_context
from tests.telemetry.scraping import metrics_server, scrape, value
from tether.engine.engine import Engine
from tether.store.base import Store, Transaction
from tether.testing import TestEnvironment

WAIT_S = 10.0
"""How long a held read or transition may wait before the test fails (a deadlock, not a timing)."""


@asynccontextmanager
async def holding(store: Store) -> AsyncIterator[None]:
    """A transition held open on the store's own thread for the body's duration, then let commit."""
    held, release = threading.Event(), threading.Event()

    def transition(tx: Transaction) -> None:
        held.set()
        if not release.wait(WAIT_S):
            raise AssertionError("never released")

    running = asyncio.ensure_future(store.run(transition))
    try:
        assert await asyncio.to_thread(held.wait, WAIT_S)
        yield
    finally:
        release.set()
        await running


@tether.activity(name="beside.approve")
async def approve() -> str:
    post_context()
    return tether.make_async()


@tether.workflow(name="beside.flow")
async def flow() -> str:
    return await approve()


async def test_the_gauges_listings_and_a_history_are_answered_while_a_transition_holds_the_store() -> None:
    async with TestEnvironment(workflows=[flow], activities=[approve]) as env, metrics_server(env) as http:
        waiting = Mailbox()
        await env.client.start_workflow(flow, id=waiting.id)
        await waiting.context()
        await env.wait_for_idle()
        async with holding(env.engine.store):
            engine = env.engine
            samples = await asyncio.wait_for(scrape(http), WAIT_S)
            listed = await asyncio.wait_for(
                engine.list_workflows(status=None, workflow=None, limit=5, offset=0), WAIT_S
            )
            overdue = await asyncio.wait_for(
                engine.overdue_activities(
                    waiting_longer_than=timedelta(0), due_within=None, workflow=None, name=None, limit=5, offset=0
                ),
                WAIT_S,
            )
            history = await asyncio.wait_for(engine.history(waiting.id), WAIT_S)
            described = await asyncio.wait_for(engine.describe(waiting.id), WAIT_S)
            inbox = await asyncio.wait_for(engine.list_waiting_activities(inbox_only=False, limit=5, offset=0), WAIT_S)
            with_tokens = await asyncio.wait_for(
                engine.waiting_activities(workflow=None, name=None, inbox_only=False, limit=5, offset=0), WAIT_S
            )
        (listed_token,) = [item.activity_token for item in with_tokens]
        assert listed_token is not None
        await env.client.complete_activity(listed_token, "approved")  # signed aside, with the keys in memory
        result = await env.client.get_handle(waiting.id).result()

    assert value(samples, "tether_activities_waiting_for_token", activity="beside.approve") == 1
    assert [summary.id for summary in listed] == [waiting.id]
    assert [item.execution_id for item in overdue] == [waiting.id]
    assert [event.type for event in history][-1] == "ActivityWentAsync"
    assert described.status == "running"
    assert [item.execution_id for item in inbox] == [waiting.id]
    assert result == "approved"


async def test_a_process_that_knows_no_signing_key_yet_lists_tokens_then_lists_beside_the_transitions() -> None:
    async with TestEnvironment(workflows=[flow], activities=[approve]) as env:
        waiting = Mailbox()
        await env.client.start_workflow(flow, id=waiting.id)
        await waiting.context()
        await env.wait_for_idle()
        fresh = Engine(env.engine.store, env.clock)  # another process's engine: no key loaded

        (first,) = await fresh.waiting_activities(workflow=None, name=None, inbox_only=False, limit=5, offset=0)
        async with holding(env.engine.store):
            (again,) = await asyncio.wait_for(
                fresh.waiting_activities(workflow=None, name=None, inbox_only=False, limit=5, offset=0), WAIT_S
            )

    assert first.activity_token is not None
    assert first.activity_token == again.activity_token
