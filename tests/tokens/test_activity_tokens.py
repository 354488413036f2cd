"""Activity tokens: they name the activity, not one attempt, and act on whichever attempt is current."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import (
    CLOSING_EVENTS,
    Mailbox,
    box,
    of_type,
    only_pending,
    post,
    post_context,
    result_of,
    snapshot,
)
from tests.tokens.test_token_refusals import tr_remote, tr_run_cancelled_after_a_second
from tether.errors import ActivityAlreadyClosed, ActivityFailed, NoAttemptOpen, StaleToken
from tether.testing import TestEnvironment

HEARTBEAT = timedelta(seconds=10)
BACK_OFF = timedelta(hours=1)
RETRY = tether.RetryPolicy(max_attempts=3, initial_interval=BACK_OFF, max_interval=BACK_OFF, non_retryable=["Fraud"])


@tether.activity(heartbeat=HEARTBEAT, retry=RETRY)
async def at_remote(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(heartbeat=HEARTBEAT, retry=RETRY)
async def at_in_process(order: str) -> str:
    post_context()
    await box().wait_for_gate()
    try:
        await tether.heartbeat("after the gate")
    except ActivityAlreadyClosed as closed:
        post(closed)
        raise
    return "returned in process"


@tether.workflow
async def at_run(order: str) -> str:
    try:
        return await at_remote(order)
    except ActivityFailed as exc:
        return f"failed: {exc.error} on attempt {exc.attempt}"


@tether.workflow
async def at_run_in_process(order: str) -> str:
    return await at_in_process(order)


def environment() -> TestEnvironment:
    return TestEnvironment(
        workflows=[at_run, at_run_in_process, tr_run_cancelled_after_a_second],
        activities=[at_remote, at_in_process, tr_remote],
    )


async def started(env: TestEnvironment) -> tuple[Mailbox, tether.WorkflowHandle[str], tether.ActivityContext]:
    mailbox = Mailbox()
    handle = await env.client.start_workflow(at_run, "o1", id=mailbox.id)
    ctx = await mailbox.context()
    await env.wait_for_idle()
    return mailbox, handle, ctx


async def backing_off(env: TestEnvironment) -> tuple[Mailbox, tether.WorkflowHandle[str], tether.ActivityContext]:
    """An activity whose first attempt failed (by its token): it waits an hour for its retry."""
    mailbox, handle, ctx = await started(env)
    await env.client.fail_activity(ctx.token, error="Transient", message="busy")
    await env.wait_for_idle()
    pending = only_pending(await env.client.describe(mailbox.id))
    assert (pending.state, set(pending.deadlines)) == (tether.ActivityState.BACKOFF, {"retry"})
    return mailbox, handle, ctx


async def test_each_attempt_gets_its_own_token_and_the_same_activity_token() -> None:
    async with environment() as env:
        mailbox, _, first = await started(env)
        await env.advance(HEARTBEAT)
        await env.advance(BACK_OFF)
        second = await mailbox.context()

        assert (first.attempt, second.attempt) == (1, 2)
        assert first.token != second.token
        assert first.activity_token == second.activity_token
        assert first.activity_token not in (first.token, second.token)
        assert set(first.activity_token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
        assert mailbox.id not in first.activity_token


async def test_activity_token_completes_attempt_2_after_attempt_1_timed_out() -> None:
    async with environment() as env:
        mailbox, handle, first = await started(env)
        await env.advance(HEARTBEAT)  # attempt 1 misses its heartbeat
        await env.advance(BACK_OFF)
        second = await mailbox.context()
        await env.wait_for_idle()
        assert second.attempt == 2

        assert await env.client.complete_activity(first.activity_token, "approved by mail") is True

        assert await result_of(handle) == "approved by mail"
        history = await env.client.history(mailbox.id)
        (completed,) = of_type(history, *CLOSING_EVENTS)
        assert (completed.type, completed.data["attempt"]) == ("ActivityCompleted", 2)
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.complete_activity(second.token, "another answer")


async def test_activity_token_completes_during_back_off_and_the_retry_never_starts() -> None:
    async with environment() as env:
        mailbox, handle, ctx = await backing_off(env)

        assert await env.client.complete_activity(ctx.activity_token, "approved meanwhile") is True

        assert await result_of(handle) == "approved meanwhile"
        assert await env.engine.store.read(lambda tx: tx.timers_of(mailbox.id)) == []
        await env.advance(BACK_OFF * 2)  # past the retry that was due
        history = await env.client.history(mailbox.id)
        assert [e.data["attempt"] for e in of_type(history, "ActivityAttemptStarted")] == [1]
        assert [e.type for e in of_type(history, "ActivityAttemptFailed", *CLOSING_EVENTS)] == [
            "ActivityAttemptFailed",
            "ActivityCompleted",
        ]
        assert mailbox.empty()  # no attempt 2 ran


async def test_activity_token_completes_an_attempt_queued_that_no_worker_started() -> None:
    async with environment() as env:
        mailbox, handle, ctx = await backing_off(env)
        await env.restart(activities=[])  # no worker runs the activity any more
        await env.advance(BACK_OFF)
        pending = only_pending(await env.client.describe(mailbox.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.SCHEDULED, 2)

        assert await env.client.complete_activity(ctx.activity_token, "approved meanwhile") is True

        assert await result_of(handle) == "approved meanwhile"
        await env.restart(activities=[at_remote])
        await env.wait_for_idle()
        assert mailbox.empty()  # the queued attempt went with the close
        history = await env.client.history(mailbox.id)
        assert [e.data["attempt"] for e in of_type(history, "ActivityAttemptStarted")] == [1]


@pytest.mark.parametrize("state", ["backoff", "scheduled"])
async def test_heartbeat_by_activity_token_with_no_attempt_open_is_refused_and_changes_nothing(state: str) -> None:
    async with environment() as env:
        mailbox, handle, ctx = await backing_off(env)
        if state == "scheduled":
            await env.restart(activities=[])
            await env.advance(BACK_OFF)
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(NoAttemptOpen) as refused:
            await env.client.heartbeat_activity(ctx.activity_token, {"page": 3})
        with pytest.raises(NoAttemptOpen):
            await env.client.report_activity_cancelled(ctx.activity_token)

        assert (refused.value.state, refused.value.next_attempt) == (state, 2)
        assert (refused.value.execution_id, refused.value.activity_id) == (mailbox.id, 1)
        assert await snapshot(env.client, mailbox.id) == before
        assert await env.client.complete_activity(ctx.activity_token, "still completes") is True
        assert await result_of(handle) == "still completes"


async def test_heartbeat_by_activity_token_reaches_the_current_attempt() -> None:
    async with environment() as env:
        mailbox, _, first = await started(env)
        await env.advance(HEARTBEAT)
        await env.advance(BACK_OFF)
        second = await mailbox.context()
        await env.wait_for_idle()

        reply = await env.client.heartbeat_activity(first.activity_token, {"page": 4})

        assert reply.cancel_requested is False
        assert reply.next_heartbeat_due == env.clock.now() + HEARTBEAT
        pending = only_pending(await env.client.describe(mailbox.id))
        assert (pending.attempt, pending.heartbeat_details, pending.last_heartbeat_at) == (
            2,
            {"page": 4},
            env.clock.now(),
        )
        with pytest.raises(StaleToken):
            await env.client.heartbeat_activity(first.token)
        assert second.attempt == 2


@pytest.mark.parametrize("call", ["heartbeat", "complete"])
async def test_a_call_by_activity_token_after_a_deadline_no_timer_applied_applies_it_first(call: str) -> None:
    async with environment() as env:
        mailbox, handle, ctx = await started(env)
        await env.worker.crash()  # no timer fires from now on: only the late call can notice the deadline
        missed = env.clock.now() + HEARTBEAT
        env.clock.advance(HEARTBEAT + timedelta(seconds=5))

        if call == "heartbeat":
            with pytest.raises(NoAttemptOpen) as refused:
                await env.client.heartbeat_activity(ctx.activity_token, {"page": 2})
            assert (refused.value.state, refused.value.next_attempt) == ("backoff", 2)
        else:
            assert await env.client.complete_activity(ctx.activity_token, "in the back-off") is True

        history = await env.client.history(mailbox.id)
        (failed,) = of_type(history, "ActivityAttemptFailed")
        assert (failed.at, failed.data["failure"]["kind"]) == (missed, "heartbeat")  # applied at its own time
        assert of_type(history, "ActivityHeartbeat") == []
        if call == "complete":
            assert [e.type for e in history[-2:]] == ["ActivityAttemptFailed", "ActivityCompleted"]
            assert await env.engine.store.read(lambda tx: tx.timers_of(mailbox.id)) == []
            await env.restart()
            assert await result_of(handle) == "in the back-off"


async def test_retryable_failure_by_activity_token_fails_the_current_attempt_and_it_is_retried() -> None:
    async with environment() as env:
        mailbox, _, ctx = await started(env)

        assert await env.client.fail_activity(ctx.activity_token, error="Transient", message="busy") is True

        pending = only_pending(await env.client.describe(mailbox.id))
        assert (pending.state, pending.attempt) == (tether.ActivityState.BACKOFF, 1)
        await env.advance(BACK_OFF)
        assert (await mailbox.context()).attempt == 2


@pytest.mark.parametrize("how", ["non_retryable", "error the policy never retries"])
async def test_final_failure_by_activity_token_during_back_off_fails_the_activity_for_good(how: str) -> None:
    async with environment() as env:
        mailbox, handle, ctx = await backing_off(env)
        error = "Declined" if how == "non_retryable" else "Fraud"

        recorded = await env.client.fail_activity(
            ctx.activity_token, error=error, message="no", non_retryable=how == "non_retryable"
        )

        assert recorded is True
        assert await result_of(handle) == f"failed: {error} on attempt 1"
        assert await env.engine.store.read(lambda tx: tx.timers_of(mailbox.id)) == []
        await env.advance(BACK_OFF * 2)
        assert mailbox.empty()
        closing = of_type(await env.client.history(mailbox.id), *CLOSING_EVENTS)
        assert [(e.type, e.data["failure"]["error"]) for e in closing] == [("ActivityFailed", error)]


async def test_retryable_failure_by_activity_token_during_back_off_is_refused_and_changes_nothing() -> None:
    async with environment() as env:
        mailbox, _, ctx = await backing_off(env)
        before = await snapshot(env.client, mailbox.id)

        with pytest.raises(NoAttemptOpen) as refused:
            await env.client.fail_activity(ctx.activity_token, error="Transient", message="still busy")

        assert (refused.value.state, refused.value.next_attempt) == ("backoff", 2)
        assert await snapshot(env.client, mailbox.id) == before
        await env.advance(BACK_OFF)
        assert (await mailbox.context()).attempt == 2


async def test_in_process_attempt_completed_by_activity_token_sees_its_activity_closed() -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(at_run_in_process, "o1", id=mailbox.id)
        ctx = await mailbox.context()

        assert await env.client.complete_activity(ctx.activity_token, "given by token") is True
        assert await result_of(handle) == "given by token"
        mailbox.open_gate()

        closed = await mailbox.get()
        assert isinstance(closed, ActivityAlreadyClosed)
        assert closed.final_state == "completed"
        await env.wait_for_idle()
        (completed,) = of_type(await env.client.history(mailbox.id), *CLOSING_EVENTS)
        assert completed.data["result"] == "given by token"


async def test_describe_by_activity_token_names_no_attempt_and_says_whether_one_is_open() -> None:
    async with environment() as env:
        mailbox, _, ctx = await started(env)
        waiting = await env.client.describe_activity(ctx.activity_token)
        await env.client.fail_activity(ctx.token, error="Transient")
        backing = await env.client.describe_activity(ctx.activity_token)

        assert (waiting.token_attempt, waiting.attempt, waiting.current) == (None, 1, True)
        assert (waiting.execution_id, waiting.activity_id, waiting.name) == (mailbox.id, 1, at_remote.name)
        assert (backing.state, backing.token_attempt, backing.attempt, backing.current) == (
            tether.ActivityState.BACKOFF,
            None,
            2,
            False,
        )
        assert set(backing.deadlines) == {"retry"}
        by_attempt_token = await env.client.describe_activity(ctx.token)
        assert (by_attempt_token.token_attempt, by_attempt_token.current) == (1, False)


# The same call repeated is acknowledged, whichever kind of token each used.

KINDS = ["token", "activity_token"]


def token_of(ctx: tether.ActivityContext, kind: str) -> str:
    return str(getattr(ctx, kind))


@pytest.mark.parametrize("second", KINDS)
@pytest.mark.parametrize("first", KINDS)
async def test_repeated_completion_is_acknowledged_across_token_kinds(first: str, second: str) -> None:
    async with environment() as env:
        mailbox, handle, ctx = await started(env)
        assert await env.client.complete_activity(token_of(ctx, first), "by ana") is True
        assert await result_of(handle) == "by ana"
        before = await snapshot(env.client, mailbox.id)

        assert await env.client.complete_activity(token_of(ctx, second), "by ana") is False
        with pytest.raises(ActivityAlreadyClosed) as refused:
            await env.client.complete_activity(token_of(ctx, second), "by bo")
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.fail_activity(token_of(ctx, second), error="Declined", non_retryable=True)

        assert refused.value.final_state == "completed"
        assert await snapshot(env.client, mailbox.id) == before


@pytest.mark.parametrize("second", KINDS)
@pytest.mark.parametrize("first", KINDS)
@pytest.mark.parametrize("final", [True, False], ids=["final", "retried"])
async def test_repeated_failure_is_acknowledged_across_token_kinds(first: str, second: str, final: bool) -> None:
    async with environment() as env:
        mailbox, handle, ctx = await started(env)
        assert await env.client.fail_activity(token_of(ctx, first), error="Declined", non_retryable=final) is True
        if final:
            assert await result_of(handle) == "failed: Declined on attempt 1"
        else:
            await env.wait_for_idle()
        before = await snapshot(env.client, mailbox.id)

        assert await env.client.fail_activity(token_of(ctx, second), error="Declined", non_retryable=final) is False

        assert await snapshot(env.client, mailbox.id) == before
        assert len(of_type(before[1], "ActivityAttemptFailed", *CLOSING_EVENTS)) == 1


@pytest.mark.parametrize("second", KINDS)
@pytest.mark.parametrize("first", KINDS)
async def test_repeated_cancellation_report_is_acknowledged_across_token_kinds(first: str, second: str) -> None:
    async with environment() as env:
        mailbox = Mailbox()
        handle = await env.client.start_workflow(tr_run_cancelled_after_a_second, "o1", id=mailbox.id)
        ctx = await mailbox.context()
        await env.wait_for_idle()
        await env.advance(timedelta(seconds=1))
        assert (await env.client.heartbeat_activity(ctx.activity_token)).cancel_requested is True
        assert await env.client.report_activity_cancelled(token_of(ctx, first), {"stopped_at": 3}) is True
        assert await result_of(handle) == "cancelled"
        before = await snapshot(env.client, mailbox.id)

        assert await env.client.report_activity_cancelled(token_of(ctx, second), {"stopped_at": 3}) is False
        with pytest.raises(ActivityAlreadyClosed):
            await env.client.report_activity_cancelled(token_of(ctx, second), {"stopped_at": 4})

        assert await snapshot(env.client, mailbox.id) == before


async def test_the_same_failure_after_the_next_attempt_started_fails_that_attempt() -> None:
    async with environment() as env:
        mailbox, _, ctx = await started(env)
        await env.client.fail_activity(ctx.activity_token, error="Transient", message="busy")
        assert await env.client.fail_activity(ctx.activity_token, error="Transient", message="busy") is False
        await env.advance(BACK_OFF)
        assert (await mailbox.context()).attempt == 2
        await env.wait_for_idle()

        assert await env.client.fail_activity(ctx.activity_token, error="Transient", message="busy") is True

        failed = of_type(await env.client.history(mailbox.id), "ActivityAttemptFailed")
        assert [e.data["attempt"] for e in failed] == [1, 2]


# Racing closes: the first wins, whichever kind of token it used.

RACERS = 8


async def test_racing_closes_by_both_kinds_of_token_close_the_activity_exactly_once() -> None:
    async with environment() as env:
        mailbox, handle, ctx = await started(env)

        calls: list[Any] = []
        for n in range(RACERS):
            calls.append(env.client.complete_activity(ctx.token, f"attempt token {n}"))
            calls.append(env.client.complete_activity(ctx.activity_token, f"activity token {n}"))
            calls.append(
                env.client.fail_activity(ctx.activity_token, error="Declined", message=f"{n}", non_retryable=True)
            )
        outcomes = await asyncio.gather(*calls, return_exceptions=True)

        assert outcomes.count(True) == 1, outcomes
        (closing,) = of_type(await env.client.history(mailbox.id), *CLOSING_EVENTS)
        final_state = "completed" if closing.type == "ActivityCompleted" else "failed"
        losers = [o for o in outcomes if o is not True]
        assert all(isinstance(o, ActivityAlreadyClosed) and o.final_state == final_state for o in losers), losers
        winner = outcomes.index(True)
        n, kind = divmod(winner, 3)
        expected = [f"attempt token {n}", f"activity token {n}", "failed: Declined on attempt 1"][kind]
        assert await result_of(handle) == expected


async def test_racing_closes_by_activity_token_during_back_off_have_exactly_one_winner() -> None:
    async with environment() as env:
        mailbox, handle, ctx = await backing_off(env)

        calls: list[Any] = []
        for n in range(RACERS):
            calls.append(env.client.complete_activity(ctx.activity_token, f"value {n}"))
            calls.append(env.client.fail_activity(ctx.activity_token, error="Fraud", message=f"{n}"))
            calls.append(env.client.complete_activity(ctx.token, "stale"))
        outcomes = await asyncio.gather(*calls, return_exceptions=True)

        assert outcomes.count(True) == 1, outcomes
        assert all(isinstance(o, ActivityAlreadyClosed | StaleToken) for o in outcomes if o is not True), outcomes
        assert await env.engine.store.read(lambda tx: tx.timers_of(mailbox.id)) == []
        history = await env.client.history(mailbox.id)
        assert len(of_type(history, *CLOSING_EVENTS)) == 1
        assert len(of_type(history, "ActivityAttemptStarted")) == 1
        n, kind = divmod(outcomes.index(True), 3)
        assert await result_of(handle) == (f"value {n}" if kind == 0 else "failed: Fraud on attempt 1")


async def test_racing_identical_completions_by_both_kinds_of_token_record_one_completion() -> None:
    async with environment() as env:
        mailbox, handle, ctx = await started(env)

        outcomes = await asyncio.gather(
            *(
                env.client.complete_activity(token, "same")
                for _ in range(RACERS)
                for token in (ctx.token, ctx.activity_token)
            ),
            return_exceptions=True,
        )

        assert sorted(outcomes, key=str) == [False] * (2 * RACERS - 1) + [True]
        assert await result_of(handle) == "same"
        assert len(of_type(await env.client.history(mailbox.id), *CLOSING_EVENTS)) == 1
