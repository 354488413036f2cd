"""Listing what waits for a token: client.waiting_activities, the inbox without a browser."""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, post_context, result_of
from tether.errors import UsageError
from tether.testing import TestEnvironment

BACK_OFF = timedelta(hours=1)
RETRY = tether.RetryPolicy(max_attempts=3, initial_interval=BACK_OFF, max_interval=BACK_OFF)


@tether.activity(retry=RETRY)
async def wa_approve(order: str) -> str:
    ctx = post_context()
    if order.startswith("ask"):
        ctx.inbox(f"Approve {order}", description="a person decides")
    return tether.make_async()


@tether.activity(retry=RETRY)
async def wa_ship(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow
async def wa_order(order: str) -> str:
    return await wa_approve(order)


@tether.workflow
async def wa_shipment(order: str) -> str:
    return await wa_ship(order)


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[wa_order, wa_shipment], activities=[wa_approve, wa_ship])


async def park(env: TestEnvironment, workflow: tether.Workflow[[str], str], order: str) -> tether.ActivityContext:
    """Start an execution whose activity goes async; a second of virtual time passes after it."""
    mailbox = Mailbox()
    await env.client.start_workflow(workflow, order, id=mailbox.id)
    ctx = await mailbox.context()
    await env.wait_for_idle()
    await env.advance(timedelta(seconds=1))
    return ctx


async def test_waiting_activities_are_listed_longest_waiting_first_with_their_activity_tokens() -> None:
    async with environment() as env:
        started = env.clock.now()
        first = await park(env, wa_order, "ask-1")
        second = await park(env, wa_shipment, "s-1")

        waiting = await env.client.waiting_activities()

        assert [(w.execution_id, w.workflow, w.name, w.activity_id, w.attempt) for w in waiting] == [
            (first.execution_id, wa_order.name, wa_approve.name, 1, 1),
            (second.execution_id, wa_shipment.name, wa_ship.name, 1, 1),
        ]
        assert [w.waiting_since for w in waiting] == [started, started + timedelta(seconds=1)]
        assert [w.activity_token for w in waiting] == [first.activity_token, second.activity_token]
        assert (waiting[0].inbox, waiting[0].title, waiting[0].description) == (
            True,
            "Approve ask-1",
            "a person decides",
        )
        assert (waiting[1].inbox, waiting[1].title) == (False, None)


async def test_an_activity_token_from_the_list_completes_the_activity_and_it_leaves_the_list() -> None:
    async with environment() as env:
        ctx = await park(env, wa_order, "o-1")
        (listed,) = await env.client.waiting_activities()
        assert listed.activity_token is not None

        assert await env.client.complete_activity(listed.activity_token, "approved from the list") is True

        assert await result_of(env.client.get_handle(ctx.execution_id)) == "approved from the list"
        assert await env.client.waiting_activities() == []


async def test_waiting_activities_of_one_workflow_one_activity_name_or_the_inbox() -> None:
    async with environment() as env:
        asked = await park(env, wa_order, "ask-1")
        plain = await park(env, wa_order, "o-2")
        shipping = await park(env, wa_shipment, "s-1")

        async def ids(**filters: object) -> list[str]:
            return [w.execution_id for w in await env.client.waiting_activities(**filters)]  # type: ignore[arg-type]

        assert await ids(workflow=wa_order.name) == [asked.execution_id, plain.execution_id]
        assert await ids(name=wa_ship.name) == [shipping.execution_id]
        assert await ids(inbox=True) == [asked.execution_id]
        assert await ids(workflow=wa_shipment.name, name=wa_approve.name) == []
        assert await ids(workflow="no.such.workflow") == []


async def test_waiting_activities_page_by_limit_and_offset() -> None:
    async with environment() as env:
        parked = [await park(env, wa_order, f"o-{n}") for n in range(5)]

        pages = [await env.client.waiting_activities(limit=2, offset=offset) for offset in (0, 2, 4)]

        assert [[w.execution_id for w in page] for page in pages] == [
            [parked[0].execution_id, parked[1].execution_id],
            [parked[2].execution_id, parked[3].execution_id],
            [parked[4].execution_id],
        ]


async def test_only_activities_that_wait_for_a_token_are_listed_and_a_retry_is_listed_again() -> None:
    async with environment() as env:
        ctx = await park(env, wa_order, "o-1")
        await env.client.fail_activity(ctx.token, error="Busy")  # backing off: nothing waits for a token now
        backing_off = await env.client.waiting_activities()
        await env.advance(BACK_OFF)
        await env.wait_for_idle()

        (retried,) = await env.client.waiting_activities()

        assert backing_off == []
        assert (retried.execution_id, retried.attempt) == (ctx.execution_id, 2)
        assert retried.activity_token == ctx.activity_token


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1, -1)])
async def test_a_limit_below_one_or_a_negative_offset_is_a_usage_error(limit: int, offset: int) -> None:
    async with environment() as env:
        with pytest.raises(UsageError):
            await env.client.waiting_activities(limit=limit, offset=offset)
