"""Closing an activity by token: the first close wins, a repeat is a no-op, a conflict is refused."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import (
    CLOSING_EVENTS,
    Mailbox,
    of_type,
    only_pending,
    post_context,
    result_of,
    snapshot,
)
from tether.errors import ActivityAlreadyClosed, ActivityCancelled, ActivityFailed, CancellationNotRequested, StaleToken
from tether.testing import TestEnvironment

RACERS = 12
HEARTBEAT = timedelta(seconds=10)


@tether.activity(retry=tether.RetryPolicy(max_attempts=3))
async def ic_remote(order: str) -> Any:
    post_context()
    return tether.make_async()


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=2))
async def ic_remote_heartbeated(order: str) -> Any:
    post_context()
    return tether.make_async()


@tether.workflow
async def ic_run_heartbeated(order: str) -> Any:
    return await ic_remote_heartbeated(order)


@tether.workflow
async def ic_run(order: str) -> dict[str, Any]:
    try:
        return {"result": await ic_remote(order)}
    except ActivityFailed as exc:
        return {"failed": exc.error, "message": exc.message}


@tether.workflow
async def ic_run_cancelled_after_a_second(order: str) -> str:
    handle = tether.start_activity(ic_remote, order)
    await tether.sleep(1)
    handle.cancel()
    try:
        return str(await handle)
    except ActivityCancelled as exc:
        return f"cancelled: {exc.details}"


def environment() -> TestEnvironment:
    return TestEnvironment(
        workflows=[ic_run, ic_run_heartbeated, ic_run_cancelled_after_a_second],
        activities=[ic_remote, ic_remote_heartbeated],
    )


async def cancel_requested(env: TestEnvironment) -> tuple[Mailbox, tether.WorkflowHandle[str], str]:
    """An activity waiting for its token, which its workflow has asked to stop."""
    box = Mailbox()
    handle = await env.client.start_workflow(ic_run_cancelled_after_a_second, "o1", id=box.id)
    ctx = await box.context()
    await env.wait_for_idle()
    await env.advance(timedelta(seconds=1))
    assert (await env.client.heartbeat_activity(ctx.token)).cancel_requested
    return box, handle, ctx.token


async def started(env: TestEnvironment) -> tuple[Mailbox, tether.WorkflowHandle[dict[str, Any]], str]:
    box = Mailbox()
    handle = await env.client.start_workflow(ic_run, "o1", id=box.id)
    ctx = await box.context()
    await env.wait_for_idle()
    return box, handle, ctx.token


async def test_repeated_identical_completion_is_acknowledged_without_change() -> None:
    async with environment() as env:
        box, handle, token = await started(env)
        await env.client.complete_activity(token, {"approved": True, "by": "ana"})
        assert await result_of(handle) == {"result": {"approved": True, "by": "ana"}}
        before = await snapshot(env.client, box.id)

        await env.client.complete_activity(token, {"approved": True, "by": "ana"})
        await env.client.complete_activity(token, {"by": "ana", "approved": True})

        await env.wait_for_idle()
        assert await snapshot(env.client, box.id) == before
        assert len(of_type(before[1], "ActivityCompleted")) == 1


async def test_repeated_identical_completion_before_the_workflow_ran_is_acknowledged() -> None:
    async with environment() as env:
        box, handle, token = await started(env)

        await env.client.complete_activity(token, "yes")
        await env.client.complete_activity(token, "yes")

        assert await result_of(handle) == {"result": "yes"}
        assert len(of_type(await env.client.history(box.id), "ActivityCompleted")) == 1


async def test_different_completion_after_completion_is_refused_with_the_final_state() -> None:
    async with environment() as env:
        box, handle, token = await started(env)
        await env.client.complete_activity(token, "yes")
        await result_of(handle)
        before = await snapshot(env.client, box.id)

        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.complete_activity(token, "no")

        assert refused.value.final_state == "completed"
        assert refused.value.execution_id == box.id
        assert refused.value.activity_id == 1
        assert await snapshot(env.client, box.id) == before


async def test_failure_after_completion_is_refused_with_the_final_state() -> None:
    async with environment() as env:
        box, handle, token = await started(env)
        await env.client.complete_activity(token, "yes")
        await result_of(handle)
        before = await snapshot(env.client, box.id)

        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.fail_activity(token, error="Declined", non_retryable=True)

        assert refused.value.final_state == "completed"
        assert await snapshot(env.client, box.id) == before


async def test_completion_after_a_final_failure_is_refused_with_the_final_state() -> None:
    async with environment() as env:
        box, handle, token = await started(env)
        await env.client.fail_activity(token, error="Declined", message="no", non_retryable=True)
        assert await result_of(handle) == {"failed": "Declined", "message": "no"}
        before = await snapshot(env.client, box.id)

        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.complete_activity(token, "yes after all")

        assert refused.value.final_state == "failed"
        assert await snapshot(env.client, box.id) == before


async def test_repeated_identical_final_failure_is_acknowledged_without_change() -> None:
    async with environment() as env:
        box, handle, token = await started(env)
        await env.client.fail_activity(token, error="Declined", message="no", non_retryable=True)
        await result_of(handle)
        before = await snapshot(env.client, box.id)

        await env.client.fail_activity(token, error="Declined", message="no", non_retryable=True)

        assert await snapshot(env.client, box.id) == before


async def test_completion_after_cancellation_was_acknowledged_is_refused_with_the_final_state() -> None:
    async with environment() as env:
        box, handle, token = await cancel_requested(env)
        assert await env.client.report_activity_cancelled(token) is True
        assert await result_of(handle) == "cancelled: None"
        before = await snapshot(env.client, box.id)

        assert await env.client.report_activity_cancelled(token) is False
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.complete_activity(token, "yes")

        assert refused.value.final_state == "cancelled"
        assert await snapshot(env.client, box.id) == before


async def test_cancellation_report_nobody_asked_for_is_refused_and_changes_nothing() -> None:
    async with environment() as env:
        box, handle, token = await started(env)
        before = await snapshot(env.client, box.id)

        with pytest.raises(CancellationNotRequested) as refused:
            await env.client.report_activity_cancelled(token, {"why": "felt like it"})

        assert (refused.value.execution_id, refused.value.activity_id) == (box.id, 1)
        assert await snapshot(env.client, box.id) == before
        assert await env.client.complete_activity(token, "still open") is True
        assert await result_of(handle) == {"result": "still open"}


async def test_second_cancellation_report_with_other_details_is_refused_as_already_closed() -> None:
    async with environment() as env:
        box, handle, token = await cancel_requested(env)
        assert await env.client.report_activity_cancelled(token, {"stopped_at": 3}) is True
        assert await result_of(handle) == "cancelled: {'stopped_at': 3}"
        before = await snapshot(env.client, box.id)

        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.report_activity_cancelled(token, {"stopped_at": 4})
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.report_activity_cancelled(token)

        assert refused.value.final_state == "cancelled"
        assert await env.client.report_activity_cancelled(token, {"stopped_at": 3}) is False
        assert await snapshot(env.client, box.id) == before


async def test_only_the_call_that_closed_the_activity_answers_recorded() -> None:
    async with environment() as env:
        box, _, token = await started(env)
        assert await env.client.fail_activity(token, error="Declined", message="no", non_retryable=True) is True
        for _ in range(3):
            assert await env.client.fail_activity(token, error="Declined", message="no", non_retryable=True) is False

        assert len(of_type(await env.client.history(box.id), *CLOSING_EVENTS)) == 1

        second_box, _, second = await started(env)
        assert await env.client.complete_activity(second, {"ok": 1}) is True
        assert await env.client.complete_activity(second, {"ok": 1}) is False
        assert len(of_type(await env.client.history(second_box.id), *CLOSING_EVENTS)) == 1


async def test_racing_completions_and_failures_close_the_activity_exactly_once() -> None:
    async with environment() as env:
        box, handle, token = await started(env)

        calls = []
        for n in range(RACERS):
            calls.append(env.client.complete_activity(token, f"value {n}"))
            calls.append(env.client.fail_activity(token, error="Declined", message=f"no {n}", non_retryable=True))
        outcomes = await asyncio.gather(*calls, return_exceptions=True)

        winners = [o for o in outcomes if o is True]
        losers = [o for o in outcomes if o is not True]
        assert len(winners) == 1, outcomes
        history = await env.client.history(box.id)
        (closing,) = of_type(history, *CLOSING_EVENTS)
        final_state = "completed" if closing.type == "ActivityCompleted" else "failed"
        assert all(isinstance(o, ActivityAlreadyClosed) and o.final_state == final_state for o in losers), losers
        winner = outcomes.index(True)
        outcome = await result_of(handle)
        if final_state == "completed":
            assert outcome == {"result": f"value {winner // 2}"}
        else:
            assert outcome == {"failed": "Declined", "message": f"no {winner // 2}"}


async def test_racing_identical_completions_all_succeed_and_record_one_completion() -> None:
    async with environment() as env:
        box, handle, token = await started(env)

        outcomes = await asyncio.gather(
            *(env.client.complete_activity(token, "same") for _ in range(RACERS)), return_exceptions=True
        )

        assert sorted(outcomes, key=str) == [False] * (RACERS - 1) + [True]
        assert await result_of(handle) == {"result": "same"}
        assert len(of_type(await env.client.history(box.id), *CLOSING_EVENTS)) == 1


async def test_racing_retryable_failures_end_the_attempt_once_and_the_rest_are_stale() -> None:
    async with environment() as env:
        box, _, token = await started(env)

        outcomes = await asyncio.gather(
            *(env.client.fail_activity(token, error="Transient", message=f"busy {n}") for n in range(RACERS)),
            return_exceptions=True,
        )

        assert outcomes.count(True) == 1, outcomes
        stale = [o for o in outcomes if o is not True]
        assert all(isinstance(o, StaleToken) for o in stale), stale
        history = await env.client.history(box.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert failed.data["failure"]["message"] == f"busy {outcomes.index(True)}"
        assert of_type(history, *CLOSING_EVENTS) == []


async def test_racing_heartbeats_and_a_completion_leave_one_completion(transport: str) -> None:
    async with environment() as env:
        box, handle, token = await started(env)

        calls: list[Any] = [env.client.heartbeat_activity(token, {"beat": n}) for n in range(RACERS)]
        calls.insert(RACERS // 2, env.client.complete_activity(token, "done"))
        outcomes = await asyncio.gather(*calls, return_exceptions=True)

        completed_at = RACERS // 2
        assert outcomes[completed_at] is True
        # Embedded, calls reach the store in the order they were made: those before the completion
        # land. Over HTTP each goes on a connection of its own and may reach the server after it.
        before = (
            tether.HeartbeatResponse if transport == "embedded" else tether.HeartbeatResponse | ActivityAlreadyClosed
        )
        for outcome in outcomes[:completed_at]:
            assert isinstance(outcome, before), outcome
        for outcome in outcomes[completed_at + 1 :]:
            assert isinstance(outcome, tether.HeartbeatResponse | ActivityAlreadyClosed), outcome
        assert await result_of(handle) == {"result": "done"}
        assert len(of_type(await env.client.history(box.id), *CLOSING_EVENTS)) == 1


async def test_completion_racing_the_heartbeat_timeout_has_exactly_one_outcome() -> None:
    async with environment() as env:
        box = Mailbox()
        await env.client.start_workflow(ic_run_heartbeated, "o1", id=box.id)
        ctx = await box.context()
        await env.wait_for_idle()

        outcomes = await asyncio.gather(
            env.advance(HEARTBEAT), env.client.complete_activity(ctx.token, "just in time"), return_exceptions=True
        )
        await env.wait_for_idle()

        history = await env.client.history(box.id)
        attempt_ended = [e.type for e in of_type(history, "ActivityAttemptFailed", *CLOSING_EVENTS)]
        if outcomes[1] is True:
            assert attempt_ended == ["ActivityCompleted"]
            assert (await env.client.describe(box.id)).result == "just in time"
        else:
            assert isinstance(outcomes[1], StaleToken), outcomes
            assert attempt_ended == ["ActivityAttemptFailed"]
            await env.advance(timedelta(minutes=5))  # past the retry's back-off
            assert (await box.context()).attempt == 2


async def test_repeated_identical_retryable_failure_is_acknowledged_while_waiting_for_the_retry() -> None:
    async with environment() as env:
        box, _, token = await started(env)
        await env.client.fail_activity(token, error="Transient", message="busy", details={"n": 1})
        before = await snapshot(env.client, box.id)

        await env.client.fail_activity(token, error="Transient", message="busy", details={"n": 1})

        assert await snapshot(env.client, box.id) == before
        assert len(of_type(before[1], "ActivityAttemptFailed")) == 1


async def test_repeated_identical_failure_is_acknowledged_after_the_retry_began() -> None:
    async with environment() as env:
        box, _, token = await started(env)
        await env.client.fail_activity(token, error="Transient", message="busy", details={"n": 1})
        await env.advance(timedelta(minutes=5))  # past the back-off: attempt 2 runs
        second = await box.context()
        before = await snapshot(env.client, box.id)

        await env.client.fail_activity(token, error="Transient", message="busy", details={"n": 1})
        with pytest.raises(StaleToken):
            await env.client.fail_activity(token, error="Transient", message="something else")

        assert second.attempt == 2
        assert await snapshot(env.client, box.id) == before
        assert only_pending(before[0]).attempt == 2


async def test_different_failure_of_an_attempt_that_already_failed_is_refused_as_stale() -> None:
    async with environment() as env:
        box, _, token = await started(env)
        await env.client.fail_activity(token, error="Transient", message="busy")
        before = await snapshot(env.client, box.id)

        with pytest.raises(StaleToken):
            await env.client.fail_activity(token, error="Transient", message="something else")

        assert await snapshot(env.client, box.id) == before
