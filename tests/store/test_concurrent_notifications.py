"""Notifications out under true concurrency on PostgreSQL: each is tried by one worker at a time.

As in test_concurrent_stores, the race is forced into its worst order: the first engine's
claim has leased the row but not committed when the second engine claims; the second must
pass over it at once (SKIP LOCKED), not wait and not take it. A worker that dies with the
lease leaves the row to another once the lease has run out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import new_id
from tests.store import test_concurrent_stores
from tests.store.test_concurrent_stores import Racers
from tether.engine.engine import Engine
from tether.engine.notifications import Delivery
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres
racers = test_concurrent_stores.racers  # the fixture: two engines on one database, the first one's next transition held
URL = "http://127.0.0.1:9/hook"
LEASE = timedelta(minutes=1)


@tether.activity
async def cn_remote(order: str) -> str:
    tether.context().notify(URL)
    return tether.make_async()


@tether.workflow
async def cn_approve(order: str) -> str:
    return await cn_remote(order)


async def test_a_notification_leased_by_one_worker_is_passed_over_by_another_until_its_lease_runs_out(
    racers: Racers,
) -> None:
    async with TestEnvironment(url=racers.url, workflows=[cn_approve], activities=[cn_remote]) as env:
        execution_id = new_id("cn")
        await env.client.start_workflow(cn_approve, "o1", id=execution_id)
        await env.wait_for_idle()  # held: no sink yet, so no worker sends it
        racers.clock.advance_to(env.clock.now_ms())
    _, secret, released = await racers.second.add_sink(URL)
    assert released == 1

    def claim(engine: Engine, owner: str) -> Awaitable[list[Delivery]]:
        return engine.claim_deliveries(
            owner=owner, limit=10, lease_ms=LEASE // timedelta(milliseconds=1), public_base=None
        )

    racers.held.hold_next()
    first = asyncio.ensure_future(claim(racers.first, "w1"))
    await racers.wait_until_holding()
    # The row is leased but not committed: the second worker passes over it at once.
    assert await claim(racers.second, "w2") == []
    racers.held.release.set()
    (delivery,) = await first
    assert (delivery.url, delivery.secret, delivery.try_number) == (URL, secret, 1)
    # Committed: the lease keeps it from the second worker, whose record of a try is refused.
    assert await claim(racers.second, "w2") == []
    assert await racers.second.record_delivery(delivery.delivery_id, "w2", None) is None

    # The first worker dies with the lease: once it ran out, the second takes the row over.
    racers.clock.advance(LEASE)
    (again,) = await claim(racers.second, "w2")
    assert (again.delivery_id, again.body) == (delivery.delivery_id, delivery.body)
    assert await racers.first.record_delivery(delivery.delivery_id, "w1", None) is None  # too late
    assert await racers.second.record_delivery(delivery.delivery_id, "w2", None) == "delivered"
    (info,) = await racers.second.deliveries(execution_id)
    assert (info.state, info.tries) == ("delivered", 1)
