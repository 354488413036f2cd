"""Workers that share one client, at once or one after another, each get the work meant for them.

The engine pushes the work a transition creates to a worker of its process, leased to it in
the same transaction. That work must reach the worker it was leased to, and never a worker
that is stopping (which would drop it, leased, until the lease ran out). The virtual clock
never moves here: work that had to wait for a lease to run out would never come.
"""

from __future__ import annotations

import asyncio

import tether
from tests.store.test_store_contract import held_busy
from tether.testing import VirtualClock

GUARD_S = 30.0
"""How long a result may take before the test calls it lost (a hang guard, not a timing)."""

TOKENS: list[asyncio.Queue[str]] = []
"""The queue the running test hears the approval's token on (made on its event loop)."""


@tether.activity(name="share.double")
def share_double(value: int) -> int:
    return value * 2


@tether.workflow(name="share.doubling")
async def share_doubling(steps: int) -> int:
    value = 1
    for _ in range(steps):
        value = await share_double(value)
    return value


@tether.activity(name="share.approval")
async def share_approval() -> str:
    TOKENS[-1].put_nowait(tether.context().token)
    return tether.make_async()


@tether.workflow(name="share.approved")
async def share_approved() -> str:
    return f"{await share_approval()}, then {await share_double(2)}"


async def test_a_workflow_worker_and_an_activity_worker_on_one_client_take_each_step_at_once(store_url: str) -> None:
    # The activity worker records each sync step on its own thread: the workflow's next task
    # is not leased to it (it runs no workflow), nor handed to it by the other's lease.
    async with await tether.Client.connect(store_url, clock=VirtualClock()) as client:
        async with tether.Worker(client, workflows=[share_doubling]), tether.Worker(client, activities=[share_double]):
            handle = await client.start_workflow(share_doubling, 4, id="shared-steps")
            assert await asyncio.wait_for(handle.result(), GUARD_S) == 16
        history = await client.history("shared-steps")
    assert [e.type for e in history].count("ActivityCompleted") == 4


async def test_work_a_completion_creates_after_its_worker_crashed_is_left_for_the_next_worker(store_url: str) -> None:
    tokens: asyncio.Queue[str] = asyncio.Queue()
    TOKENS.append(tokens)
    async with await tether.Client.connect(store_url, clock=VirtualClock()) as client:
        first = tether.Worker(client, workflows=[share_approved], activities=[share_approval, share_double])
        await first.__aenter__()
        handle = await client.start_workflow(share_approved, id="shared-crash")
        token = await asyncio.wait_for(tokens.get(), GUARD_S)
        # The completion is submitted while the first worker runs, and commits once it crashed.
        holder, gate = await held_busy(client.engine.store)
        completing = asyncio.ensure_future(client.complete_activity(token, "approved"))
        for _ in range(20):
            await asyncio.sleep(0)  # turns of the event loop: the call queues behind the held batch
        assert not completing.done()
        await first.crash()
        gate.set()
        await holder
        assert await completing is True
        async with tether.Worker(client, workflows=[share_approved], activities=[share_approval, share_double]):
            assert await asyncio.wait_for(handle.result(), GUARD_S) == "approved, then 4"
