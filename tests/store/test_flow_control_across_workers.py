"""max_concurrent across workers on one PostgreSQL database: claimers wait for each other, the bound holds.

The race is forced into its worst order: one claimer's transition has counted, claimed and
started attempts and waits, uncommitted, holding the activity's limiter; a second claimer
on another connection must wait for it and count what it started. Then a fleet of workers,
each on its own connections, runs many attempts while each attempt's code logs its start
and end to a shared file: the overlap is measured from that log.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest

import tether
from tests.helpers.workflows import new_id
from tests.store.test_concurrent_stores import HeldStore, wait_for_lock_waits
from tether.engine.engine import Engine
from tether.model.clock import VirtualClock
from tether.store.postgres.store import PostgresStore
from tether.testing import TestEnvironment

pytestmark = pytest.mark.postgres

WAIT_S = 30.0
"""Hang guard for what the test waits on across connections (never a timing assertion)."""
LIMIT = 3
LOG: dict[str, Any] = {}


@tether.activity(max_concurrent=LIMIT)
async def fa_gated(i: int) -> int:
    log: Path = LOG["path"]
    with log.open("a") as out:
        out.write(f"start {i}\n")
    LOG["running"] += 1
    if LOG["running"] == LIMIT:
        LOG["full"].set()
    # The first attempts wait until the bound is reached once (or the hang guard passes), so
    # that "== LIMIT at some point" is measured whatever the machine's speed; later ones run free.
    await asyncio.wait_for(LOG["full"].wait(), WAIT_S)
    await asyncio.sleep(0.005)  # long enough for the others' claims to overlap it
    LOG["running"] -= 1
    with log.open("a") as out:
        out.write(f"end {i}\n")
    return i


@tether.workflow
async def fa_fan_out(n: int) -> int:
    return sum(await asyncio.gather(*(fa_gated(i) for i in range(n))))


async def test_a_claimer_that_waited_for_the_limiter_counts_what_its_holder_started(postgres_url: str) -> None:
    async with TestEnvironment(url=postgres_url, workflows=[fa_fan_out]) as env:  # no worker runs fa_gated
        await env.client.start_workflow(fa_fan_out, 5, id=new_id("fa"))
        await env.wait_for_idle()
        clock = VirtualClock(env.clock.now())
    limit = fa_gated.options.flow_limit
    assert limit is not None
    limits = {fa_gated.name: limit}
    holding = HeldStore(await PostgresStore.open(postgres_url))
    other = await PostgresStore.open(postgres_url)
    try:
        first = Engine(holding, clock)
        second = Engine(other, clock)
        holding.hold_next()
        claim_a = asyncio.ensure_future(first.claim_attempts([fa_gated.name], 2, "worker-a", limits))
        assert await asyncio.to_thread(holding.holding.wait, WAIT_S)
        claim_b = asyncio.ensure_future(second.claim_attempts([fa_gated.name], 10, "worker-b", limits))
        await wait_for_lock_waits(postgres_url, 1)
        holding.release.set()

        assert len((await claim_a).starts) == 2
        claimed_b = await claim_b
        assert len(claimed_b.starts) == LIMIT - 2  # not 3: it counted the holder's two once it held the limiter
        assert await other.read(lambda tx: tx.running_attempts(fa_gated.name)) == LIMIT
        again = await second.claim_attempts([fa_gated.name], 10, "worker-b", limits)
        assert (again.starts, again.held) == ([], frozenset({fa_gated.name}))
    finally:
        holding.release.set()
        await holding.close()
        await other.close()


def max_overlap(lines: list[str]) -> int:
    """The most attempts whose code ran at once, read from a log of starts and ends in order."""
    running, peak = 0, 0
    for line in lines:
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    return peak


async def test_a_fleet_of_workers_never_runs_more_attempts_at_once_than_max_concurrent(
    postgres_url: str, tmp_path: Path
) -> None:
    LOG.update(path=tmp_path / "attempts.log", running=0, full=asyncio.Event())
    clients = [await tether.Client.connect(postgres_url) for _ in range(3)]
    try:
        workers = [
            tether.Worker(client, workflows=[fa_fan_out], activities=[fa_gated], max_concurrent_activities=10)
            for client in clients
        ]
        async with workers[0], workers[1], workers[2]:
            handles = [await clients[i % 3].start_workflow(fa_fan_out, 12, id=new_id("fa")) for i in range(3)]
            results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), WAIT_S * 2)
    finally:
        for client in clients:
            await client.close()
    assert results == [sum(range(12))] * 3
    lines = LOG["path"].read_text().splitlines()
    assert len(lines) == 2 * 36
    assert max_overlap(lines) == LIMIT
    ran = await asyncio.to_thread(_workers_that_ran, postgres_url)
    assert len(ran) >= 2, f"one worker ran every attempt ({ran}): the fleet did not share them"


def _workers_that_ran(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT worker FROM tether.activities WHERE worker IS NOT NULL")}
