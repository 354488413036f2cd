"""Retries of failed activity attempts: back-off timing, attempt limits, non-retryable errors."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import tether
from tests.helpers.activity_tests import Mailbox, of_type, only_pending, post_context, result_of
from tether.errors import ActivityFailed
from tether.testing import TestEnvironment


class PaymentDeclined(Exception):
    pass


BACKOFF_POLICY = tether.RetryPolicy(
    max_attempts=6, initial_interval=timedelta(seconds=1), backoff=3.0, max_interval=timedelta(seconds=20)
)


@tether.activity(retry=BACKOFF_POLICY)
async def rt_always_breaks(order: str) -> str:
    raise RuntimeError(f"attempt {tether.context().attempt} broke")


@tether.activity(retry=tether.RetryPolicy(max_attempts=3))
async def rt_three_attempts(order: str) -> str:
    post_context()
    raise ConnectionError("service unreachable")


@tether.activity(retry=tether.RetryPolicy(max_attempts=5))
async def rt_third_time_lucky(order: str) -> str:
    ctx = post_context()
    if ctx.attempt < 3:
        raise ConnectionError("not yet")
    return f"done on attempt {ctx.attempt}"


@tether.activity(retry=tether.RetryPolicy(max_attempts=5, non_retryable=["PaymentDeclined"]))
async def rt_declined_by_name(order: str) -> str:
    post_context()
    raise PaymentDeclined("card declined")


@tether.activity(retry=tether.RetryPolicy(max_attempts=5, non_retryable=["PaymentDeclined"]))
async def rt_typed_declined(order: str) -> str:
    post_context()
    raise ActivityFailed("card declined", error="PaymentDeclined", details={"code": 51})


@tether.activity(retry=tether.RetryPolicy(max_attempts=5))
async def rt_non_retryable_flag(order: str) -> str:
    post_context()
    raise ActivityFailed("card expired", error="CardExpired", details={"last4": "4242"}, non_retryable=True)


@tether.activity(retry=tether.RetryPolicy(max_attempts=2))
async def rt_typed_quota(order: str) -> str:
    raise ActivityFailed("quota exhausted", error="QuotaExceeded", details={"left": 0, "resets": "tomorrow"})


@tether.activity(retry=tether.RetryPolicy(max_attempts=2))
def rt_value_error_in_thread(order: str) -> str:
    raise ValueError(f"bad order {order}")


@tether.activity(retry=tether.RetryPolicy(max_attempts=5, non_retryable=["PaymentDeclined"]))
async def rt_by_token(order: str) -> str:
    post_context()
    return tether.make_async()


ACTIVITIES = {
    "always_breaks": rt_always_breaks,
    "three_attempts": rt_three_attempts,
    "third_time_lucky": rt_third_time_lucky,
    "declined_by_name": rt_declined_by_name,
    "typed_declined": rt_typed_declined,
    "non_retryable_flag": rt_non_retryable_flag,
    "typed_quota": rt_typed_quota,
    "value_error_in_thread": rt_value_error_in_thread,
    "by_token": rt_by_token,
}


@tether.workflow
async def rt_run(name: str) -> dict[str, Any]:
    try:
        return {"result": await ACTIVITIES[name]("o-17")}
    except ActivityFailed as exc:
        return {
            "type": type(exc).__name__,
            "error": exc.error,
            "message": exc.message,
            "details": exc.details,
            "attempt": exc.attempt,
        }


def environment() -> TestEnvironment:
    return TestEnvironment(workflows=[rt_run], activities=list(ACTIVITIES.values()))


async def test_retries_start_after_exponential_backoff_capped_at_max_interval() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(rt_run, "always_breaks")

        outcome = await result_of(handle)

        assert outcome["attempt"] == 6
        history = await env.client.history(handle.id)
        starts = [e.at for e in of_type(history, "ActivityAttemptStarted")]
        waits = [later - earlier for earlier, later in itertools.pairwise(starts)]
        # initial_interval * backoff ** n: 1s, 3s, 9s, then 27s and 81s capped at 20s
        assert waits == [timedelta(seconds=s) for s in (1, 3, 9, 20, 20)]
        assert starts[0] == of_type(history, "ActivityScheduled")[0].at
        failed = of_type(history, "ActivityAttemptFailed")
        assert [e.data["attempt"] for e in failed] == [1, 2, 3, 4, 5]
        retry_at = [e.data["retry_at_ms"] for e in failed]
        assert retry_at == [int(s.timestamp() * 1000) for s in starts[1:]]


async def test_activity_is_tried_at_most_max_attempts_times() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "three_attempts", id=box.id)

        outcome = await result_of(handle)

        attempts = [(await box.context()).attempt for _ in range(3)]
        assert attempts == [1, 2, 3]
        assert box.empty()
        assert outcome == {
            "type": "ActivityFailed",
            "error": "ConnectionError",
            "message": "service unreachable",
            "details": None,
            "attempt": 3,
        }
        history = await env.client.history(box.id)
        assert len(of_type(history, "ActivityAttemptStarted")) == 3
        assert len(of_type(history, "ActivityAttemptFailed")) == 2
        assert len(of_type(history, "ActivityFailed")) == 1


async def test_activity_that_fails_twice_then_succeeds_returns_its_result() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "third_time_lucky", id=box.id)

        assert await result_of(handle) == {"result": "done on attempt 3"}
        contexts = [await box.context() for _ in range(3)]
        assert len({c.token for c in contexts}) == 3
        assert len({c.idempotency_key for c in contexts}) == 1


async def test_error_named_non_retryable_in_the_policy_fails_at_once() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "declined_by_name", id=box.id)

        outcome = await result_of(handle)

        assert (outcome["error"], outcome["message"], outcome["attempt"]) == ("PaymentDeclined", "card declined", 1)
        history = await env.client.history(box.id)
        assert len(of_type(history, "ActivityAttemptStarted")) == 1
        assert of_type(history, "ActivityAttemptFailed") == []


async def test_typed_failure_named_non_retryable_in_the_policy_fails_at_once() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "typed_declined", id=box.id)

        outcome = await result_of(handle)

        assert outcome == {
            "type": "ActivityFailed",
            "error": "PaymentDeclined",
            "message": "card declined",
            "details": {"code": 51},
            "attempt": 1,
        }
        assert len(of_type(await env.client.history(box.id), "ActivityAttemptStarted")) == 1


async def test_failure_raised_with_non_retryable_true_fails_at_once() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "non_retryable_flag", id=box.id)

        outcome = await result_of(handle)

        assert outcome == {
            "type": "ActivityFailed",
            "error": "CardExpired",
            "message": "card expired",
            "details": {"last4": "4242"},
            "attempt": 1,
        }
        assert len(of_type(await env.client.history(box.id), "ActivityAttemptStarted")) == 1


async def test_workflow_sees_type_message_details_and_attempt_of_a_typed_failure() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(rt_run, "typed_quota")

        assert await result_of(handle) == {
            "type": "ActivityFailed",
            "error": "QuotaExceeded",
            "message": "quota exhausted",
            "details": {"left": 0, "resets": "tomorrow"},
            "attempt": 2,
        }


async def test_workflow_sees_exception_class_name_and_message_of_a_sync_activity() -> None:
    async with environment() as env:
        handle = await env.client.start_workflow(rt_run, "value_error_in_thread")

        outcome = await result_of(handle)

        assert (outcome["type"], outcome["error"], outcome["message"], outcome["attempt"]) == (
            "ActivityFailed",
            "ValueError",
            "bad order o-17",
            2,
        )


async def test_retryable_failure_by_token_starts_the_next_attempt_after_the_interval() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "by_token", id=box.id)
        first = await box.context()
        await env.wait_for_idle()

        await env.client.fail_activity(first.token, error="Transient", message="try later", details={"n": 1})
        failed_at = env.clock.now()

        pending = only_pending(await env.client.describe(box.id))
        assert pending.state == tether.ActivityState.BACKOFF
        assert pending.last_failure is not None
        assert (pending.last_failure["error"], pending.last_failure["details"]) == ("Transient", {"n": 1})
        assert pending.deadlines["retry"] == failed_at + timedelta(seconds=1)
        await env.advance(timedelta(seconds=1))
        second = await box.context()
        assert second.attempt == 2
        await env.client.complete_activity(second.token, "second time")

        assert await result_of(handle) == {"result": "second time"}


async def test_failure_by_token_named_non_retryable_in_the_policy_fails_at_once() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(rt_run, "by_token", id=box.id)
        ctx = await box.context()

        await env.client.fail_activity(ctx.token, error="PaymentDeclined", message="no funds")

        outcome = await result_of(handle)
        assert (outcome["error"], outcome["message"], outcome["attempt"]) == ("PaymentDeclined", "no funds", 1)
        assert len(of_type(await env.client.history(box.id), "ActivityAttemptStarted")) == 1
