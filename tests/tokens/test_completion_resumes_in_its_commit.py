"""A completion by token resumes its workflow in the completion's own commit, and a waiting result gets it from there.

This is the path of W2b (one completion, its workflow's result awaited by a long poll): the
worker of the process leases the workflow task the completion queues and, holding the
execution in its cache, runs the step inside the same transaction; the close is handed to
the result waiter with that commit. Nothing waits for a poll, a second transaction or a
wake-up of the worker's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import tether
from tests.helpers.activity_tests import Mailbox, post_context, result_of
from tether.engine import observation
from tether.testing import TestEnvironment


@tether.activity
async def rc_remote(order: str) -> int:
    post_context()
    return tether.make_async()


@tether.workflow
async def rc_run(order: str) -> dict[str, int]:
    return {"result": await rc_remote(order)}


class _WritingTransactions:
    """Counts the writing transactions the engine runs from the event loop."""

    def __init__(self) -> None:
        self.count = 0

    def observe(self, facts: Sequence[observation.Fact], caller: str | None) -> None:
        self.count += sum(isinstance(fact, observation.StoreTransaction) for fact in facts)


async def test_completion_closes_its_waiting_workflow_in_one_transaction(transport: str) -> None:
    async with TestEnvironment(workflows=[rc_run], activities=[rc_remote]) as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rc_run, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()  # the first step ran: the worker holds the execution in its cache
        waiting = asyncio.ensure_future(result_of(handle))
        await env.engine.notifier.wait_for_result_waiters()
        writes = _WritingTransactions()
        env.engine.add_observer(writes)
        try:
            await env.client.complete_activity(ctx.token, 7)
            if transport == "embedded":
                # The close reached the waiter with the commit, before the completion's caller resumed.
                assert waiting.done()
            assert await waiting == {"result": 7}
            await env.wait_for_idle()
        finally:
            env.engine.remove_observer(writes)
        assert writes.count == 1  # the completion, the workflow's step and its close: one commit
