"""Activities that decide at run time to finish later, completed or failed by token."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any

import pydantic
import pytest

import tether
from tests.helpers.activity_tests import Mailbox, box, of_type, only_pending, post, post_context, result_of, snapshot
from tether.errors import ActivityFailed, InvalidPayload
from tether.testing import TestEnvironment


class Approval(pydantic.BaseModel):
    by: str
    amount: int


class Booking(pydantic.BaseModel):
    guest: str
    day: date
    arrives: datetime
    reference: uuid.UUID


VALID_BOOKING = {
    "guest": "ana",
    "day": "2026-03-01",
    "arrives": "2026-03-01T15:00:00Z",
    "reference": "0b6f3b38-4c1f-4d6e-9a39-0e0b5b0d6a11",
}


@tether.activity
async def ac_decide(mode: str) -> str:
    if mode == "now":
        return "done now"
    post_context()
    return tether.make_async()


@tether.activity
def ac_decide_in_thread(mode: str) -> str:
    if mode == "now":
        return "done now in a thread"
    post_context()
    return tether.make_async()


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def ac_approval(order: str) -> Approval:
    post_context()
    return tether.make_async()


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def ac_booking(guest: str) -> Booking:
    post_context()
    return tether.make_async()


@tether.activity
async def ac_held_open(job: str) -> str:
    post_context()
    await box().wait_for_gate()
    post("returning")
    return "value returned in process"


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def ac_unserialisable(order: str) -> Any:
    return object()


@tether.activity(retry=tether.RetryPolicy(max_attempts=3))
async def ac_wrong_type_returned(order: str) -> int:
    return "not a number"  # type: ignore[return-value]  # the worker must refuse what the annotation forbids


@tether.workflow
async def ac_now_then_later() -> list[str]:
    first = await ac_decide("now")
    second = await ac_decide("later")
    return [first, second]


@tether.workflow
async def ac_now_then_later_in_thread() -> list[str]:
    first = await ac_decide_in_thread("now")
    second = await ac_decide_in_thread("later")
    return [first, second]


@tether.workflow
async def ac_one_later() -> str:
    return await ac_decide("later")


@tether.workflow
async def ac_two_later() -> list[str]:
    return list(await asyncio.gather(ac_decide("later"), ac_decide("later")))


@tether.workflow
async def ac_failure_seen() -> dict[str, Any]:
    try:
        await ac_decide("later")
    except ActivityFailed as exc:
        return {
            "type": type(exc).__name__,
            "error": exc.error,
            "message": exc.message,
            "details": exc.details,
            "attempt": exc.attempt,
        }
    return {}


@tether.workflow
async def ac_approve(order: str) -> str:
    approval = await ac_approval(order)
    assert isinstance(approval, Approval)
    return f"{type(approval).__name__} by {approval.by} for {approval.amount}"


@tether.workflow
async def ac_book(guest: str) -> str:
    booking = await ac_booking(guest)
    return f"{booking.guest} on {booking.day.isoformat()} at {booking.arrives.hour}h, {booking.reference}"


@tether.workflow
async def ac_hold_open() -> str:
    return await ac_held_open("job")


@tether.workflow
async def ac_returns_unserialisable() -> dict[str, Any]:
    try:
        await ac_unserialisable("o1")
    except ActivityFailed as exc:
        return {"error": exc.error, "attempt": exc.attempt}
    return {}


@tether.workflow
async def ac_returns_wrong_type() -> dict[str, Any]:
    try:
        await ac_wrong_type_returned("o1")
    except ActivityFailed as exc:
        return {"error": exc.error, "attempt": exc.attempt}
    return {}


WORKFLOWS: list[tether.Workflow[..., Any]] = [
    ac_now_then_later,
    ac_now_then_later_in_thread,
    ac_one_later,
    ac_two_later,
    ac_failure_seen,
    ac_approve,
    ac_returns_unserialisable,
    ac_returns_wrong_type,
    ac_book,
    ac_hold_open,
]
ACTIVITIES: list[tether.Activity[..., Any]] = [
    ac_decide,
    ac_decide_in_thread,
    ac_approval,
    ac_unserialisable,
    ac_wrong_type_returned,
    ac_booking,
    ac_held_open,
]


def environment(**options: Any) -> TestEnvironment:
    return TestEnvironment(workflows=WORKFLOWS, activities=ACTIVITIES, **options)


async def test_same_activity_returns_now_on_one_call_and_goes_async_on_another() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_now_then_later, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        pending = only_pending(await env.client.describe(box.id))
        assert (pending.activity_id, pending.state) == (2, tether.ActivityState.ASYNC)
        await env.client.complete_activity(ctx.token, "done later")

        assert await result_of(handle) == ["done now", "done later"]
        history = await env.client.history(box.id)
        assert [e.data["activity_id"] for e in of_type(history, "ActivityWentAsync")] == [2]
        assert [e.data["activity_id"] for e in of_type(history, "ActivityCompleted")] == [1, 2]


async def test_sync_activity_goes_async_from_its_thread_on_one_call_only() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_now_then_later_in_thread, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        await env.client.complete_activity(ctx.token, "done later in a thread")

        assert await result_of(handle) == ["done now in a thread", "done later in a thread"]
        history = await env.client.history(box.id)
        assert [e.data["activity_id"] for e in of_type(history, "ActivityWentAsync")] == [2]


async def test_async_activity_is_completed_by_token_from_another_task() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_one_later, id=box.id)
        ctx = await box.context()

        async def approver() -> None:
            await env.client.complete_activity(ctx.token, "approved elsewhere")

        async with asyncio.TaskGroup() as group:
            group.create_task(approver())

        assert await result_of(handle) == "approved elsewhere"


async def test_async_activity_is_completed_by_token_from_another_client_on_the_same_store() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_one_later, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        async with await tether.Client.connect(env.url, clock=env.clock) as other:
            await other.complete_activity(ctx.token, "approved by another client")
            assert await asyncio.wait_for(handle.result(), 10) == "approved by another client"


async def test_async_activity_failed_by_token_gives_the_workflow_the_failure() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_failure_seen, id=box.id)
        ctx = await box.context()

        await env.client.fail_activity(
            ctx.token, error="Declined", message="the manager said no", details={"by": "ana"}, non_retryable=True
        )

        assert await result_of(handle) == {
            "type": "ActivityFailed",
            "error": "Declined",
            "message": "the manager said no",
            "details": {"by": "ana"},
            "attempt": 1,
        }
        history = await env.client.history(box.id)
        assert len(of_type(history, "ActivityAttemptStarted")) == 1
        (failed,) = of_type(history, "ActivityFailed")
        assert failed.data["failure"]["error"] == "Declined"


async def test_async_attempts_free_their_worker_slot_at_once() -> None:
    async with environment(max_concurrent_activities=1) as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_two_later, id=box.id)
        first = await box.context()
        second = await box.context()
        await env.wait_for_idle()

        states = [(a.activity_id, a.state) for a in (await env.client.describe(box.id)).pending_activities]
        assert sorted(states) == [(1, tether.ActivityState.ASYNC), (2, tether.ActivityState.ASYNC)]
        assert first.token != second.token
        by_id = {first.activity_id: first, second.activity_id: second}
        await env.client.complete_activity(by_id[2].token, "second")
        await env.client.complete_activity(by_id[1].token, "first")

        assert await result_of(handle) == ["first", "second"]


async def test_result_by_token_reaches_the_workflow_as_the_declared_pydantic_model() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_approve, "o1", id=box.id)
        ctx = await box.context()

        await env.client.complete_activity(ctx.token, Approval(by="ana", amount=3))

        assert await result_of(handle) == "Approval by ana for 3"
        (completed,) = of_type(await env.client.history(box.id), "ActivityCompleted")
        assert completed.data["result"] == {"by": "ana", "amount": 3}


async def test_plain_json_result_by_token_is_validated_into_the_declared_model() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_approve, "o1", id=box.id)
        ctx = await box.context()

        await env.client.complete_activity(ctx.token, {"by": "bo", "amount": 7})

        assert await result_of(handle) == "Approval by bo for 7"


async def test_wrong_typed_result_by_token_is_refused_naming_the_field_and_changes_nothing() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ac_approve, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidPayload) as refused:
            await env.client.complete_activity(ctx.token, {"by": "ana", "amount": "lots"})

        assert "amount" in str(refused.value)
        assert any("amount" in error["loc"] for error in refused.value.errors)
        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before
        assert only_pending(before[0]).state == tether.ActivityState.ASYNC

        await env.client.complete_activity(ctx.token, {"by": "ana", "amount": 4})
        assert await result_of(handle) == "Approval by ana for 4"


async def test_result_by_token_missing_a_field_is_refused_and_changes_nothing() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(ac_approve, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidPayload) as refused:
            await env.client.complete_activity(ctx.token, {"by": "ana"})

        assert "amount" in str(refused.value)
        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before


async def test_unserialisable_result_by_token_is_refused_and_changes_nothing() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(ac_one_later, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidPayload):
            await env.client.complete_activity(ctx.token, object())

        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before


async def test_unserialisable_details_of_a_failure_by_token_are_refused_and_change_nothing() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(ac_one_later, id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidPayload):
            await env.client.fail_activity(ctx.token, error="Declined", details={"when": object()})

        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before


async def test_unserialisable_result_returned_in_process_fails_the_activity_without_retry() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(ac_returns_unserialisable)

        assert await result_of(handle) == {"error": "InvalidPayload", "attempt": 1}


async def test_result_of_the_wrong_type_returned_in_process_fails_the_activity_without_retry() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(ac_returns_wrong_type)

        assert await result_of(handle) == {"error": "InvalidPayload", "attempt": 1}
        history = await env.client.history(handle.id)
        assert len(of_type(history, "ActivityAttemptStarted")) == 1


async def test_result_by_token_with_date_time_and_uuid_fields_reaches_the_workflow_typed() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(ac_book, "ana", id=mailbox.id)
        ctx = await mailbox.context()

        await env.client.complete_activity(ctx.token, VALID_BOOKING)

        assert await result_of(handle) == f"ana on 2026-03-01 at 15h, {VALID_BOOKING['reference']}"


@pytest.mark.parametrize(
    ("field", "value"),
    [("day", "some day in March"), ("arrives", "after lunch"), ("reference", "not-a-uuid"), ("guest", 42)],
)
async def test_result_by_token_with_an_invalid_field_is_refused_naming_it_and_changes_nothing(
    field: str, value: Any
) -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(ac_book, "ana", id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(InvalidPayload) as refused:
            await env.client.complete_activity(ctx.token, {**VALID_BOOKING, field: value})

        assert field in str(refused.value)
        await env.wait_for_idle()
        assert await snapshot(env.client, mailbox.id) == before
        await env.client.complete_activity(ctx.token, VALID_BOOKING)
        assert (await result_of(handle)).startswith("ana on 2026-03-01")


async def test_failure_by_token_without_an_error_name_is_refused_and_changes_nothing() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        await env.client.start_workflow(ac_one_later, id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(InvalidPayload):
            await env.client.fail_activity(ctx.token, error="", message="no reason given")

        assert await snapshot(env.client, mailbox.id) == before


async def test_completion_by_token_while_the_attempt_still_runs_wins_over_its_late_return() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(ac_hold_open, id=mailbox.id)
        ctx = await mailbox.context()

        await env.client.complete_activity(ctx.token, "value given by token")
        assert await result_of(handle) == "value given by token"
        mailbox.open_gate()
        assert await mailbox.get() == "returning"
        await env.wait_for_idle()

        history = await env.client.history(mailbox.id)
        (completed,) = of_type(history, "ActivityCompleted")
        assert completed.data["result"] == "value given by token"
        assert [e.type for e in history][-1] == "WorkflowCompleted"
