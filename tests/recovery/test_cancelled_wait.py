"""A task that waits for a workflow's result is cancelled when cancelled, even as the workflow closes."""

from __future__ import annotations

import asyncio

import tether
from tests.helpers.workflows import TOKENS, new_id
from tether.testing import TestEnvironment


@tether.activity(name="cw.approval")
async def cw_approval() -> str:
    ctx = tether.context()
    TOKENS.put(ctx.execution_id, ctx.token)
    return tether.make_async()


@tether.workflow(name="cw.approved")
async def cw_approved() -> str:
    return await cw_approval()


async def test_cancelling_a_result_wait_as_the_workflow_completes_cancels_it() -> None:
    # The embedded client: its wait hears of the close in the commit's wake-up of the event loop.
    async with TestEnvironment(workflows=[cw_approved], activities=[cw_approval], transport="embedded") as env:
        handle = await env.client.start_workflow(cw_approved, id=new_id("cw"))
        token = await TOKENS.get(handle.id)
        await env.wait_for_idle()
        waiting = asyncio.ensure_future(handle.result(timeout=60))
        await env.engine.notifier.wait_for_result_waiters()  # the wait has begun

        # The completion runs the workflow's last step in its own transaction, so the result
        # wait is woken by the same commit as this call, and is cancelled in the same turns.
        await env.client.complete_activity(token, "ana")
        accepted = waiting.cancel()
        try:
            outcome = await waiting
        except asyncio.CancelledError:
            outcome = "cancelled"

        # A cancellation the task accepted is honoured; one that came after the result is refused.
        assert (accepted, outcome) in {(True, "cancelled"), (False, "ana")}
        assert await handle.result() == "ana"
