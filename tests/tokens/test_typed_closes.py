"""Closing with ``activity=``: the token must be of that activity, and values must match its declared types."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pydantic
import pytest

import tether
from tests.helpers.activity_tests import Mailbox, only_pending, post_context, result_of, snapshot
from tether.errors import InvalidPayload, UsageError, WrongActivity
from tether.testing import TestEnvironment


class Approval(pydantic.BaseModel):
    by: str
    amount: int


class Progress(pydantic.BaseModel):
    reviewed: int


@tether.activity(heartbeat=timedelta(minutes=5), checkpoint=Progress)
async def tc_approval(order: str) -> Approval:
    post_context()
    return tether.make_async()


@tether.activity
async def tc_note(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow
async def tc_approve(order: str) -> str:
    approval = await tc_approval(order)
    return f"{order} approved by {approval.by} for {approval.amount}"


@tether.workflow
async def tc_take_note(order: str) -> str:
    return await tc_note(order)


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[tc_approve, tc_take_note], activities=[tc_approval, tc_note])


async def waiting(
    env: TestEnvironment, workflow: Any
) -> tuple[Mailbox, tether.WorkflowHandle[str], tether.ActivityContext]:
    mailbox = Mailbox()
    handle = await env.client.start_workflow(workflow, "o1", id=mailbox.id)
    ctx = await mailbox.context()
    await env.wait_for_idle()
    return mailbox, handle, ctx


KINDS = ["token", "activity_token"]


@pytest.mark.parametrize("kind", KINDS)
async def test_typed_completion_of_the_activity_the_token_names_completes_it(kind: str) -> None:
    async with environment() as env:
        _, handle, ctx = await waiting(env, tc_approve)

        assert await env.client.complete_activity(
            getattr(ctx, kind), Approval(by="ana", amount=3), activity=tc_approval
        )

        assert await result_of(handle) == "o1 approved by ana for 3"


@pytest.mark.parametrize("by", ["activity", "name"])
@pytest.mark.parametrize("kind", KINDS)
async def test_completion_with_a_token_of_another_activity_is_refused_and_changes_nothing(kind: str, by: str) -> None:
    async with environment() as env:
        mailbox, handle, ctx = await waiting(env, tc_take_note)
        before = await snapshot(env.client, mailbox.id)
        token = getattr(ctx, kind)

        completion = (
            env.client.complete_activity(token, Approval(by="ana", amount=3), activity=tc_approval)
            if by == "activity"
            else env.client.complete_activity(token, {"by": "ana", "amount": 3}, activity=tc_approval.name)
        )

        with pytest.raises(WrongActivity) as refused:
            await completion

        assert (refused.value.expected, refused.value.actual) == (tc_approval.name, tc_note.name)
        assert (refused.value.execution_id, refused.value.activity_id) == (mailbox.id, 1)
        assert await snapshot(env.client, mailbox.id) == before
        assert await env.client.complete_activity(token, "noted", activity=tc_note) is True
        assert await result_of(handle) == "noted"


@pytest.mark.parametrize("kind", KINDS)
async def test_heartbeat_with_a_token_of_another_activity_is_refused_and_changes_nothing(kind: str) -> None:
    async with environment() as env:
        mailbox, _, ctx = await waiting(env, tc_take_note)
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(WrongActivity):
            await env.client.heartbeat_activity(getattr(ctx, kind), Progress(reviewed=1), activity=tc_approval)

        assert await snapshot(env.client, mailbox.id) == before


@pytest.mark.parametrize(
    "result",
    [{"by": "ana"}, {"by": "ana", "amount": "lots"}, "approved", None],
    ids=["missing", "wrong", "str", "none"],
)
async def test_result_not_of_the_declared_type_is_refused_at_the_call_before_the_token_is_looked_at(
    result: Any,
) -> None:
    async with environment() as env:
        mailbox, _, ctx = await waiting(env, tc_approve)
        _, _, other = await waiting(env, tc_take_note)
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(InvalidPayload) as refused:
            await env.client.complete_activity(ctx.token, result, activity=tc_approval)
        with pytest.raises(
            InvalidPayload
        ):  # checked here, before the server could say the token is of another activity
            await env.client.complete_activity(other.token, result, activity=tc_approval)

        assert tc_approval.name in refused.value.message
        assert await snapshot(env.client, mailbox.id) == before


@pytest.mark.parametrize("kind", KINDS)
async def test_heartbeat_details_of_the_declared_checkpoint_type_are_recorded(kind: str) -> None:
    async with environment() as env:
        mailbox, _, ctx = await waiting(env, tc_approve)

        reply = await env.client.heartbeat_activity(getattr(ctx, kind), Progress(reviewed=2), activity=tc_approval)

        assert reply.cancel_requested is False
        assert only_pending(await env.client.describe(mailbox.id)).heartbeat_details == {"reviewed": 2}


@pytest.mark.parametrize("details", [{"reviewed": "two"}, {"done": 2}, "half way"], ids=["wrong", "missing", "str"])
async def test_heartbeat_details_not_of_the_declared_checkpoint_type_are_refused_and_change_nothing(
    details: Any,
) -> None:
    async with environment() as env:
        mailbox, _, ctx = await waiting(env, tc_approve)
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(InvalidPayload) as refused:
            await env.client.heartbeat_activity(ctx.activity_token, details, activity=tc_approval)

        assert "heartbeat details" in refused.value.message
        assert await snapshot(env.client, mailbox.id) == before


async def test_activity_that_is_neither_an_activity_nor_a_name_is_a_usage_error() -> None:
    async with environment() as env:
        mailbox, _, ctx = await waiting(env, tc_take_note)
        before = await snapshot(env.client, mailbox.id)

        given: Any
        for given in (42, "", tc_take_note):
            with pytest.raises(UsageError):
                await env.client.complete_activity(ctx.token, "noted", activity=given)
            with pytest.raises(UsageError):
                await env.client.heartbeat_activity(ctx.token, activity=given)

        assert await snapshot(env.client, mailbox.id) == before


class NotAModel:
    """A class pydantic has no way to validate."""


def test_a_checkpoint_type_pydantic_cannot_validate_is_refused_when_declared() -> None:
    with pytest.raises(UsageError):

        @tether.activity(checkpoint=NotAModel)
        async def tc_bad_checkpoint(order: str) -> str:
            return order
