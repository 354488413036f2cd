"""The tutorial's tests: the manager's decision, and a claim nobody decides, on the virtual clock."""

from datetime import timedelta

import pytest

import tether
from examples.approval.expenses import Decision, ask_manager, expense, pay
from tether.testing import TestEnvironment

# --8<-- [start:tests]


async def test_an_approved_claim_is_paid() -> None:
    async with TestEnvironment(workflows=[expense], activities=[ask_manager, pay]) as env:
        handle = await env.client.start_workflow(expense, "ana", 120, id="claim-1")
        await env.wait_for_idle()  # the worker ran the workflow up to the manager's decision

        [waiting] = await env.client.waiting_activities(inbox=True)
        assert waiting.title == "Approve 120 EUR for ana?"
        assert waiting.activity_token is not None  # None only for an API key that may not close it
        await env.client.complete_activity(waiting.activity_token, Decision(approved=True, by="bo"))

        assert await handle.result() == "paid 120 EUR to ana"


async def test_a_refused_claim_says_why() -> None:
    async with TestEnvironment(workflows=[expense], activities=[ask_manager, pay]) as env:
        handle = await env.client.start_workflow(expense, "ana", 9000)
        await env.wait_for_idle()

        [waiting] = await env.client.waiting_activities()
        assert waiting.activity_token is not None
        await env.client.complete_activity(waiting.activity_token, Decision(approved=False, by="bo", note="too much"))

        assert await handle.result() == "refused by bo: too much"


async def test_a_claim_nobody_decides_fails_after_seven_days() -> None:
    async with TestEnvironment(workflows=[expense], activities=[ask_manager, pay]) as env:
        handle = await env.client.start_workflow(expense, "ana", 120)

        with pytest.raises(tether.errors.WorkflowFailed) as failed:
            await handle.result()  # the week passes in milliseconds: the clock skips to each deadline

        assert failed.value.error == "ActivityTimeout"
        assert env.clock.now() - (await handle.describe()).started_at >= timedelta(days=7)


# --8<-- [end:tests]
